"""REST routes for routing: the configuration in force, a lead's manual re-route of a flag, and raising a
flag's severity (which routes it again as an escalation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from triage_events import Severity

from triage_api.deps import DbDep, LeadDep, ModeratorDep, RouterDep, ViewerDep
from triage_api.flags import claims, escalation
from triage_api.params import UtcDateTime

router = APIRouter(prefix="/api", tags=["routing"])
NO_NUL = r"^[^\x00]*$"


class RerouteIn(BaseModel):
    team: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
    assignee: Annotated[str | None, Field(max_length=64, pattern=NO_NUL)] = None


class SeverityIn(BaseModel):
    severity: Severity


class RouteOut(BaseModel):
    """Where a flag stands after a re-route: its team, person, status, severity and SLA due time."""

    model_config = ConfigDict(from_attributes=True)

    flag_id: str = Field(validation_alias="id")
    team: str | None
    assignee: str | None
    status: str
    severity: str
    due_at: UtcDateTime


@router.get("/routing")
def routing_route(routing: RouterDep, _: ViewerDep) -> dict[str, Any]:
    """Teams, rules, business hours and the SLA per severity."""
    config = routing.config.model_dump(mode="json")
    config["sla_seconds"] = {
        severity: int(delta.total_seconds()) for severity, delta in routing.sla.timedeltas().items()
    }
    return config


@router.get("/flags/{flag_id}/route", response_model=RouteOut)
def flag_route_route(flag_id: str, db: DbDep, _: ViewerDep) -> RouteOut:
    """The flag's team, person and SLA due time (after an escalation, the restarted clock's)."""
    return RouteOut.model_validate(claims.load(db, flag_id))


@router.post("/flags/{flag_id}/reroute", response_model=RouteOut)
def reroute_route(flag_id: str, body: RerouteIn, db: DbDep, routing: RouterDep, who: LeadDep) -> RouteOut:
    """Send the flag to another team (lead and above); the team's strategy picks the person unless one is
    named. The SLA due time is kept."""
    flag, _ = escalation.reroute(db, routing, flag_id, body.team, body.assignee, who)
    db.commit()
    return RouteOut.model_validate(flag)


@router.post("/flags/{flag_id}/severity", response_model=RouteOut)
def severity_route(
    flag_id: str, body: SeverityIn, db: DbDep, routing: RouterDep, who: ModeratorDep
) -> RouteOut:
    """Raise the flag's severity (never lower it): it is routed again as an escalation and its SLA clock
    restarts for the new severity."""
    flag = escalation.raise_severity(db, routing, flag_id, body.severity, who)
    db.commit()
    return RouteOut.model_validate(flag)
