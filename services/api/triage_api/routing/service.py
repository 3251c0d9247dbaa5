"""Routing of new flags: rules (label, severity, platform, account, language → team) from YAML, business
hours with an after-hours fallback team, and assignment within a team by round-robin or least-open.

The state both strategies need lives in the database (the team's last assignee, its members' open flags),
so several API replicas route consistently without sharing memory.
"""

from __future__ import annotations

import enum
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from triage_events import FlagRaised

from triage_api.audit import service as audit
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.sla import OPEN_STATUSES

EXAMPLE = Path(__file__).with_name("rules.example.yaml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROUTER = "system:router"


class Strategy(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_OPEN = "least_open"


class Team(BaseModel):
    members: list[str] = Field(default_factory=list)
    strategy: Strategy = Strategy.ROUND_ROBIN
    after_hours: str | None = None


class BusinessHours(BaseModel):
    days: list[str] = Field(default_factory=lambda: list(DAYS[:5]))
    start: time = time(8, 0)
    end: time = time(18, 0)


class Rule(BaseModel):
    match: dict[str, str | list[str]] = Field(default_factory=dict)
    team: str

    def fits(self, facts: dict[str, set[str]]) -> bool:
        for key, wanted in self.match.items():
            values = {wanted} if isinstance(wanted, str) else set(wanted)
            if not values & facts.get(key, set()):
                return False
        return True


class RoutingConfig(BaseModel):
    timezone: str = "UTC"
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    default_team: str
    teams: dict[str, Team]
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _teams_exist(self) -> RoutingConfig:
        named = [self.default_team, *(r.team for r in self.rules)]
        named += [t.after_hours for t in self.teams.values() if t.after_hours]
        unknown = sorted(set(named) - set(self.teams))
        if unknown:
            raise ValueError(f"routing names unknown teams: {unknown}")
        ZoneInfo(self.timezone)
        return self

    @classmethod
    def load(cls, path: Path | None) -> RoutingConfig:
        return cls.model_validate(yaml.safe_load((path or EXAMPLE).read_text(encoding="utf-8")))

    def in_hours(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        hours = self.business_hours
        return DAYS[local.weekday()] in hours.days and hours.start <= local.time() < hours.end

    def team_for(self, event: FlagRaised, at: datetime) -> str:
        facts = {
            "label": {label.value for label in event.labels},
            "severity": {event.severity.value},
            "platform": {event.platform.value},
            "account": {event.account.id},
            "language": {event.comment.language} if event.comment.language else set(),
        }
        team = next((r.team for r in self.rules if r.fits(facts)), self.default_team)
        fallback = self.teams[team].after_hours
        return fallback if fallback and not self.in_hours(at) else team


def pick_member(db: Session, team_name: str, team: Team) -> str | None:
    """The next person in the team: round-robin after the last one assigned, or the one with fewest open."""
    if not team.members:
        return None
    if team.strategy is Strategy.LEAST_OPEN:
        open_counts = dict(
            db.execute(  # type: ignore[arg-type]
                select(Flag.assignee, func.count())
                .where(Flag.assignee.in_(team.members), Flag.status.in_(OPEN_STATUSES))
                .group_by(Flag.assignee)
            ).all()
        )
        return min(team.members, key=lambda m: (open_counts.get(m, 0), team.members.index(m)))
    last = db.scalar(
        select(Flag.assignee)
        .where(Flag.team == team_name, Flag.assignee.in_(team.members))
        .order_by(Flag.stored_at.desc(), Flag.id.desc())
        .limit(1)
    )
    if last is None:
        return team.members[0]
    return team.members[(team.members.index(last) + 1) % len(team.members)]


def route(db: Session, config: RoutingConfig, events: list[FlagRaised], at: datetime) -> None:
    """Give each newly stored flag its team and, if the team has members, an assignee (in the caller's
    transaction, so routing commits with the flags)."""
    for event in events:
        flag = db.get(Flag, str(event.event_id))
        if flag is None:
            continue
        team_name = config.team_for(event, at)
        assignee = pick_member(db, team_name, config.teams[team_name])
        flag.team, flag.assignee = team_name, assignee
        if assignee:
            flag.status = FlagStatus.ASSIGNED.value
        db.flush()  # the next flag's round-robin sees this assignment
        audit.record(db, ROUTER, "system", "flag.routed", flag.id, team=team_name, assignee=assignee)
