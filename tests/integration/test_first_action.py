"""Time to first action and SLA breaches, on SQLite and PostgreSQL: the first thing a person does about a
flag (claim, status change, assignment, platform action, acknowledging an alert about it) is observed once,
by the severity it arrived with and its label, from the moment the flag was raised; later actions, notes,
system events (a classifier relabel and re-route) and refused or rolled-back changes are not; a first action
past the arrival severity's response target counts one breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from triage_api.db import make_engine, make_sessionmaker
from triage_api.flags import relabel
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.status import set_status
from triage_api.oncall.service import store_alerts
from triage_api.staff.models import Role
from triage_api.staff.service import Principal
from triage_events import FlagRaised, Label, Severity

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk
from tests.integration.helpers import urgent_alert

pytestmark = pytest.mark.integration

HISTOGRAM = "triage_api_time_to_first_action_seconds"
MODERATOR = Principal(1, "moderator-user", Role.MODERATOR)


def observed(severity: str, label: str) -> tuple[float, float]:
    """(count, sum) of the histogram for one severity and label."""
    labels = {"severity": severity, "label": label}
    count = REGISTRY.get_sample_value(f"{HISTOGRAM}_count", labels) or 0.0
    total = REGISTRY.get_sample_value(f"{HISTOGRAM}_sum", labels) or 0.0
    return count, total


def utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def breaches(severity: str) -> float:
    return REGISTRY.get_sample_value("triage_api_sla_breaches_total", {"severity": severity}) or 0.0


def raised(minutes_ago: float, label: Label, severity: Severity) -> FlagRaised:
    return make_flag(
        comment=make_comment(text="You are all useless clowns"),
        labels=[label],
        severity=severity,
        occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


async def test_the_first_staff_action_is_observed_once_per_flag(database_url: str) -> None:
    late = raised(12, Label.URGENT, Severity.CRITICAL)  # 12 min for a 5 min target: a breach
    prompt = raised(2, Label.SPAM, Severity.LOW)  # 2 min for a 24 h target
    bulk = [raised(20, Label.CLINICAL_ADVICE, Severity.HIGH) for _ in range(2)]  # within 30 min
    noted = raised(3, Label.PRIVACY, Severity.HIGH)
    before = {
        "critical": observed("critical", "urgent"),
        "low": observed("low", "spam"),
        "high": observed("high", "clinical_advice"),
        "privacy": observed("high", "privacy"),
    }
    breaches_before = {severity: breaches(severity) for severity in ("critical", "low", "high")}
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        desk.add_flags(late, prompt, *bulk, noted)
        mod, other = desk.auth("moderator"), desk.auth("moderator2")

        async def post(path: str, headers: dict[str, str], **body: object) -> int:
            response = await desk.client.post(path, json=body or None, headers=headers)
            return response.status_code

        # The late urgent flag: claimed (first), then moved and released (not first any more).
        assert await post(f"/api/flags/{late.event_id}/claim", mod) == 200
        assert await post(f"/api/flags/{late.event_id}/status", mod, status="in_review") == 200
        assert await post(f"/api/flags/{late.event_id}/release", mod) == 200
        assert await post(f"/api/flags/{late.event_id}/escalate", mod) == 200
        # The spam flag: a refused move observes nothing; the hide request that follows is the first action.
        assert await post(f"/api/flags/{prompt.event_id}/status", mod, status="resolved") == 409
        assert await post(f"/api/flags/{prompt.event_id}/hide", mod) == 202
        # Bulk: two flags in one transaction (savepoints), each observed once; one is claimed by another
        # moderator beforehand, so its own first action is that claim.
        assert await post(f"/api/flags/{bulk[1].event_id}/claim", other) == 200
        ids = [str(f.event_id) for f in bulk]
        assert await post("/api/flags/bulk-status", mod, ids=ids, status="dismissed") == 200
        # Notes and feedback are not actions on the flag.
        assert await post(f"/api/flags/{noted.event_id}/notes", mod, body="checking with the ward") == 201
        feedback = await desk.client.put(
            f"/api/flags/{noted.event_id}/feedback", json={"label": "privacy", "correct": True}, headers=mod
        )
        assert feedback.status_code == 200

        # A change rolled back observes nothing, even though it wrote its audit event first.
        with desk.app.state.sessionmaker() as db:
            set_status(db, desk.app.state.router, str(noted.event_id), FlagStatus.DISMISSED, MODERATOR)
            db.rollback()
        with desk.app.state.sessionmaker() as db:
            flagged = {f.id: f.flagged_at for f in db.query(Flag).all()}

    count, total = observed("critical", "urgent")
    assert count == before["critical"][0] + 1
    waited = total - before["critical"][1]
    assert 12 * 60 - 5 < waited < 12 * 60 + 60, waited  # from flagged_at, not from being stored
    assert breaches("critical") == breaches_before["critical"] + 1

    count, total = observed("low", "spam")
    assert count == before["low"][0] + 1 and 2 * 60 - 5 < total - before["low"][1] < 2 * 60 + 60
    assert breaches("low") == breaches_before["low"]

    count, _ = observed("high", "clinical_advice")
    assert count == before["high"][0] + 2  # the claim on one, the bulk dismissal of the other
    assert breaches("high") == breaches_before["high"]

    assert observed("high", "privacy") == before["privacy"]  # a note, feedback and a rollback only
    assert len(flagged) == 5


async def test_the_sla_targets_come_from_the_apps_settings_everywhere(database_url: str) -> None:
    """One source: the targets of the settings `create_app` was given, whatever the process's environment
    says. The due times stored with the flags (the queue, the breach gauge), the routing view and the
    first-action breach follow them; a stored due time is kept when another app with other targets reads it."""
    waiting = raised(2, Label.URGENT, Severity.CRITICAL)  # 2 minutes: outside 1 min, inside the default 5
    acted = raised(2, Label.URGENT, Severity.CRITICAL)
    later = raised(2, Label.URGENT, Severity.CRITICAL)
    viewer_flag = "/api/flags/{}"

    def gauge(desk: Desk) -> float:
        desk.app.state.notifier.refresh_gauges()
        return REGISTRY.get_sample_value("triage_api_queue_sla_breaches", {"severity": "critical"}) or 0.0

    async with running_desk(
        make_app(database_url, FakePublisher(), sla_critical_s=60, sla_low_s=7200)
    ) as desk:
        desk.add_flags(waiting, acted)
        viewer = desk.auth("viewer")
        assert gauge(desk) == 2.0  # both new, 2 minutes old, past this app's minute
        flag = (await desk.client.get(viewer_flag.format(waiting.event_id), headers=viewer)).json()
        assert utc(flag["due_at"]) - utc(flag["flagged_at"]) == timedelta(seconds=60)
        routing = (await desk.client.get("/api/routing", headers=viewer)).json()
        assert routing["sla_seconds"] == {"critical": 60, "high": 1800, "medium": 14400, "low": 7200}

        before = breaches("critical")
        moved = await desk.client.post(
            f"/api/flags/{acted.event_id}/status",
            json={"status": "in_review"},
            headers=desk.auth("moderator"),
        )
        assert moved.status_code == 200
        assert breaches("critical") == before + 1  # 2 minutes is past the configured minute
        assert gauge(desk) == 1.0  # the one in review is not counted

        tokens = dict(desk.tokens)

    second = make_app(database_url, FakePublisher())  # the default targets, the same database and staff
    transport = httpx.ASGITransport(app=second)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=transport, base_url="http://triage.test") as client,
    ):
        desk = Desk(second, client, tokens)
        desk.add_flags(later)  # stored under 5 minutes
        viewer = desk.auth("viewer")
        flag = (await desk.client.get(viewer_flag.format(later.event_id), headers=viewer)).json()
        assert utc(flag["due_at"]) - utc(flag["flagged_at"]) == timedelta(minutes=5)
        flag = (await desk.client.get(viewer_flag.format(waiting.event_id), headers=viewer)).json()
        assert utc(flag["due_at"]) - utc(flag["flagged_at"]) == timedelta(seconds=60)  # kept as stored
        assert gauge(desk) == 1.0  # still the flag stored under the minute; the new one is inside 5 minutes
        routing = (await desk.client.get("/api/routing", headers=viewer)).json()
        assert routing["sla_seconds"] == {"critical": 300, "high": 1800, "medium": 14400, "low": 86400}


async def test_only_the_apps_own_sessions_observe_first_actions(database_url: str) -> None:
    """The hook is on the app's sessionmaker, nothing process-wide: a first action written through another
    sessionmaker on the same database (a script, a second app) is not observed by this one; through the
    app's, it is, once, judged by the app's targets."""
    elsewhere = raised(3, Label.PRIVACY, Severity.HIGH)
    here = raised(3, Label.PRIVACY, Severity.HIGH)  # 3 minutes: past this app's 2-minute target for high
    async with running_desk(make_app(database_url, FakePublisher(), sla_high_s=120)) as desk:
        desk.add_flags(elsewhere, here)
        count, _ = observed("high", "privacy")
        late = breaches("high")
        engine = make_engine(database_url)
        with make_sessionmaker(engine)() as db, db.begin():
            set_status(db, desk.app.state.router, str(elsewhere.event_id), FlagStatus.DISMISSED, MODERATOR)
        engine.dispose()
        assert observed("high", "privacy")[0] == count and breaches("high") == late
        with desk.app.state.sessionmaker() as db, db.begin():
            set_status(db, desk.app.state.router, str(here.event_id), FlagStatus.DISMISSED, MODERATOR)
        assert observed("high", "privacy")[0] == count + 1 and breaches("high") == late + 1


async def test_an_alert_acknowledgement_is_a_first_action_judged_by_the_severity_the_flag_arrived_with(
    database_url: str,
) -> None:
    """A person acknowledging an on-call alert about a flag is its first action. The wait is judged by the
    severity the flag arrived with: not the one a newer classifier verdict raised it to before anyone acted
    (a system change, not a first action), nor the one a moderator's own first action raised it to."""
    edited = raised(10, Label.HOSTILE, Severity.MEDIUM)  # 10 min: inside medium's 4 h, outside critical's 5
    slow = raised(40, Label.HOSTILE, Severity.HIGH)  # 40 min: outside high's 30
    worse = make_flag(
        comment=make_comment(comment=edited.comment, platform=edited.platform, account=edited.account),
        labels=[Label.URGENT, Label.HOSTILE],
        severity=Severity.CRITICAL,
        occurred_at=datetime.now(UTC) - timedelta(minutes=9),
    )
    alert = urgent_alert(edited.comment_key, edited.platform, edited.account)
    before = {
        "medium": observed("medium", "urgent"),
        "critical": observed("critical", "urgent"),
        "high": observed("high", "hostile"),
        "critical_hostile": observed("critical", "hostile"),
    }
    breaches_before = {severity: breaches(severity) for severity in ("medium", "high", "critical")}
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        desk.add_flags(edited, slow)
        with desk.app.state.sessionmaker() as db, db.begin():
            [result] = relabel.apply_all(db, desk.app.state.router, [worse])
            assert result.outcome is relabel.Outcome.RELABELLED
            store_alerts(db, [alert], datetime.now(UTC))
        # The classifier's relabel and re-route observed nothing: no person acted yet.
        assert observed("critical", "urgent") == before["critical"]
        assert observed("medium", "urgent") == before["medium"]

        mod = desk.auth("moderator")
        acked = await desk.client.post(f"/api/alerts/{alert.event_id}/ack", headers=mod)
        assert acked.status_code == 200, acked.text
        assert observed("medium", "urgent")[0] == before["medium"][0] + 1  # the acknowledgement itself
        claimed = await desk.client.post(f"/api/flags/{edited.event_id}/claim", headers=mod)
        assert claimed.status_code == 200  # not first any more
        raised_now = await desk.client.post(
            f"/api/flags/{slow.event_id}/severity", json={"severity": "critical"}, headers=mod
        )
        assert raised_now.status_code == 200 and raised_now.json()["severity"] == "critical"

    count, total = observed("medium", "urgent")  # the current primary label, the severity it arrived with
    assert count == before["medium"][0] + 1
    assert 10 * 60 - 5 < total - before["medium"][1] < 10 * 60 + 60
    assert observed("critical", "urgent") == before["critical"]
    assert breaches("medium") == breaches_before["medium"]  # 10 min is inside medium's 4 h

    count, total = observed("high", "hostile")
    assert count == before["high"][0] + 1 and 40 * 60 - 5 < total - before["high"][1] < 40 * 60 + 60
    assert observed("critical", "hostile") == before["critical_hostile"]
    assert breaches("high") == breaches_before["high"] + 1  # 40 min is past high's 30
    assert breaches("critical") == breaches_before["critical"]
