"""A comment that no longer needs a human (`FlagCleared`): deleted on the platform, or edited into something
the classifier judged harmless. Its flag, if it has one, is resolved automatically, with a `flag.cleared`
audit entry by `system:classifier` that says why; the flag keeps its labels, notes, actions and history.

- Only an open flag (new, assigned, in review, escalated) is resolved. A flag someone already closed (replied,
  hidden, dismissed, resolved) keeps its status; the clear is still recorded, so the trail says what
  happened to the comment.
- A deletion also marks the flag `comment_deleted_at`: there is nothing left to reply to, hide or delete, so
  the desk offers none of that (`platform_actions.request_action` refuses it too). A deletion is the
  comment's last version (ingest drops edits after one): it always applies, once, and no verdict after it
  changes the flag.
- Except on an open flag labelled urgent or privacy: a person confirms that deletion. A wrong or forged
  report must not silently close a flag about someone in danger or exposed health details, so the flag
  stays open with everything it offers, and a `flag.comment_deleted` audit entry says the platform reports
  the comment deleted; the flag page asks a person to check and resolve it (or act, if it is still there).
- An edit judged benign applies when it is newer than what the flag shows (`relabel.is_newer`: by the
  comment's change time, falling back to classification time); an older one (out of order, or a replay) is
  ignored. A later edit that makes the comment harmful again reopens a flag this resolved (`reopen`).
- A flag a person raised on a comment the classifier passed ("Flag this") is not cleared by an edit the
  classifier judges benign (nor relabelled by its later verdicts, `relabel`): the model already missed it once.
- No stored flag: nothing to clear (the comment was never flagged), and nothing is stored.

Ids, reasons and times only in the audit trail and logs: never the comment text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import ClearReason, FlagCleared, FlagRaised, Label

from triage_api.audit import service as audit
from triage_api.flags import relabel, sla
from triage_api.flags.models import Flag, FlagStatus

ACTION = "flag.cleared"
REOPENED = "flag.reopened"
REPORTED_DELETED = "flag.comment_deleted"  # a deletion held for a person to confirm
# Labels whose open flag a reported deletion does not resolve by itself.
CONFIRM_DELETION_LABELS = frozenset({Label.URGENT.value, Label.PRIVACY.value})
# Audit entries after which the flag's status is no longer the one a clear set.
_STATUS_ACTIONS = (ACTION, REOPENED, "flag.status", "action.done", "action.dry_run")


class Outcome(enum.StrEnum):
    CLEARED = "cleared"  # recorded on the flag (resolved when it was open)
    DUPLICATE = "duplicate"  # this very clear, or the deletion, was applied before
    STALE = "stale"  # about an older version of the comment than the flag shows
    MISSING = "missing"  # no flag for the comment: nothing to clear
    PERSON_RAISED = (
        "person_raised"  # an edit judged benign by the model that missed it: the person's flag stays
    )
    NEEDS_CONFIRMATION = (
        "needs_confirmation"  # a deletion of an open urgent or privacy flag, left to a person
    )


@dataclass(frozen=True)
class Result:
    event: FlagCleared
    outcome: Outcome
    resolved: bool = False  # the clear moved an open flag to resolved


def apply(db: Session, event: FlagCleared) -> Result:
    """Clear the stored flag of `event`'s comment, in the caller's transaction."""
    flag = db.scalar(select(Flag).where(Flag.comment_key == event.comment_key))
    if flag is None:
        return Result(event, Outcome.MISSING)
    event_id = str(event.event_id)
    for action in (ACTION, REPORTED_DELETED):
        last = audit.latest(db, flag.id, (action,))
        if last is not None and isinstance(last.detail, dict) and last.detail.get("event_id") == event_id:
            return Result(event, Outcome.DUPLICATE)
    if flag.raised_by is not None and event.reason is ClearReason.EDITED_BENIGN:
        return Result(event, Outcome.PERSON_RAISED)
    judged_at = event.occurred_at.astimezone(UTC)
    changed_at = event.changed_at.astimezone(UTC)
    if event.reason is ClearReason.DELETED:
        if flag.comment_deleted_at is not None:
            return Result(event, Outcome.DUPLICATE)
        if needs_confirmation(flag):
            return _report_deletion(db, flag, event, judged_at, changed_at)
        flag.comment_deleted_at = changed_at
    elif not relabel.is_newer(db, flag, changed_at, judged_at):
        return Result(event, Outcome.STALE)
    flag.comment_changed_at = changed_at
    previous = flag.status
    resolved = previous in sla.OPEN_STATUSES
    if resolved:
        flag.status = FlagStatus.RESOLVED.value
    flag.updated_at = datetime.now(UTC)  # the live queue stream follows it
    relabel.record_by_classifier(
        db,
        ACTION,
        flag,
        reason=event.reason.value,
        summary=_summary(event.reason, resolved),
        event_id=event_id,
        judged_at=judged_at.isoformat(),
        changed_at=changed_at.isoformat(),
        previous=previous,
        status=flag.status,
        resolved=resolved,
        model_version=event.model_version,
    )
    return Result(event, Outcome.CLEARED, resolved)


def needs_confirmation(flag: Flag) -> bool:
    """Whether a deletion reported for `flag`'s comment waits for a person: the flag is open and urgent or
    privacy (see the module docstring)."""
    return flag.status in sla.OPEN_STATUSES and not CONFIRM_DELETION_LABELS.isdisjoint(flag.labels)


def _report_deletion(
    db: Session, flag: Flag, event: FlagCleared, judged_at: datetime, changed_at: datetime
) -> Result:
    """Record, once per flag, that the platform reports the comment deleted; the flag itself is unchanged."""
    if audit.latest(db, flag.id, (REPORTED_DELETED,)) is not None:
        return Result(event, Outcome.DUPLICATE)  # already waiting for a person: a second report adds nothing
    flag.updated_at = datetime.now(UTC)  # the live queue stream follows it
    relabel.record_by_classifier(
        db,
        REPORTED_DELETED,
        flag,
        reason=event.reason.value,
        summary="the platform reports this comment deleted — confirm",
        event_id=str(event.event_id),
        judged_at=judged_at.isoformat(),
        changed_at=changed_at.isoformat(),
        status=flag.status,
    )
    return Result(event, Outcome.NEEDS_CONFIRMATION)


def _summary(reason: ClearReason, resolved: bool) -> str:
    what = (
        "comment deleted on the platform" if reason is ClearReason.DELETED else "comment edited, now benign"
    )
    return f"{what} → {'resolved' if resolved else 'recorded (already closed)'}"


def reopen(db: Session, event: FlagRaised) -> bool:
    """After a newer verdict that the comment needs a human again (`relabel` applied it, or found it says
    what the flag already says): reopen a flag that an edit judged benign resolved, and that nobody has
    moved since, to the status it had. True if reopened."""
    flag = db.scalar(select(Flag).where(Flag.comment_key == event.comment_key))
    if flag is None or flag.status != FlagStatus.RESOLVED.value or flag.comment_deleted_at is not None:
        return False
    last = audit.latest(db, flag.id, _STATUS_ACTIONS)
    detail: dict[str, Any] = last.detail if last is not None and isinstance(last.detail, dict) else {}
    if (
        last is None
        or last.action != ACTION
        or detail.get("reason") != ClearReason.EDITED_BENIGN.value
        or detail.get("resolved") is not True
        or detail.get("previous") not in sla.OPEN_STATUSES
    ):
        return False
    flag.status = str(detail["previous"])
    flag.updated_at = datetime.now(UTC)  # the live queue stream follows it
    relabel.record_by_classifier(
        db,
        REOPENED,
        flag,
        reason="edited_harmful",
        summary="comment edited, needs a human again → reopened",
        event_id=str(event.event_id),
        previous=FlagStatus.RESOLVED.value,
        status=flag.status,
    )
    return True
