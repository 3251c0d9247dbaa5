"""A normalised view of a text in which every character remembers the span [start, end) of the original it
came from, so that a finding on the view points at the original characters (`Normalised.origin`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass


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
        """A new view with every match of `pattern` replaced by `replace(match)`. A replacement of the same
        length keeps each character's origin; another length maps every new character to the match's span."""
        text: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            new = replace(match)
            if new == match.group(0):
                continue
            text.append(self.text[last : match.start()])
            starts.extend(self.starts[last : match.start()])
            ends.extend(self.ends[last : match.start()])
            text.append(new)
            if len(new) == match.end() - match.start():
                starts.extend(self.starts[match.start() : match.end()])
                ends.extend(self.ends[match.start() : match.end()])
            else:
                origin = self.origin(match.start(), match.end())
                starts.extend([origin[0]] * len(new))
                ends.extend([origin[1]] * len(new))
            last = match.end()
        if last == 0:
            return self
        text.append(self.text[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        return Normalised(self.original, "".join(text), tuple(starts), tuple(ends))


def clusters(text: str) -> list[tuple[int, int]]:
    """Spans of each base character with the combining marks that follow it."""
    spans = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        spans.append((i, j))
        i = j
    return spans


def fold_clusters(text: str, fold: Callable[[str], str]) -> Normalised:
    """`text` with each base character and its combining marks replaced by `fold(cluster)`; every character
    `fold` writes comes from its cluster's span."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, j in clusters(text):
        folded = fold(text[i:j])
        out.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
    return Normalised(text, "".join(out), tuple(starts), tuple(ends))
