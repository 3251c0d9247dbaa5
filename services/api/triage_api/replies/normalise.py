"""Text normalisation for the PHI guard: one canonical spelling to check, and the way back to the original.

A reply can hide a word from a pattern without changing how it reads: a zero-width space inside it
("lu\u200bpus"), a Cyrillic or Greek letter that looks Latin ("lupus" with a Cyrillic "u"), a non-breaking
hyphen in a phone number, full-width digits, an accent or a combining mark. `normalise` undoes all of that:

* Unicode NFKC per character (full-width forms, ligatures, non-breaking spaces and hyphens' compatibility
  forms), then every dash to "-", every space separator to " ", curly apostrophes to "'";
* format characters (category Cf: zero-width spaces and joiners, soft hyphens, bidi marks) are dropped;
* letters of another script that are confusable with a Latin letter become that letter. The table is
  Unicode's own confusables data (UTS #39) as shipped by the `confusable_homoglyphs` package, rather than
  a hand-written list that would miss letters;
* accents and other combining marks are removed (diabética → diabetica), so patterns and the lexicon are
  written once, without accents.

Every character of the result remembers the span of the original it came from, so a finding on the
normalised text points at the original characters (`Normalised.origin`). `spell_digits` makes a second
view in which runs of spelled-out digits ("five five five zero one four eight", "cinco cinco cinco ...")
become digits, for the identifier checks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

_APOSTROPHES = frozenset("\u2018\u2019\u02bc\u02b9\u2032\uff07`\u00b4")
_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")  # minus signs and hyphen bullets are not category Pd


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, for each of its characters, the span [start, end) of the original it came from."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def origin(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that the normalised span [start, end) came from."""
        if end <= start:
            at = self.starts[start] if start < len(self.starts) else len(self.original)
            return at, at
        return self.starts[start], self.ends[end - 1]

    def substitute(self, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> Normalised:
        """A new view with every match of `pattern` replaced; replacement characters map to the match's
        original span, the other characters keep their own."""
        text: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            text.append(self.text[last : match.start()])
            starts.extend(self.starts[last : match.start()])
            ends.extend(self.ends[last : match.start()])
            new = replace(match)
            origin = self.origin(match.start(), match.end())
            text.append(new)
            starts.extend([origin[0]] * len(new))
            ends.extend([origin[1]] * len(new))
            last = match.end()
        text.append(self.text[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        return Normalised(self.original, "".join(text), tuple(starts), tuple(ends))


@lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str | None:
    """The Latin letter `char` is confusable with, if it is a letter of another script; else None."""
    if char.isascii() or not char.isalpha() or categories.alias(char) in {"LATIN", "COMMON"}:
        return None
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for glyph in entry["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha():
                return str(glyph["c"])
    return None


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
            char = _latin_lookalike(char) or char
        out.extend(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return "".join(out)


def normalise(text: str) -> Normalised:
    """`text` in the guard's canonical spelling, with the map back to the original (see the module doc)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        folded = _fold(text[i:j])
        out.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
        i = j
    return Normalised(text, "".join(out), tuple(starts), tuple(ends))


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
