"""Time to first action: how long a flag waited for a person, observed once per flag.

The first action on a flag is the first audit event by a person (not a `system` role) that takes the flag
on: a claim, a status change, an assignment, a severity raise or re-route, a platform action asked for, or
the acknowledgement of an on-call alert that covers the flag (`FIRST_ACTIONS`: a person answering the page
is responding to the flag). Notes, label feedback and releases are not. Every workflow change writes its
audit event through `audit.service.record`; `install` subscribes `note` to the audit events added to the
sessions of the app's sessionmaker alone, with the app's SLA targets (the audit package knows nothing of
flags; nothing is hooked process-wide): the audit log is what tells "first" (no earlier such event on the
flag), so flags need no column for it. The analytics page reads the same list (`analytics.service`).

The wait is judged against the SLA of the severity the flag arrived with (`arrival_severities`: before any
raise by a person or by a newer classifier verdict), as the analytics page judges it: the breach counter
counts the first actions that came later than that target. The flag's stored due time (`Flag.sla_due_at`)
is the working deadline the queue shows, which escalations restart; it is not what this measures.

The observation waits for the transaction to commit (a rolled-back change, or a savepoint of a bulk change
that failed, observes nothing), and a flag is observed at most once per transaction. Two people acting on
the same never-touched flag in the very same instant, in two transactions, could both observe it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from triage_api import metrics
from triage_api.audit.models import AuditEvent
from triage_api.audit.service import SYSTEM_ROLE
from triage_api.db import as_utc
from triage_api.flags import sla
from triage_api.flags.models import Flag

FIRST_ACTIONS = frozenset(
    {
        "flag.claimed",
        "flag.status",
        "flag.assigned",
        "flag.severity",
        "flag.rerouted",
        "action.requested",
        "action.pending_approval",
        "alert.acknowledged",
    }
)
# Audit entries that change a flag's severity, and where they keep the severity before the change.
SEVERITY_CHANGES = {"flag.severity": ("previous",), "flag.relabelled": ("previous", "severity")}
_PENDING = "triage_first_actions"


@dataclass(frozen=True)
class _Pending:
    audit_event: AuditEvent
    severity: str
    label: str
    seconds: float


def _severity_before(action: str, detail: object) -> str | None:
    """The severity an audit entry of `SEVERITY_CHANGES` says the flag had before it."""
    value = detail
    for key in SEVERITY_CHANGES.get(action, ()):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and action in SEVERITY_CHANGES else None


def arrival_severities(db: Session, flag_ids: Select[Any] | list[str]) -> dict[str, str]:
    """The severity each of these flags arrived with, for those whose severity changed since (raised by a
    person, or relabelled by a newer verdict): the one before the earliest change in the audit log."""
    found: dict[str, str] = {}
    rows = db.execute(
        select(AuditEvent.flag_id, AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.flag_id.in_(flag_ids), AuditEvent.action.in_(sorted(SEVERITY_CHANGES)))
        .order_by(AuditEvent.id)
    ).all()
    for flag_id, action, detail in rows:
        before = _severity_before(action, detail)
        if flag_id is not None and flag_id not in found and before is not None:
            found[flag_id] = before
    return found


def note(db: Session, audit_event: AuditEvent) -> None:
    """Remember `audit_event` for observation at commit if it is the first staff action on its flag."""
    if (
        audit_event.role == SYSTEM_ROLE
        or audit_event.flag_id is None
        or audit_event.action not in FIRST_ACTIONS
    ):
        return
    pending: dict[str, _Pending] = db.info.setdefault(_PENDING, {})
    if audit_event.flag_id in pending:
        return
    with db.no_autoflush:  # the event being recorded must not find itself
        earlier = db.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.flag_id == audit_event.flag_id,
                AuditEvent.action.in_(FIRST_ACTIONS),
                AuditEvent.role != SYSTEM_ROLE,
            )
            .limit(1)
        )
        flag = db.get(Flag, audit_event.flag_id) if earlier is None else None
        if flag is None:
            return
        # Changes already stored come first; else this very event, when it is the raise (not flushed yet).
        severity = arrival_severities(db, [flag.id]).get(flag.id)
    severity = severity or _severity_before(audit_event.action, audit_event.detail) or flag.severity
    waited = (as_utc(audit_event.at) - as_utc(flag.flagged_at)).total_seconds()
    pending[audit_event.flag_id] = _Pending(audit_event, severity, flag.primary_label, max(0.0, waited))


def install(factory: sessionmaker[Session], targets: sla.Targets) -> None:
    """Observe first actions in the sessions of `factory`, and only those (SQLAlchemy gives every sessionmaker
    its own Session class, which the listeners attach to): each audit event added to one is noted, and what
    was noted is observed when its transaction commits, judged against `targets` (forgotten when it ends
    otherwise)."""
    event.listen(factory, "transient_to_pending", _added)
    event.listen(factory, "after_commit", lambda db: observe(db, targets))
    event.listen(factory, "after_transaction_end", _forget)


def _added(db: Session, instance: object) -> None:
    if isinstance(instance, AuditEvent):
        note(db, instance)


def observe(db: Session, targets: sla.Targets) -> None:
    """Observe what `note` kept for the transaction `db` just committed."""
    pending: dict[str, _Pending] = db.info.pop(_PENDING, {})
    for item in pending.values():
        if not inspect(item.audit_event).has_identity:  # rolled back with a savepoint: nothing happened
            continue
        metrics.TIME_TO_FIRST_ACTION.labels(item.severity, item.label).observe(item.seconds)
        if item.seconds > targets.target(item.severity).total_seconds():
            metrics.SLA_BREACHES_TOTAL.labels(item.severity).inc()


def _forget(db: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit (or after one)
        db.info.pop(_PENDING, None)
