"""Re-routing on SQLite and PostgreSQL: an escalated flag (status escalated, or severity raised) is routed
again with the rules (`escalate_to` per rule, else `escalation_team`, else the rule's own team), reassigned
within the team, its SLA clock restarted and an audit entry written; leads re-route by hand, through the
API and the dashboard's form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from triage_api.audit.models import AuditEvent
from triage_api.flags.models import Flag
from triage_api.routing.service import RoutingConfig
from triage_events import Label, Severity

from tests.builders import make_comment, make_comment_body, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk
from tests.integration.test_desk_dashboard import csrf, sign_in

pytestmark = pytest.mark.integration

ALWAYS_OPEN = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59:59"}
CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "business_hours": ALWAYS_OPEN,
    "default_team": "social",
    "escalation_team": "leads",
    "teams": {
        "social": {"members": ["ana", "ben"]},
        "leads": {"members": ["lead-user", "moderator2-user"], "strategy": "least_open"},
        "oncall": {"members": ["olga", "omar"], "strategy": "least_open"},
        "privacy": {"members": ["pia"]},
        "spanish": {"members": ["sofia"]},
        "spanish_leads": {"members": ["santi"]},
    },
    "rules": [
        {"match": {"label": "urgent"}, "team": "oncall", "escalate_to": "oncall"},
        {"match": {"label": "privacy"}, "team": "privacy", "escalate_to": "oncall"},
        {"match": {"language": "es"}, "team": "spanish", "escalate_to": "spanish_leads"},
        {"match": {"severity": "critical"}, "team": "oncall"},
    ],
}


def app(database_url: str, tmp_path: Path, config: dict[str, Any] | None = None) -> Any:
    rules = tmp_path / "routing.yaml"
    rules.write_text(yaml.safe_dump(config or CONFIG))
    return make_app(database_url, FakePublisher(), routing_file=rules)


def routed_flag(desk: Desk, labels: list[Label], language: str | None = None, **overrides: Any) -> str:
    """A flag stored and routed as the consumer would (in one transaction)."""
    comment = make_comment(comment=make_comment_body(text="some comment", language=language))
    event = make_flag(comment=comment, labels=labels, **overrides)
    from triage_api.flags.service import store_flags

    with desk.app.state.sessionmaker() as db, db.begin():
        stored: list[Any] = []
        store_flags(db, [event], stored, targets=desk.app.state.sla)
        desk.app.state.router.route(db, stored, datetime.now(UTC))
    return str(event.event_id)


def state(desk: Desk, flag_id: str) -> tuple[str | None, str | None, str, str]:
    with desk.app.state.sessionmaker() as db:
        flag = db.get(Flag, flag_id)
        assert flag is not None
        return flag.team, flag.assignee, flag.status, flag.severity


def reroutes(desk: Desk, flag_id: str) -> list[dict[str, Any]]:
    with desk.app.state.sessionmaker() as db:
        rows = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.flag_id == flag_id, AuditEvent.action == "flag.rerouted")
            .order_by(AuditEvent.id)
        ).all()
        return [{"actor": r.actor, **r.detail} for r in rows]


async def test_escalating_routes_again_reassigns_and_restarts_the_sla(
    database_url: str, tmp_path: Path
) -> None:
    async with running_desk(app(database_url, tmp_path)) as desk:
        flag_id = routed_flag(desk, [Label.HOSTILE], occurred_at=datetime.now(UTC) - timedelta(hours=5))
        assert state(desk, flag_id) == ("social", "ana", "assigned", "medium")
        # The moderator holds a claim; escalating hands the flag to the leads and releases it.
        moderator = desk.auth("moderator")
        assert (await desk.client.post(f"/api/flags/{flag_id}/claim", headers=moderator)).is_success
        before = datetime.now(UTC)
        r = await desk.client.post(f"/api/flags/{flag_id}/escalate", headers=moderator)
        after = datetime.now(UTC)
        assert r.status_code == 200
        body = r.json()
        assert (body["team"], body["assignee"], body["status"], body["claimed_by"]) == (
            "leads",
            "lead-user",
            "escalated",
            None,
        )
        [entry] = reroutes(desk, flag_id)
        due = datetime.fromisoformat(entry.pop("due_at"))
        assert before + timedelta(hours=4) <= due <= after + timedelta(hours=4)  # medium: 4 h from now
        assert entry == {
            "actor": "moderator-user",
            "reason": "escalated",
            "previous_team": "social",
            "team": "leads",
            "previous_assignee": "ana",
            "assignee": "lead-user",
            "released_claim": "moderator-user",
        }
        route_now = (await desk.client.get(f"/api/flags/{flag_id}/route", headers=desk.auth("viewer"))).json()
        assert datetime.fromisoformat(route_now["due_at"]) == due  # was 1 h overdue, now due in 4 h
        # Escalated again (already escalated): nothing moves.
        assert (
            await desk.client.post(f"/api/flags/{flag_id}/escalate", headers=desk.auth("lead"))
        ).is_success
        assert len(reroutes(desk, flag_id)) == 1

        # least_open: the next escalation goes to the lead with fewer open flags.
        other = routed_flag(desk, [Label.SPAM])
        r = await desk.client.post(
            "/api/flags/bulk-status", json={"ids": [other], "status": "escalated"}, headers=moderator
        )
        assert r.json() == {"results": {other: "ok"}}
        assert state(desk, other)[:2] == ("leads", "moderator2-user")


async def test_rules_pick_the_escalation_team(database_url: str, tmp_path: Path) -> None:
    async with running_desk(app(database_url, tmp_path)) as desk:
        moderator = desk.auth("moderator")
        privacy = routed_flag(desk, [Label.PRIVACY], severity=Severity.HIGH)
        spanish = routed_flag(desk, [Label.CLINICAL_ADVICE], language="es")
        assert state(desk, privacy)[:2] == ("privacy", "pia")
        assert state(desk, spanish)[:2] == ("spanish", "sofia")
        for flag_id in (privacy, spanish):
            assert (await desk.client.post(f"/api/flags/{flag_id}/escalate", headers=moderator)).is_success
        assert state(desk, privacy)[:2] == ("oncall", "olga")  # the rule's escalate_to
        # the comment's language is no column: it came back from the routing audit entry
        assert state(desk, spanish)[:2] == ("spanish_leads", "santi")


async def test_raising_the_severity_routes_again(database_url: str, tmp_path: Path) -> None:
    without_escalation_team = {k: v for k, v in CONFIG.items() if k != "escalation_team"}
    async with running_desk(app(database_url, tmp_path, without_escalation_team)) as desk:
        flag_id = routed_flag(desk, [Label.HOSTILE])
        moderator = desk.auth("moderator")
        before = datetime.now(UTC)
        r = await desk.client.post(
            f"/api/flags/{flag_id}/severity", json={"severity": "critical"}, headers=moderator
        )
        assert r.status_code == 200, r.text
        body = r.json()
        # critical now fits the severity rule: on-call (no escalate_to, no escalation team: the rule's team)
        assert (body["team"], body["assignee"], body["status"], body["severity"]) == (
            "oncall",
            "olga",
            "assigned",
            "critical",
        )
        due = datetime.fromisoformat(body["due_at"])
        assert before + timedelta(minutes=5) <= due <= datetime.now(UTC) + timedelta(minutes=5)
        [entry] = reroutes(desk, flag_id)
        assert (entry["reason"], entry["previous_team"], entry["team"]) == ("severity", "social", "oncall")
        with desk.app.state.sessionmaker() as db:
            actions = db.scalars(select(AuditEvent.action).where(AuditEvent.flag_id == flag_id)).all()
            assert db.get(Flag, flag_id).severity_rank == 3  # type: ignore[union-attr]
        assert "flag.severity" in actions
        # Lowering is refused, and so is a viewer.
        r = await desk.client.post(
            f"/api/flags/{flag_id}/severity", json={"severity": "low"}, headers=moderator
        )
        assert r.status_code == 422 and "only be raised" in r.json()["detail"]
        r = await desk.client.post(
            f"/api/flags/{flag_id}/severity", json={"severity": "critical"}, headers=desk.auth("viewer")
        )
        assert r.status_code == 403


async def test_a_lead_reroutes_by_hand_and_the_due_time_is_kept(database_url: str, tmp_path: Path) -> None:
    async with running_desk(app(database_url, tmp_path)) as desk:
        flag_id = routed_flag(desk, [Label.HOSTILE])
        viewer = desk.auth("viewer")
        due_before = (await desk.client.get(f"/api/flags/{flag_id}/route", headers=viewer)).json()["due_at"]
        lead = desk.auth("lead")
        r = await desk.client.post(f"/api/flags/{flag_id}/reroute", json={"team": "privacy"}, headers=lead)
        assert r.status_code == 200, r.text
        route = r.json()
        assert (route["flag_id"], route["team"], route["assignee"], route["due_at"]) == (
            (flag_id, "privacy", "pia", due_before)
        )
        r = await desk.client.post(
            f"/api/flags/{flag_id}/reroute",
            json={"team": "oncall", "assignee": "moderator-user"},
            headers=lead,
        )
        assert (r.json()["team"], r.json()["assignee"]) == ("oncall", "moderator-user")
        assert [(e["reason"], e["team"], e["due_at"]) for e in reroutes(desk, flag_id)] == [
            ("manual", "privacy", None),
            ("manual", "oncall", None),
        ]
        refused = {
            "moderator": (desk.auth("moderator"), {"team": "social"}, 403),
            "unknown team": (lead, {"team": "nobody"}, 422),
            "not a moderator": (lead, {"team": "social", "assignee": "viewer-user"}, 422),
            "NUL": (lead, {"team": "soc\x00ial"}, 422),
        }
        for name, (who, body, code) in refused.items():
            r = await desk.client.post(f"/api/flags/{flag_id}/reroute", json=body, headers=who)
            assert r.status_code == code, name
        missing = await desk.client.post(
            "/api/flags/no-such-flag/reroute", json={"team": "social"}, headers=lead
        )
        assert missing.status_code == 404
        assert state(desk, flag_id)[:2] == ("oncall", "moderator-user")


async def test_the_flag_page_forms_escalate_raise_and_reroute(database_url: str, tmp_path: Path) -> None:
    async with running_desk(app(database_url, tmp_path)) as desk:
        flag_id = routed_flag(desk, [Label.HOSTILE])
        act = f"/flags/{flag_id}/act"
        async with sign_in(desk, "moderator") as browser:
            page = (await browser.get(f"/flags/{flag_id}")).text
            assert 'id="severity-form"' in page and 'id="reroute-form"' not in page  # re-route is a lead's
            assert '· team <span id="team">social</span>' in page
            token = csrf(page)
            r = await browser.post(act, data={"op": "severity", "severity": "high", "csrf_token": token})
            assert r.status_code == 303
            assert state(desk, flag_id) == ("leads", "lead-user", "assigned", "high")
            r = await browser.post(act, data={"op": "reroute", "team": "social", "csrf_token": token})
            # Refused, and shown on the flag's page after a redirect (post, redirect, get).
            assert r.status_code == 303 and r.headers["location"] == f"/flags/{flag_id}"
            assert "requires the lead role" in (await browser.get(r.headers["location"])).text
        async with sign_in(desk, "lead") as browser:
            page = (await browser.get(f"/flags/{flag_id}")).text
            assert 'id="reroute-form"' in page
            r = await browser.post(act, data={"op": "reroute", "team": "privacy", "csrf_token": csrf(page)})
            assert r.status_code == 303
            page = (await browser.get(r.headers["location"])).text
            assert '<span id="team">privacy</span>' in page and "flag.rerouted" in page
            r = await browser.post(act, data={"op": "escalate", "csrf_token": csrf(page)})
            assert r.status_code == 303
        assert state(desk, flag_id) == ("leads", "lead-user", "escalated", "high")


def test_the_escalation_team_is_validated_and_falls_back_after_hours() -> None:
    with pytest.raises(ValueError, match="unknown teams"):
        RoutingConfig.model_validate({**CONFIG, "escalation_team": "nobody"})
    with pytest.raises(ValueError, match="unknown teams"):
        RoutingConfig.model_validate(
            {**CONFIG, "rules": [{"match": {}, "team": "social", "escalate_to": "x"}]}
        )
    office_hours = {
        **CONFIG,
        "business_hours": {"days": ["mon"], "start": "08:00", "end": "18:00"},
        "teams": {**CONFIG["teams"], "leads": {"members": ["lead-user"], "after_hours": "oncall"}},
    }
    config = RoutingConfig.model_validate(office_hours)
    facts = {"label": {"hostile"}, "severity": {"medium"}, "platform": {"facebook"}, "account": {"a"}}
    monday_noon, saturday = datetime(2026, 11, 23, 17, tzinfo=UTC), datetime(2026, 11, 28, 17, tzinfo=UTC)
    assert config.escalation_team_for(facts, monday_noon) == "leads"
    assert config.escalation_team_for(facts, saturday) == "oncall"
    bundled = RoutingConfig.load(None)
    assert bundled.escalation_team == "leads" and bundled.escalation_team_for(facts, monday_noon) == "leads"
