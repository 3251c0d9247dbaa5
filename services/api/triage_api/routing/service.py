"""Routing of new flags: rules (label, severity, platform, account, language → team) from YAML, business
hours with an after-hours fallback team, and assignment within a team by round-robin or least-open.

Escalation routes a flag again: when it is escalated (status) or its severity is raised, the first rule that
fits its facts now picks the team: that rule's `escalate_to`, else the top-level `escalation_team`, else the
rule's own team. A lead can also re-route a flag to a team by hand. A newer classifier verdict that raises
a flag's severity routes it the same way (`RerouteReason.CLASSIFIER`, by `system:classifier`). A re-route
reassigns within the team, and an escalation restarts the SLA clock (`Flag.sla_due_at` = escalation time +
the severity's SLA; the `flag.rerouted` audit entry records it too, for the history).

The state both strategies need lives in the database (the team's last assignee, its members' open flags),
so several API replicas route consistently without sharing memory. `Router` holds the rules in force and
the SLA targets; `main.create_app` builds the one the app passes around (flags asks for it through
`flags.rerouting.Rerouter`, so that flags never imports routing).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from triage_events import FlagRaised

from triage_api.audit import service as audit
from triage_api.audit.models import AuditEvent
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.rerouting import RerouteReason
from triage_api.flags.service import event_language
from triage_api.flags.sla import OPEN_STATUSES, Targets

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
    escalate_to: str | None = None  # the team an escalated flag matching this rule goes to

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
    escalation_team: str | None = None  # where escalated flags go when their rule names no `escalate_to`

    @model_validator(mode="after")
    def _teams_exist(self) -> RoutingConfig:
        named = [self.default_team, *(r.team for r in self.rules)]
        named += [r.escalate_to for r in self.rules if r.escalate_to]
        named += [self.escalation_team] if self.escalation_team else []
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
        return self._staffed(self._team_for_facts(facts_of_event(event)), at)

    def escalation_team_for(self, facts: dict[str, set[str]], at: datetime) -> str:
        """The team an escalated flag goes to: its rule's `escalate_to`, else `escalation_team`, else the
        team the rules pick for its facts now (a raised severity may fit another rule)."""
        rule = next((r for r in self.rules if r.fits(facts)), None)
        team = (rule.escalate_to if rule else None) or self.escalation_team
        return self._staffed(team or self._team_for_facts(facts), at)

    def _team_for_facts(self, facts: dict[str, set[str]]) -> str:
        return next((r.team for r in self.rules if r.fits(facts)), self.default_team)

    def _staffed(self, team: str, at: datetime) -> str:
        fallback = self.teams[team].after_hours
        return fallback if fallback and not self.in_hours(at) else team


def facts_of_event(event: FlagRaised) -> dict[str, set[str]]:
    return {
        "label": {label.value for label in event.labels},
        "severity": {event.severity.value},
        "platform": {event.platform.value},
        "account": {event.account.id},
        "language": {language} if (language := flag_language(event)) else set(),
    }


def flag_language(event: FlagRaised) -> str | None:
    """The comment's language: the one the classifier identified in the text, else the platform's (what
    `flags.language` stores)."""
    return event_language(event)


def facts_of_flag(db: Session, flag: Flag) -> dict[str, set[str]]:
    """A stored flag's routing facts. The comment's language is its `language` column (migration 0011); for
    a flag stored before that, the one its `flag.routed` audit entry kept."""
    language = flag.language or _routed_language(db, flag.id)
    return {
        "label": set(flag.labels),
        "severity": {flag.severity},
        "platform": {flag.platform},
        "account": {flag.account_id},
        "language": {language} if language else set(),
    }


def _routed_language(db: Session, flag_id: str) -> str | None:
    """The language the flag's latest `flag.routed` audit entry that names one kept."""
    for detail in db.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.flag_id == flag_id, AuditEvent.action == "flag.routed")
        .order_by(AuditEvent.id.desc())
    ):
        if isinstance(detail, dict) and detail.get("language"):
            return str(detail["language"])
    return None


def pick_member(db: Session, team_name: str, team: Team) -> str | None:
    """The next person in the team: round-robin after the last one assigned, or the one with fewest open."""
    return MemberPicker(db).next(team_name, team)


def _open_counts(db: Session, members: list[str]) -> dict[str, int]:
    rows = db.execute(
        select(Flag.assignee, func.count())
        .where(Flag.assignee.in_(members), Flag.status.in_(OPEN_STATUSES))
        .group_by(Flag.assignee)
    ).all()
    return {str(assignee): int(count) for assignee, count in rows}


