"""Letters of other scripts that look like Latin ones, from Unicode's confusables data (UTS #39) as shipped by
`confusable_homoglyphs`, rather than a hand-written list that would miss letters."""

from __future__ import annotations

from functools import lru_cache

from confusable_homoglyphs import categories, confusables


@lru_cache(maxsize=4096)
def latin_lookalike(char: str) -> str | None:
    """The Latin letter `char` is confusable with, if it is a letter of another script; else None."""
    if char.isascii() or not char.isalpha() or categories.alias(char) in {"LATIN", "COMMON"}:
        return None
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for glyph in entry["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha():
                return str(glyph["c"])
    return None
