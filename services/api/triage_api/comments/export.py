"""`triage feedback export`: what people taught the classifier, as corpus items (`{"text", "labels", "lang"}`,
the format of `data/corpus/`) that `triage train --feedback` folds into training.

Two sources, both from the desk:
- flags a person raised on a comment the classifier passed ("Flag this"): the person's labels;
- label feedback on any flag: a label marked wrong is taken off the flag's labels, a label marked missing (or
  correct on a label the flag lacked) is added. Each person's latest word on a label counts; when people
  disagree, "wrong" needs a majority to remove a label and "missing" one to add it.

Flags whose text was purged by retention are skipped (nothing left to learn from). The file holds comment
text (possible PHI): it is written private (0600), like the database.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage_api.flags.models import Flag, LabelFeedback


@dataclass(frozen=True)
class FeedbackItem:
    text: str
    labels: list[str]
    lang: str
    source: str  # "person_flag" or "label_feedback"
    flag_id: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "text": self.text,
                "labels": self.labels,
                "lang": self.lang,
                "source": self.source,
                "flag_id": self.flag_id,
            },
            ensure_ascii=False,
        )


def corrected_labels(given: list[str], verdicts: list[tuple[str, str]]) -> list[str]:
    """The flag's labels after people's verdicts `(label, verdict)` (one per person: their latest)."""
    votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for label, verdict in verdicts:
        votes[label]["present" if verdict in ("correct", "missing") else "absent"] += 1
    labels = set(given)
    for label, count in votes.items():
        if count["absent"] > count["present"]:
            labels.discard(label)
        elif count["present"] > count["absent"]:
            labels.add(label)
    return sorted(labels)


def feedback_items(db: Session) -> Iterator[FeedbackItem]:
    """Every flag a person raised or judged, with text still stored, as a corpus item."""
    verdicts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in db.scalars(select(LabelFeedback).order_by(LabelFeedback.flag_id)):
        verdicts[row.flag_id].append((row.label, row.verdict))
    flags = db.scalars(
        select(Flag)
        .where(or_(Flag.raised_by.is_not(None), Flag.id.in_(list(verdicts))), Flag.text.is_not(None))
        .order_by(Flag.flagged_at, Flag.id)
    )
    for flag in flags:
        if not (flag.text or "").strip():
            continue
        yield FeedbackItem(
            text=flag.text or "",
            labels=corrected_labels(flag.labels, verdicts.get(flag.id, [])),
            lang=flag.language or "und",
            source="person_flag" if flag.raised_by else "label_feedback",
            flag_id=flag.id,
        )


def write_private(path: Path, lines: Iterator[str]) -> int:
    """Write the lines to `path`, readable by its owner only (0600, also when the file existed); returns how
    many."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    count = 0
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count


def export(db: Session, path: Path) -> int:
    """Write the feedback corpus to `path` (0600); returns how many items."""
    return write_private(path, (item.as_json() for item in feedback_items(db)))
