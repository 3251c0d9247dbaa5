"""Matching on the normalised view of a text, with spans and excerpts of the text as it was given."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from triage_api.replies.normalise import Normalised


@dataclass(frozen=True)
class Match:
    start: int  # in the original text
    end: int
    excerpt: str
    at: int  # where the match starts in the normalised view
    until: int


def excerpt(original: str, start: int, end: int) -> str:
    """The original text of a span, without format characters and runs of spaces."""
    text = "".join(c for c in original[start:end] if unicodedata.category(c) != "Cf")
    return " ".join(text.split())


def find(view: Normalised, pattern: re.Pattern[str]) -> Iterator[Match]:
    for match in pattern.finditer(view.text):
        if match.end() <= match.start():
            continue
        start, end = view.origin(match.start(), match.end())
        yield Match(start, end, excerpt(view.original, start, end), match.start(), match.end())


SENTENCE = re.compile(r"[^.!?\n]+")


def sentences(view: Normalised) -> Iterator[tuple[int, int]]:
    """Sentence spans of the normalised view."""
    for match in SENTENCE.finditer(view.text):
        yield match.start(), match.end()
