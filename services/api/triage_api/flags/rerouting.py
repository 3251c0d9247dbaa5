"""What flags needs from the routing rules in force: the package below routing (routing reads flags), so it
declares the interface and `main.create_app` passes in the object that implements it (`routing.Router`).

Storing new flags routes them (`route`); an escalation, a raised severity or a newer verdict that raises it
routes a flag again and restarts its SLA clock, and a lead can send a flag to another team (`reroute`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session
from triage_events import FlagRaised

from triage_api.audit.models import AuditEvent
from triage_api.flags.models import Flag
from triage_api.flags.sla import Targets


class RerouteReason(enum.StrEnum):
    ESCALATED = "escalated"
    SEVERITY = "severity"  # a person raised the severity
    CLASSIFIER = "classifier"  # a newer verdict on the comment raised it (`flags.relabel`)
    MANUAL = "manual"


class Rerouter(Protocol):
    """Routes flags in the caller's transaction, with the SLA targets an escalation restarts the clock with."""

    @property
    def sla(self) -> Targets: ...

    def has_team(self, team: str) -> bool: ...

    def route(self, db: Session, events: list[FlagRaised], at: datetime) -> None: ...

    def reroute(
        self,
        db: Session,
        flag: Flag,
        reason: RerouteReason,
        actor: str,
        role: str,
        at: datetime,
        team_name: str | None = None,
        assignee: str | None = None,
    ) -> AuditEvent: ...
