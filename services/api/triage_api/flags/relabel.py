"""A newer verdict on a comment already flagged: the comment was edited (or judged again), so the flag takes
the new labels, scores, severity, evidence, text and model version, and keeps its id, status, team,
assignee, claim, notes, actions and history.

"Newer" is the verdict's `occurred_at` (when the classifier judged it). The classifier judges one author's
comments in order on one partition, and the flags topic is keyed by comment, so the verdicts on one comment
arrive in the order they were made; ingest already drops edits older than one it has seen. The time of the
verdict a flag shows is the newest of its `flagged_at` and the `judged_at` of its last `flag.relabelled`
audit entry (no column needed). A verdict not newer than that is a redelivery or out of order and changes
nothing; a newer verdict that says exactly what the flag already says changes nothing either (and writes no
audit entry), so at-least-once redelivery stays idempotent.

A classifier that reprocesses a batch after a crash judges the old text again after the edit: the flag then
follows the last verdict it gets, which is the edit's again once the replay reaches it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from triage_events import FlagRaised, Severity

from triage_api.audit import service as audit
from triage_api.audit.models import AuditEvent
from triage_api.flags.models import Flag, FlagLabel

ACTOR = "system:classifier"
ACTION = "flag.relabelled"


class Outcome(enum.StrEnum):
    RELABELLED = "relabelled"
    DUPLICATE = "duplicate"  # this very event was applied before
    STALE = "stale"  # not newer than the verdict the flag shows
    UNCHANGED = "unchanged"  # newer, but says what the flag already says
    MISSING = "missing"  # no stored flag for the comment (cannot happen after store_flags)


@dataclass(frozen=True)
class Result:
    event: FlagRaised
    outcome: Outcome
    reason: str = ""  # for a relabel: comment_edited or rejudged


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _content(event: FlagRaised) -> dict[str, Any]:
    """What a verdict sets on a flag."""
    labels = [label.value for label in event.labels]
    severity = Severity(event.severity)
    return {
        "labels": labels,
        "primary_label": labels[0],
        "scores": {label.value: score for label, score in event.scores.items()},
        "severity": severity.value,
        "severity_rank": severity.rank,
        "evidence": [e.model_dump(mode="json") for e in event.evidence],
        "model_version": event.model_version,
        "suggested_templates": event.suggested_templates,
        "text": event.comment.text,
    }


def _last_relabel(db: Session, flag_id: str) -> dict[str, Any] | None:
    detail = db.scalar(
        select(AuditEvent.detail)
        .where(AuditEvent.flag_id == flag_id, AuditEvent.action == ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return detail if isinstance(detail, dict) else None


def apply(db: Session, event: FlagRaised) -> Result:
    """Bring the stored flag of `event`'s comment up to date with it, in the caller's transaction."""
    flag = db.scalar(select(Flag).where(Flag.comment_key == event.comment_key))
    if flag is None:
        return Result(event, Outcome.MISSING)
    event_id = str(event.event_id)
    judged_at = event.occurred_at.astimezone(UTC)
    last = _last_relabel(db, flag.id)
    shown_at = _aware(flag.flagged_at)
    if last is not None and isinstance(last.get("judged_at"), str):
        shown_at = max(shown_at, datetime.fromisoformat(last["judged_at"]))
    if event_id == flag.id or (last is not None and last.get("event_id") == event_id):
        return Result(event, Outcome.DUPLICATE)
    if judged_at <= shown_at:
        return Result(event, Outcome.STALE)
    content = _content(event)
    current = {name: getattr(flag, name) for name in content}
    if content == current:
        return Result(event, Outcome.UNCHANGED)
    reason = "comment_edited" if content["text"] != flag.text else "rejudged"
    previous = {"labels": list(flag.labels), "severity": flag.severity, "model_version": flag.model_version}
    for name, value in content.items():
        setattr(flag, name, value)
    if content["labels"] != previous["labels"]:
        db.execute(delete(FlagLabel).where(FlagLabel.flag_id == flag.id))
        db.execute(insert(FlagLabel), [{"flag_id": flag.id, "label": label} for label in content["labels"]])
    # Ids, labels and severities only: never the comment text (it may be PHI).
    audit.record(
        db,
        ACTOR,
        "system",
        ACTION,
        flag.id,
        reason=reason,
        summary="comment edited → relabelled" if reason == "comment_edited" else "judged again → relabelled",
        event_id=event_id,
        judged_at=judged_at.isoformat(),
        previous=previous,
        labels=content["labels"],
        severity=content["severity"],
        model_version=content["model_version"],
    )
    return Result(event, Outcome.RELABELLED, reason)


def apply_all(db: Session, events: list[FlagRaised]) -> list[Result]:
    """`apply` each event in order (several verdicts on one comment in a batch: each is checked against the
    one applied before it)."""
    results = []
    for event in events:
        results.append(apply(db, event))
        db.flush()
    return results
