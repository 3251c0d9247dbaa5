"""Escalation and re-routing: an escalated flag or a raised severity routes the flag again with the router
the caller passes (`rerouting.Rerouter`, the app's `routing.Router`); a lead can re-route a flag to a team by
hand.

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import (
    Severity,
)

from triage_api.audit import service as audit
from triage_api.errors import Forbidden, Unprocessable
from triage_api.flags.claims import ensure_free, load, now
from triage_api.flags.models import Flag
from triage_api.flags.rerouting import Rerouter, RerouteReason
from triage_api.staff.models import Role, User
from triage_api.staff.service import Principal


def route_again(
    db: Session, router: Rerouter, flag: Flag, reason: RerouteReason, principal: Principal
) -> None:
    """Route an escalated flag again, which restarts its SLA clock."""
    router.reroute(db, flag, reason, principal.username, principal.role.value, now())


def raise_severity(
    db: Session, router: Rerouter, flag_id: str, target: Severity, principal: Principal
) -> Flag:
    """Raise a flag's severity (never lower it); the flag is routed again as an escalation."""
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    previous = Severity(flag.severity)
    if target.rank <= previous.rank:
        raise Unprocessable(f"severity can only be raised: {flag.severity} is not below {target.value}")
    flag.severity, flag.severity_rank = target.value, target.rank
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "flag.severity",
        flag_id,
        previous=previous.value,
        severity=target.value,
    )
    route_again(db, router, flag, RerouteReason.SEVERITY, principal)
    return flag


def reroute(
    db: Session, router: Rerouter, flag_id: str, team: str, assignee: str | None, principal: Principal
) -> tuple[Flag, datetime]:
    """A lead sends a flag to another team (and optionally a person in it); returns the flag and its due time
    (kept: a manual re-route does not restart the SLA clock)."""
    if not principal.role.allows(Role.LEAD):
        raise Forbidden("re-routing a flag requires the lead role")
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    if not router.has_team(team):
        raise Unprocessable(f"no team {team}")
    if assignee is not None:
        user = db.scalar(select(User).where(User.username == assignee, User.active.is_(True)))
        if user is None or not Role(user.role).allows(Role.MODERATOR):
            raise Unprocessable(f"{assignee} is not an active moderator")
    router.reroute(
        db,
        flag,
        RerouteReason.MANUAL,
        principal.username,
        principal.role.value,
        now(),
        team_name=team,
        assignee=assignee,
    )
    return flag, flag.due_at
