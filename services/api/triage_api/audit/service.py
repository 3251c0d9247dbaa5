"""Writing and reading the audit log. Details never carry comment text (it may be PHI)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from triage_api.audit.models import AuditEvent

SYSTEM_ROLE = "system"  # the role of events no person caused (a classifier relabel, a re-route, retention)


def record(
    db: Session, actor: str, role: str, action: str, flag_id: str | None = None, **detail: Any
) -> AuditEvent:
    """Append one event in the caller's transaction, so the audit entry commits with the change it records."""
    event = AuditEvent(
        at=datetime.now(UTC), actor=actor, role=role, action=action, flag_id=flag_id, detail=detail
    )
    db.add(event)  # seen on adding by the sessions' audit subscribers (`flags.first_action.install`)
    return event


class Actor(Protocol):
    """A staff member as the audit log names them (`staff.service.Principal`)."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> enum.Enum: ...


def record_by(
    db: Session, actor: Actor, action: str, flag_id: str | None = None, **detail: Any
) -> AuditEvent:
    """`record` a staff member's action under their username and role."""
    return record(db, actor.username, str(actor.role.value), action, flag_id, **detail)


def record_system(db: Session, actor: str, action: str, details: dict[str, dict[str, Any]]) -> None:
    """Append one system event per flag (`details`: flag id → detail) in one statement, in the caller's
    transaction. A bulk insert: no session event sees these rows, and none needs to (system events are never
    a staff member's first action)."""
    if not details:
        return
    at = datetime.now(UTC)
    rows = [
        {
            "at": at,
            "actor": actor,
            "role": SYSTEM_ROLE,
            "action": action,
            "flag_id": flag_id,
            "detail": detail,
        }
        for flag_id, detail in details.items()
    ]
    db.execute(insert(AuditEvent), rows)


def latest(db: Session, flag_id: str, actions: tuple[str, ...]) -> AuditEvent | None:
    """The flag's most recent audit entry among `actions`."""
    return db.scalar(
        select(AuditEvent)
        .where(AuditEvent.flag_id == flag_id, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class AuditQuery:
    flag_id: str | None = None
    actor: str | None = None
    action: str | None = None
    limit: int = 100
    offset: int = 0


def list_events(db: Session, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    """Newest first, with the total count."""
    statement = select(AuditEvent)
    counting = select(func.count()).select_from(AuditEvent)
    for column, value in (
        (AuditEvent.flag_id, query.flag_id),
        (AuditEvent.actor, query.actor),
        (AuditEvent.action, query.action),
    ):
        if value:
            statement = statement.where(column == value)
            counting = counting.where(column == value)
    rows = db.scalars(statement.order_by(AuditEvent.id.desc()).limit(query.limit).offset(query.offset)).all()
    return list(rows), db.scalar(counting) or 0
