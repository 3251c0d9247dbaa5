"""REST routes for on-call alerts: the list with each alert's history, one alert, and acknowledging."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from triage_api.deps import DbDep, ViewerDep, require
from triage_api.oncall import service
from triage_api.oncall.models import Alert, AlertEvent, AlertStatus
from triage_api.params import UtcDateTime, WholeNumber
from triage_api.staff.models import Role
from triage_api.staff.service import Principal

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
ModeratorDep = Annotated[Principal, Depends(require(Role.MODERATOR))]


class AlertEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: UtcDateTime
    event: str
    level: int | None
    person: str | None
    channel: str | None
    detail: str


class AlertOut(BaseModel):
    id: str
    dedup_key: str
    kind: str
    platform: str
    account_id: str
    account_handle: str
    label: str
    severity: str
    count: int
    window_seconds: int
    comment_keys: list[str]
    raised_at: UtcDateTime
    status: str
    level: int
    acknowledged_at: UtcDateTime | None
    acknowledged_by: str | None
    history: list[AlertEventOut]


def _out(alert: Alert, events: list[AlertEvent]) -> AlertOut:
    columns = {name: getattr(alert, name) for name in AlertOut.model_fields if name != "history"}
    return AlertOut(**columns, history=[AlertEventOut.model_validate(event) for event in events])


@router.get("", response_model=list[AlertOut])
def list_alerts_route(
    db: DbDep,
    _: ViewerDep,
    status: AlertStatus | None = None,
    limit: Annotated[int, WholeNumber, Query(ge=1, le=200)] = 50,
) -> list[AlertOut]:
    """Alerts, newest first, each with what on-call did about it."""
    alerts = service.list_alerts(db, status.value if status else None, limit)
    events = service.history(db, [a.id for a in alerts])
    return [_out(a, events[a.id]) for a in alerts]


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert_route(alert_id: str, db: DbDep, _: ViewerDep) -> AlertOut:
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return _out(alert, service.history(db, [alert_id])[alert_id])


@router.post("/{alert_id}/ack", response_model=AlertOut)
async def acknowledge_route(alert_id: str, request: Request, principal: ModeratorDep) -> AlertOut:
    """Acknowledge an alert: escalation stops, the channels hear who has it, and the flags it covers show
    the acknowledgement in their audit trail. Idempotent. A browser session sends its CSRF token in the
    `X-CSRF-Token` header (checked with the role, as on every unsafe route)."""
    notifier = request.app.state.notifier
    via = "dashboard" if principal.csrf_token is not None else "api"  # a browser session, or a token
    alert = await notifier.acknowledge(alert_id, principal.username, principal.role.value, via)
    if alert is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    with request.app.state.sessionmaker() as db:
        fresh = db.get(Alert, alert_id)
        assert fresh is not None
        return _out(fresh, service.history(db, [alert_id])[alert_id])
