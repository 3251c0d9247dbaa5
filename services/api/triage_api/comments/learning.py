"""What people taught the classifier: misses found (labels of person-raised flags, labels marked missing) by
label and language, and the precision of its labels from correct / wrong feedback. Feeds the gauges on
/metrics and the Analytics page; counts only, never text."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import Label

from triage_api import metrics
from triage_api.flags.language_names import ENGLISH_NAMES
from triage_api.flags.models import Flag, FlagLabel, LabelFeedback


def language_bucket(code: str | None) -> str:
    """A metric label for a language: a code from the desk's fixed list, `other`, or `unknown`."""
    if not code:
        return "unknown"
    base = code.split("-")[0].lower()
    return base if base in ENGLISH_NAMES else "other"


@dataclass
class Learning:
    misses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, language) -> count
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, correct|wrong) -> count

    def precision(self, label: str) -> float | None:
        correct, wrong = self.verdicts[(label, "correct")], self.verdicts[(label, "wrong")]
        return correct / (correct + wrong) if correct + wrong else None

    def as_dict(self) -> dict[str, object]:
        labels = [label.value for label in Label]
        return {
            "misses": [
                {"label": label, "language": language, "count": count}
                for (label, language), count in sorted(self.misses.items())
            ],
            "precision": {
                label: {
                    "precision": self.precision(label),
                    "correct": self.verdicts[(label, "correct")],
                    "wrong": self.verdicts[(label, "wrong")],
                }
                for label in labels
            },
        }


def snapshot(db: Session) -> Learning:
    """Counted from the flags and the feedback table (small: one row per person and label judged)."""
    learning = Learning()
    for label, language in db.execute(
        select(FlagLabel.label, Flag.language)
        .join(Flag, Flag.id == FlagLabel.flag_id)
        .where(Flag.raised_by.is_not(None))
    ):
        learning.misses[(label, language_bucket(language))] += 1
    rows = db.execute(
        select(LabelFeedback.label, LabelFeedback.verdict, Flag.labels, Flag.language, Flag.raised_by).join(
            Flag, Flag.id == LabelFeedback.flag_id
        )
    )
    for label, verdict, flag_labels, language, raised_by in rows:
        if raised_by is not None:
            continue  # a person's own flag: its labels are counted as misses above
        given = label in (flag_labels or [])
        if verdict == "missing" or (verdict == "correct" and not given):
            learning.misses[(label, language_bucket(language))] += 1
        elif given and verdict in ("correct", "wrong"):
            learning.verdicts[(label, verdict)] += 1
    return learning


def refresh_gauges(db: Session) -> None:
    learning = snapshot(db)
    for (label, language), count in learning.misses.items():
        metrics.MISSES_FOUND.labels(label, language).set(count)
    for label in Label:
        metrics.FEEDBACK_PRECISION.labels(label.value).set(learning.precision(label.value) or 0.0)
        for verdict in ("correct", "wrong"):
            metrics.FEEDBACK_VERDICTS.labels(label.value, verdict).set(
                learning.verdicts[(label.value, verdict)]
            )
