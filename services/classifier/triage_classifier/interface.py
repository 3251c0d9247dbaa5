"""A classifier's verdict on one comment, and the interface every classifier implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from triage_events import Evidence, Label, Severity

UNSUPPORTED_LANGUAGE = "unsupported_language"


@dataclass(frozen=True)
class Judgement:
    labels: list[Label]
    scores: dict[Label, float]
    severity: Severity
    evidence: list[Evidence] = field(default_factory=list)
    # The language identified in the text (None: too short to tell), and why a person should read a comment
    # that got no label (`UNSUPPORTED_LANGUAGE`: the classifier does not cover its language).
    language: str | None = None
    review: str | None = None

    @property
    def needs_human(self) -> bool:
        return bool(self.labels) or self.review is not None


class Classifier(Protocol):
    version: str

    def classify_batch(self, texts: list[str]) -> list[Judgement]:
        """Judge each text; the result has the same length and order as `texts`."""
        ...
