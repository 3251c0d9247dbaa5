"""Alert rows: stored once per dedup key, claimed for paging, acknowledged; plus the gauges they feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from triage_events import AlertRaised

from triage_api.audit import service as audit
from triage_api.db import as_utc, insert_new
from triage_api.flags.models import Flag, FlagStatus
from triage_api.oncall.models import Alert, AlertEvent, AlertStatus

ONCALL_ACTOR = "system:oncall"


def store_alerts(db: Session, events: list[AlertRaised], now: datetime) -> list[AlertRaised]:
    """Insert new alerts in the caller's transaction, due for paging at once; returns those inserted.

    A dedup key already stored (a redelivery, or the same flag judged twice) inserts nothing; of two alerts
    with one dedup key in the same call, the first is inserted. Two statements whatever the number of
    alerts: the alerts (one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING) and their "raised" events.
    """
    rows = [_alert_row(event, now) for event in events]
    inserted = [events[position] for position in insert_new(db, Alert, rows, "dedup_key")]
    db.add_all(
        AlertEvent(alert_id=str(event.event_id), at=now, event="raised", detail=event.kind.value)
        for event in inserted
    )
    return inserted


def _alert_row(event: AlertRaised, now: datetime) -> dict[str, object]:
    return {
        "id": str(event.event_id),
        "dedup_key": event.dedup_key,
        "kind": event.kind.value,
        "platform": event.platform.value,
        "account_id": event.account.id,
        "account_handle": event.account.handle,
        "label": event.label.value,
        "severity": event.severity.value,
        "count": event.count,
        "window_seconds": event.window_seconds,
        "comment_keys": event.comment_keys[:100],
        "raised_at": event.occurred_at.astimezone(UTC),
        "stored_at": now,
        "status": AlertStatus.OPEN.value,
        "level": -1,
        "next_action_at": now,
    }


def due_alerts(db: Session, now: datetime, limit: int = 50) -> list[Alert]:
    """Open alerts whose next page or escalation is due, oldest first."""
    return list(
        db.scalars(
            select(Alert)
            .where(Alert.status == AlertStatus.OPEN.value, Alert.next_action_at <= now)
            .order_by(Alert.next_action_at)
            .limit(limit)
        )
    )


def claim(db: Session, alert_id: str, level: int, now: datetime, lease_until: datetime) -> bool:
    """Take an alert for paging, so another replica leaves it alone until `lease_until`."""
    result = db.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.level == level,
            Alert.status == AlertStatus.OPEN.value,
            Alert.next_action_at <= now,
        )
        .values(next_action_at=lease_until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def log_only(db: Session, alerts: list[Alert], now: datetime) -> list[Alert]:
    """With nobody to page: take every alert still due and open, mark it logged (nothing more is due) in one
    statement, and write its history; returns those this call took (another replica may have taken some)."""
    if not alerts:
        return []
    taken = set(
        db.scalars(
            update(Alert)
            .where(
                Alert.id.in_([alert.id for alert in alerts]),
                Alert.status == AlertStatus.OPEN.value,
                Alert.next_action_at <= now,
            )
            .values(level=0, next_action_at=None)
            .returning(Alert.id)
        ).all()
    )
    db.add_all(AlertEvent(alert_id=alert_id, at=now, event="logged", level=0) for alert_id in sorted(taken))
    return [alert for alert in alerts if alert.id in taken]


def record_attempt(
    db: Session, alert_id: str, level: int, next_action_at: datetime | None, events: list[AlertEvent]
) -> None:
    """After paging: the level reached and when to look again (unless someone acknowledged meanwhile).

    An escalation to the next person is also written into the audit trail of each flag the alert covers.
    """
    db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == AlertStatus.OPEN.value)
        .values(level=level, next_action_at=next_action_at)
    )
    db.add_all(events)
    escalations = [e for e in events if e.event == "escalated"]
    alert = db.get(Alert, alert_id) if escalations else None
    if alert is not None:
        for escalation in escalations:
            audit_flags(
                db,
                alert,
                ONCALL_ACTOR,
                "system",
                "alert.escalated",
                level=escalation.level,
                person=escalation.person,
            )


def acknowledge(
    db: Session, alert_id: str, username: str, now: datetime, role: str = "moderator", via: str = "api"
) -> tuple[Alert | None, bool]:
    """Mark an alert acknowledged; returns the alert and whether this call changed it (idempotent).

    The acknowledgement also goes into the audit trail of each flag the alert covers: who, when (the audit
    time), and `via` which way it came in (`api`, `dashboard`, or a channel's callback).
    """
    alert = db.get(Alert, alert_id)
    if alert is None:
        return None, False
    if alert.status == AlertStatus.ACKNOWLEDGED.value:
        return alert, False
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_at = now
    alert.acknowledged_by = username
    alert.next_action_at = None
    db.add(
        AlertEvent(
            alert_id=alert_id, at=now, event="acknowledged", level=alert.level, person=username, detail=via
        )
    )
    audit_flags(db, alert, username, role, "alert.acknowledged", level=alert.level, via=via)
    return alert, True


def audit_flags(db: Session, alert: Alert, actor: str, role: str, action: str, **detail: object) -> int:
    """One audit event per stored flag the alert covers (ids and kinds only); returns how many.

    A flag that has not arrived yet (alerts and flags travel on different topics) gets none.
    """
    ids = sorted(set(flag_ids(db, alert.comment_keys).values()))
    for flag_id in ids:
        audit.record(db, actor, role, action, flag_id, alert_id=alert.id, kind=alert.kind, **detail)
    return len(ids)


def list_alerts(db: Session, status: str | None, limit: int) -> list[Alert]:
    statement = select(Alert).order_by(Alert.stored_at.desc(), Alert.id.desc()).limit(limit)
    if status:
        statement = statement.where(Alert.status == status)
    return list(db.scalars(statement))


def history(db: Session, alert_ids: list[str]) -> dict[str, list[AlertEvent]]:
    rows = db.scalars(
        select(AlertEvent).where(AlertEvent.alert_id.in_(alert_ids)).order_by(AlertEvent.at, AlertEvent.id)
    )
    found: dict[str, list[AlertEvent]] = {alert_id: [] for alert_id in alert_ids}
    for row in rows:
        found[row.alert_id].append(row)
    return found


def flag_ids(db: Session, comment_keys: list[str]) -> dict[str, str]:
    """Stored flag ids for these comments (a flag may arrive after its alert: then it is missing)."""
    if not comment_keys:
        return {}
    rows = db.execute(select(Flag.comment_key, Flag.id).where(Flag.comment_key.in_(comment_keys)))
    return {key: flag_id for key, flag_id in rows.all()}


def queue_snapshot(
    db: Session, now: datetime, sla: dict[str, float]
) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """Flags by status; new flags past their SLA due time (`Flag.sla_due_at`, or for a row without one the
    flagged time plus `sla`'s target), by severity; the oldest new flag's age."""
    by_status: dict[str, int] = {
        status: count
        for status, count in db.execute(select(Flag.status, func.count()).group_by(Flag.status)).all()
    }
    breaches: dict[str, int] = {}
    oldest: dict[str, float] = {}
    for severity, seconds in sla.items():
        breaches[severity] = (
            db.scalar(
                select(func.count())
                .select_from(Flag)
                .where(
                    Flag.status == FlagStatus.NEW.value,
                    Flag.severity == severity,
                    or_(
                        Flag.sla_due_at < now,
                        and_(Flag.sla_due_at.is_(None), Flag.flagged_at < now - timedelta(seconds=seconds)),
                    ),
                )
            )
            or 0
        )
        first = db.scalar(
            select(func.min(Flag.flagged_at)).where(
                Flag.status == FlagStatus.NEW.value, Flag.severity == severity
            )
        )
        oldest[severity] = max(0.0, (now - as_utc(first)).total_seconds()) if first else 0.0
    return by_status, breaches, oldest


def alerts_snapshot(db: Session, now: datetime) -> tuple[dict[str, int], dict[str, float]]:
    """Open alerts by kind and the age of the oldest one of each kind."""
    rows = db.execute(
        select(Alert.kind, func.count(), func.min(Alert.stored_at))
        .where(Alert.status == AlertStatus.OPEN.value)
        .group_by(Alert.kind)
    ).all()
    counts = {kind: count for kind, count, _ in rows}
    oldest = {kind: max(0.0, (now - as_utc(first)).total_seconds()) for kind, _, first in rows if first}
    return counts, oldest
