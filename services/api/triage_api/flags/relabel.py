"""A newer verdict on a comment already flagged: the comment was edited (or judged again), so the flag takes
the new labels, scores, severity, evidence, text and model version, and keeps its id, status, team,
assignee, claim, notes, actions and history. A verdict that raises the severity also routes the flag again as
an escalation and restarts its SLA clock, as a person raising it would (`_follow_up`); every relabel moves
`updated_at`, so the live queue shows the flag's new labels.

"Newer" is decided by `is_newer`: by the comment's own version (`FlagRaised.changed_at`, the platform's edit
time, kept in the flag's `comment_changed_at`) when the verdict and the flag both have one, else by the
verdict's `occurred_at` (when the classifier judged it) against the newest of the flag's `flagged_at` and the
`judged_at` of its last `flag.relabelled` or `flag.cleared` audit entry. A verdict not newer than that is a
redelivery or out of order and changes nothing; a newer verdict that says exactly what the flag already says
changes nothing either (and writes no audit entry), so at-least-once redelivery stays idempotent.

A classifier that reprocesses a batch after a crash judges the old text again after the edit: that verdict
is about an older version of the comment, so it changes nothing (with verdicts from an older classifier,
which carry no version, the flag briefly follows it until the replay reaches the edit again).
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
from triage_api.db import as_utc
from triage_api.flags.models import Flag, FlagLabel
from triage_api.flags.rerouting import Rerouter, RerouteReason
from triage_api.flags.service import verdict_fields

ACTOR = "system:classifier"
ACTION = "flag.relabelled"


class Outcome(enum.StrEnum):
    RELABELLED = "relabelled"
    DUPLICATE = "duplicate"  # this very event was applied before
    STALE = "stale"  # not newer than the verdict the flag shows
    UNCHANGED = "unchanged"  # newer, but says what the flag already says
    MISSING = "missing"  # no stored flag for the comment (cannot happen after store_flags)
    PERSON_RAISED = (
        "person_raised"  # a person flagged what the model passed: its later verdicts don't overrule
    )


@dataclass(frozen=True)
class Result:
    event: FlagRaised
    outcome: Outcome
    reason: str = ""  # for a relabel: comment_edited or rejudged


def record_by_classifier(db: Session, action: str, flag: Flag, **detail: Any) -> None:
    """Record `action` on `flag` in the audit log as the classifier did it (`ACTOR`, the system role)."""
    audit.record(db, ACTOR, audit.SYSTEM_ROLE, action, flag.id, **detail)


def _last_detail(db: Session, flag_id: str, actions: tuple[str, ...]) -> dict[str, Any] | None:
    entry = audit.latest(db, flag_id, actions)
    return entry.detail if entry is not None and isinstance(entry.detail, dict) else None


# Audit entries that record a verdict the flag shows, with its `judged_at`: a relabel, and a clear
# (`flags.clear`, which resolves the flag when the comment was deleted or edited into something harmless).
VERDICT_ACTIONS = (ACTION, "flag.cleared")


def is_newer(db: Session, flag: Flag, changed_at: datetime | None, judged_at: datetime) -> bool:
    """Whether a verdict or clear on `flag`'s comment, about the comment's version `changed_at` (None from
    an older classifier) and judged at `judged_at`, is newer than what the flag shows.

    The comment's own version decides when both sides have one (`FlagRaised.changed_at`, kept in
    `flag.comment_changed_at`): a verdict on older text loses even when it was judged later, as when a
    classifier replays a batch after a crash. On the same version, or when either side has none, the later
    classification wins (a comment judged again, say by a new model). Nothing is newer than a deletion.
    """
    if flag.comment_deleted_at is not None:
        return False
    shown_changed = flag.comment_changed_at
    if changed_at is not None and shown_changed is not None:
        changed, shown = changed_at.astimezone(UTC), as_utc(shown_changed)
        if changed != shown:
            return changed > shown
    shown_judged = as_utc(flag.flagged_at)
    detail = _last_detail(db, flag.id, VERDICT_ACTIONS)
    if detail is not None and isinstance(detail.get("judged_at"), str):
        shown_judged = max(shown_judged, datetime.fromisoformat(detail["judged_at"]))
    return judged_at.astimezone(UTC) > shown_judged


def apply(db: Session, router: Rerouter, event: FlagRaised) -> Result:
    """Bring the stored flag of `event`'s comment up to date with it, in the caller's transaction."""
    flag = db.scalar(select(Flag).where(Flag.comment_key == event.comment_key))
    if flag is None:
        return Result(event, Outcome.MISSING)
    event_id = str(event.event_id)
    judged_at = event.occurred_at.astimezone(UTC)
    last = _last_detail(db, flag.id, (ACTION,))
    if event_id == flag.id or (last is not None and last.get("event_id") == event_id):
        return Result(event, Outcome.DUPLICATE)
    if flag.raised_by is not None:
        return Result(event, Outcome.PERSON_RAISED)
    if not is_newer(db, flag, event.changed_at, judged_at):
        return Result(event, Outcome.STALE)
    if event.changed_at is not None:
        flag.comment_changed_at = event.changed_at.astimezone(UTC)  # the version the flag now shows
    content = verdict_fields(event)
    current = {name: getattr(flag, name) for name in content}
    if content == current:
        return Result(event, Outcome.UNCHANGED)
    reason = "comment_edited" if content["text"] != flag.text else "rejudged"
    previous = {"labels": list(flag.labels), "severity": flag.severity, "model_version": flag.model_version}
    for name, value in content.items():
        setattr(flag, name, value)
    if content["labels"] != previous["labels"]:
        db.execute(delete(FlagLabel).where(FlagLabel.flag_id == flag.id))
        db.execute(
            insert(FlagLabel),
            [
                {"flag_id": flag.id, "label": label, "flagged_at": flag.flagged_at}
                for label in content["labels"]
            ],
        )
    # Ids, labels and severities only: never the comment text (it may be PHI).
    record_by_classifier(
        db,
        ACTION,
        flag,
        reason=reason,
        summary="comment edited → relabelled" if reason == "comment_edited" else "judged again → relabelled",
        event_id=event_id,
        judged_at=judged_at.isoformat(),
        previous=previous,
        labels=content["labels"],
        severity=content["severity"],
        model_version=content["model_version"],
    )
    _follow_up(db, router, flag, Severity(str(previous["severity"])))
    return Result(event, Outcome.RELABELLED, reason)


def _follow_up(db: Session, router: Rerouter, flag: Flag, previous: Severity) -> None:
    """After a relabel: the live queue shows the flag again (`updated_at`), and a raised severity routes it
    again as an escalation, as a person raising it would (`RerouteReason.CLASSIFIER`, by `ACTOR`), which
    restarts its SLA clock for the new severity. A lowered or equal severity keeps the team, the person and
    the due time (the comment was public as it was: its deadline does not move back)."""
    at = datetime.now(UTC)
    flag.updated_at = at
    if Severity(flag.severity).rank <= previous.rank:
        return
    router.reroute(db, flag, RerouteReason.CLASSIFIER, ACTOR, "system", at)


def apply_all(db: Session, router: Rerouter, events: list[FlagRaised]) -> list[Result]:
    """`apply` each event in order (several verdicts on one comment in a batch: each is checked against the
    one applied before it)."""
    results = []
    for event in events:
        results.append(apply(db, router, event))
        db.flush()
    return results
