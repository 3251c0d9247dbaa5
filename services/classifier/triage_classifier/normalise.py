"""The spelling the classifier reads: one canonical form of a comment, and the way back to the original.

People (and spammers) write the same words many ways, and a crisis written "k i l l myself", "k1ll myself"
or with a zero-width space inside a word must read like "kill myself". `normalise` makes one view that the
rules, the language identifier and the model all read:

* Unicode NFKC per character (full-width letters and digits, ligatures, compatibility forms);
* format and control characters (zero-width spaces and joiners, soft hyphens, bidi marks) are dropped;
  other whitespace becomes a plain space;
* a Cyrillic or Greek letter that looks Latin, inside a word that also has Latin letters, becomes that
  Latin letter ("k\u0456ll" with a Cyrillic "\u0456"). The table is Unicode's confusables data (UTS #39) as shipped
  by `confusable_homoglyphs` (`triage_text.latin_lookalike`), not a hand-written list. Words wholly in
  another script are left alone: Russian stays Russian;
* accents come off Latin letters (so "chết", "chet", "médico" and "medico" read alike, which is how
  Vietnamese written without diacritics is handled), Arabic short vowels and the tatweel are dropped and
  the hamza forms of alef read as a bare alef;
* runs of three or more single letters ("k i l l", "d.i.e") are joined, runs of one letter repeated three
  times or more are shortened ("diiiie" → "die", "freeee" → "free"), and leetspeak is undone in words that
  then read as a word of the crisis vocabulary ("k1ll", "su1c1d3"; "b12" and "covid19" are left alone).

Every character of the result remembers the span [start, end) of the original it came from, so a rule that
fires on the normalised text points at the original characters (`Normalised.origin`, shared with the PHI
guard through `triage_text`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from triage_text import Normalised, clusters, fold_clusters, latin_lookalike

# Arabic short vowels, shadda, sukun, superscript alef, and the tatweel (a stretching stroke).
_ARABIC_MARKS = frozenset([*map(chr, range(0x064B, 0x0653)), "\u0670", "\u0640"])
# Latin letters that NFD does not split into a letter and an accent; Arabic alef with hamza or madda and
# alef maksura, which people write (and rules match) as a bare alef and ya.
_PLAIN_LETTERS = {"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss",
                  "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"}  # fmt: skip  # noqa: RUF001

# Words that leetspeak hides most in crises and threats; a leet word is rewritten only if it becomes one.
_CRISIS_VOCABULARY = """
    kill killing killed myself suicide suicidal die dying dead death overdose pills hang cut cutting end
    life kys kms unalive gun shoot bomb stab knife blood hurt morir matar matarme suicidarme muerte muero
    bye goodbye help
"""
LEET_WORDS = frozenset(_CRISIS_VOCABULARY.split())
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
)
_LEET_TOKEN = re.compile(r"(?<![\w@$!|])(?=[\w@$!|]*[a-z])(?=[\w@$!|]*[0-9@$!|])[\w@$!|]+", re.IGNORECASE)
_SPACED = re.compile(r"(?<!\w)(?:[^\W\d_][ .\-_*·]{1,2}){2,}[^\W\d_](?!\w)")
_REPEATED = re.compile(r"([a-vx-z])\1{2,}", re.IGNORECASE)  # not w: "www." stays
_ELONGATED = re.compile(r"(?<![\w])(?=\w*([a-vx-z])\1\1)[a-z]+(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=16384)
def _fold(cluster: str) -> str:
    """One base character with its combining marks, in the canonical spelling (no homoglyphs yet)."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", cluster):
        category = unicodedata.category(char)
        if category in ("Cf", "Cc") and char not in "\n\t\r":
            continue
        if category.startswith("Z") or char in "\n\t\r":
            out.append(" ")
            continue
        if char in _ARABIC_MARKS:
            continue
        if char in _PLAIN_LETTERS:
            out.append(_PLAIN_LETTERS[char])
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if decomposed[0].isascii():  # a Latin letter with accents: the accents come off
            out.extend(c for c in decomposed if not unicodedata.combining(c))
        else:
            out.append(char)
    return "".join(out)


def _characters(text: str) -> Normalised:
    """Per-character folding: NFKC, format characters, accents."""
    if text.isascii() and text.isprintable():
        return Normalised(text, text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    return fold_clusters(text, _fold)


_WORD = re.compile(r"[^\W\d_]+")


def _unmask_word(match: re.Match[str]) -> str:
    """A word mixing Latin letters with lookalikes of another script, in Latin letters only."""
    word = match.group(0)
    if word.isascii() or not any(c.isascii() for c in word):
        return word
    return "".join(latin_lookalike(c) or c for c in word)


def _join_spaced(match: re.Match[str]) -> str:
    return "".join(c for c in match.group(0) if c.isalpha())


def _shorten_repeats(match: re.Match[str]) -> str:
    """A word with a letter stretched ("diiiie", "freeee"): a crisis word if one letter of each run makes
    one, else each run cut to two letters ("free")."""
    word = match.group(0)
    single = _REPEATED.sub(r"\1", word)
    return single if single.lower() in LEET_WORDS else _REPEATED.sub(r"\1\1", word)


def _unleet(match: re.Match[str]) -> str:
    token = match.group(0)
    plain = token.lower().translate(_LEET)
    return plain if plain in LEET_WORDS and len(plain) == len(token) else token


def normalise(text: str) -> Normalised:
    """`text` in the classifier's canonical spelling, with the map back to the original (see the module
    doc)."""
    view = _characters(text)
    if not view.text.isascii():
        view = view.substitute(_WORD, _unmask_word)
    view = view.substitute(_LEET_TOKEN, _unleet)
    view = view.substitute(_SPACED, _join_spaced)
    return view.substitute(_ELONGATED, _shorten_repeats)


def fold_pattern(pattern: str) -> str:
    """A rule's pattern in the spelling `normalise` produces (accents off Latin letters), so rules may be
    written with accents ("chocó", "chết") and still match the normalised text."""
    return "".join(_fold(pattern[i:j]) for i, j in clusters(pattern))
