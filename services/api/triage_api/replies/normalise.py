"""Text normalisation for the PHI guard: one canonical spelling to check, and the way back to the original.

A reply can hide a word from a pattern without changing how it reads: a zero-width space inside it
("lu\u200bpus"), a Cyrillic or Greek letter that looks Latin ("lupus" with a Cyrillic "u"), a non-breaking
hyphen in a phone number, full-width digits, an accent or a combining mark. `normalise` undoes all of that:

* Unicode NFKC per character (full-width forms, ligatures, non-breaking spaces and hyphens' compatibility
  forms), then every dash to "-", every space separator to " ", curly apostrophes to "'";
* format characters (category Cf: zero-width spaces and joiners, soft hyphens, bidi marks) are dropped;
* letters of another script that are confusable with a Latin letter become that letter. The table is
  Unicode's own confusables data (UTS #39) as shipped by the `confusable_homoglyphs` package
  (`triage_text.latin_lookalike`), rather than a hand-written list that would miss letters;
* accents and other combining marks are removed (diabética → diabetica), so patterns and the lexicon are
  written once, without accents.

Every character of the result remembers the span of the original it came from, so a finding on the
normalised text points at the original characters (`Normalised.origin`, shared with the classifier through
`triage_text`). `spell_digits` makes a second view in which runs of spelled-out digits ("five five five zero
one four eight", "cinco cinco cinco ...") become digits, for the identifier checks.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from triage_text import Normalised, fold_clusters, latin_lookalike

_APOSTROPHES = frozenset("\u2018\u2019\u02bc\u02b9\u2032\uff07`\u00b4")
_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")  # minus signs and hyphen bullets are not category Pd


@lru_cache(maxsize=8192)
def _fold(cluster: str) -> str:
    """One base character with its combining marks, in the canonical spelling the guard checks."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", cluster):
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if char in _APOSTROPHES:
            char = "'"
        elif category == "Pd" or char in _DASHES:
            char = "-"
        elif category == "Zs":
            char = " "
        else:
            char = latin_lookalike(char) or char
        out.extend(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return "".join(out)


def normalise(text: str) -> Normalised:
    """`text` in the guard's canonical spelling, with the map back to the original (see the module doc)."""
    return fold_clusters(text, _fold)


DIGIT_WORDS = {
    # English
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9",
    # Spanish (accents are already gone)
    "cero": "0", "uno": "1", "una": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6",
    "siete": "7", "ocho": "8", "nueve": "9",
}  # fmt: skip
_DIGIT_WORD = "|".join(sorted(DIGIT_WORDS, key=len, reverse=True))
# Three or more digit words in a row (separated by spaces, hyphens, commas or dots), or digit words that
# continue a written number ("555 zero one four eight"): a spelled-out phone number or id.
_SPELLED_RUN = re.compile(
    rf"(?<![\w])(?:(?:{_DIGIT_WORD})[\s,.-]{{1,3}}){{2,}}(?:{_DIGIT_WORD})(?!\w)"
    rf"|(?<=\d[\s.-])(?:(?:{_DIGIT_WORD})[\s,.-]{{1,3}})+(?:{_DIGIT_WORD})(?!\w)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+", re.IGNORECASE)


def _digits_of(match: re.Match[str]) -> str:
    return "".join(DIGIT_WORDS[w.lower()] for w in _WORD.findall(match.group(0)))


def spell_digits(view: Normalised) -> Normalised:
    """`view` with runs of spelled-out digits turned into digits ("nine one one" → "911")."""
    return view.substitute(_SPELLED_RUN, _digits_of)