def _last_assignee(db: Session, team_name: str, members: list[str]) -> str | None:
    return db.scalar(
        select(Flag.assignee)
        .where(Flag.team == team_name, Flag.assignee.in_(members))
        .order_by(Flag.stored_at.desc(), Flag.id.desc())
        .limit(1)
    )


class MemberPicker:
    """`pick_member` for a batch of new flags: each team's state (last assignee, open counts) is read from the
    database once, then kept up to date here as the batch's flags are assigned."""

    def __init__(self, db: Session) -> None:
        self._db = db
        self._last: dict[str, str | None] = {}
        self._open: dict[str, dict[str, int]] = {}

    def next(self, team_name: str, team: Team) -> str | None:
        if not team.members:
            return None
        if team.strategy is Strategy.LEAST_OPEN:
            if team_name not in self._open:
                self._open[team_name] = _open_counts(self._db, team.members)
            counts = self._open[team_name]
            chosen = min(team.members, key=lambda m: (counts.get(m, 0), team.members.index(m)))
            counts[chosen] = counts.get(chosen, 0) + 1
            return chosen
        if team_name not in self._last:
            self._last[team_name] = _last_assignee(self._db, team_name, team.members)
        last = self._last[team_name]
        chosen = (
            team.members[0]
            if last is None
            else team.members[(team.members.index(last) + 1) % len(team.members)]
        )
        self._last[team_name] = chosen
        return chosen


def route(db: Session, config: RoutingConfig, events: list[FlagRaised], at: datetime) -> None:
    """Give each newly stored flag its team and, if the team has members, an assignee (in the caller's
    transaction, so routing commits with the flags). Assignments within the batch follow each team's strategy
    in the batch's order. Two statements whatever the batch's size: the flags' routes (an UPDATE by primary key
    per flag, sent as one batch) and their `flag.routed` audit entries."""
    if not events:
        return
    picker = MemberPicker(db)
    routes: list[dict[str, object]] = []
    details: dict[str, dict[str, object]] = {}
    for event in events:
        flag_id = str(event.event_id)
        team_name = config.team_for(event, at)
        assignee = picker.next(team_name, config.teams[team_name])
        status = FlagStatus.ASSIGNED if assignee else FlagStatus.NEW  # a new flag is stored as new
        routes.append({"id": flag_id, "team": team_name, "assignee": assignee, "status": status.value})
        # kept here too: re-routing a flag stored before migration 0011 (no `language`) reads it from here
        details[flag_id] = {"team": team_name, "assignee": assignee, "language": flag_language(event)}
    db.execute(update(Flag), routes)
    audit.record_system(db, ROUTER, "flag.routed", details)


@dataclass(frozen=True)
class Router:
    """The routing rules in force and the SLA targets, built once by `main.create_app` (`app.state.router`)
    and passed to what routes: the flags consumer, the escalation and re-route views, a person raising a flag.
    It is what `flags.rerouting.Rerouter` asks for."""

    config: RoutingConfig
    sla: Targets

    def has_team(self, team: str) -> bool:
        return team in self.config.teams

    def route(self, db: Session, events: list[FlagRaised], at: datetime) -> None:
        route(db, self.config, events, at)

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
    ) -> AuditEvent:
        """Route `flag` again (in the caller's transaction) and record it as `flag.rerouted`.

        Escalations (status escalated, severity raised by a person or by the classifier) pick the escalation
        team from the rules and restart the SLA clock; a manual re-route names the team (and optionally the
        person) and keeps the due time. Either way the flag's `updated_at` moves (the live queue shows it). Someone
        already in the target team keeps the flag; otherwise the team's strategy picks a member. A claim by
        someone else than the new assignee is released.
        """
        if team_name is None:
            team_name = self.config.escalation_team_for(facts_of_flag(db, flag), at)
        team = self.config.teams[team_name]
        previous_team, previous_assignee = flag.team, flag.assignee
        if assignee is None:
            stays = flag.team == team_name and flag.assignee in team.members
            assignee = flag.assignee if stays else pick_member(db, team_name, team)
        flag.team, flag.assignee = team_name, assignee
        if assignee and flag.status == FlagStatus.NEW.value:
            flag.status = FlagStatus.ASSIGNED.value
        released = None
        if flag.claimed_by and flag.claimed_by != assignee:
            released, flag.claimed_by, flag.claimed_until = flag.claimed_by, None, None
        due = None
        if reason is not RerouteReason.MANUAL:
            due = self.sla.restart(flag, at).isoformat()
        flag.updated_at = at
        db.flush()
        return audit.record(
            db,
            actor,
            role,
            "flag.rerouted",
            flag.id,
            reason=reason.value,
            previous_team=previous_team,
            team=team_name,
            previous_assignee=previous_assignee,
            assignee=assignee,
            released_claim=released,
            due_at=due,
        )
