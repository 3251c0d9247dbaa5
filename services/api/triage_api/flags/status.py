"""A flag's statuses and their allowed moves: a moderator's status change, one change for many flags.
Escalating a flag routes it again (`escalation.route_again`).

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from triage_api.audit import service as audit
from triage_api.errors import Conflict, NotFound, Unprocessable
from triage_api.flags.claims import ensure_free, load
from triage_api.flags.escalation import route_again
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.rerouting import Rerouter, RerouteReason
from triage_api.staff.service import Principal

S = FlagStatus

TRANSITIONS: dict[FlagStatus, frozenset[FlagStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED}),
    S.ASSIGNED: frozenset({S.NEW, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED}),
    S.IN_REVIEW: frozenset({S.ASSIGNED, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED, S.RESOLVED}),
    S.REPLIED: frozenset({S.IN_REVIEW, S.HIDDEN, S.ESCALATED, S.RESOLVED}),
    S.HIDDEN: frozenset({S.IN_REVIEW, S.REPLIED, S.ESCALATED, S.RESOLVED}),
    S.DISMISSED: frozenset({S.IN_REVIEW, S.RESOLVED}),
    S.ESCALATED: frozenset({S.ASSIGNED, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.RESOLVED}),
    S.RESOLVED: frozenset({S.IN_REVIEW}),
}

# Statuses a moderator sets directly; replied and hidden come from the platform's answer to an action.
MANUAL_STATUSES = frozenset({S.NEW, S.ASSIGNED, S.IN_REVIEW, S.DISMISSED, S.ESCALATED, S.RESOLVED})


def move(flag: Flag, target: FlagStatus) -> None:
    current = FlagStatus(flag.status)
    if target != current and target not in TRANSITIONS[current]:
        raise Conflict(f"cannot move a flag from {current.value} to {target.value}")
    flag.status = target.value


def set_status(
    db: Session, router: Rerouter, flag_id: str, target: FlagStatus, principal: Principal, reason: str = ""
) -> Flag:
    """A manual status change (dismiss, escalate, resolve, reopen …); `router` routes an escalated flag."""
    if target not in MANUAL_STATUSES:
        raise Unprocessable(f"{target.value} is set by the platform's answer to an action, not by hand")
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    previous = flag.status
    move(flag, target)
    audit.record_by(
        db,
        principal,
        "flag.status",
        flag_id,
        previous=previous,
        status=target.value,
        reason=reason[:200],
    )
    if target == S.ESCALATED and previous != S.ESCALATED.value:
        route_again(db, router, flag, RerouteReason.ESCALATED, principal)
    return flag


def bulk_status(
    db: Session, router: Rerouter, flag_ids: list[str], target: FlagStatus, principal: Principal
) -> dict[str, str]:
    """Apply one status to many flags; each flag reports "ok" or why it was skipped."""
    results: dict[str, str] = {}
    for flag_id in dict.fromkeys(flag_ids):
        try:
            with db.begin_nested():
                set_status(db, router, flag_id, target, principal, reason="bulk")
            results[flag_id] = "ok"
        except (Conflict, NotFound, Unprocessable) as exc:
            results[flag_id] = exc.message
    return results
