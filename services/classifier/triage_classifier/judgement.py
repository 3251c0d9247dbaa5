"""A classifier's verdict on one comment, and the interface every classifier implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from triage_events import Evidence, Label, Severity


@dataclass(frozen=True)
class Judgement:
    labels: list[Label]
    scores: dict[Label, float]
    severity: Severity
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def needs_human(self) -> bool:
        return bool(self.labels)


class Classifier(Protocol):
    version: str

    def classify_batch(self, texts: list[str]) -> list[Judgement]:
        """Judge each text; the result has the same length and order as `texts`."""
        ...
