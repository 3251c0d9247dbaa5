"""Edited comments through the real flag consumer, on SQLite and PostgreSQL: a newer verdict on a comment
already flagged relabels its flag (labels, scores, severity, evidence, text, model version) and keeps its
id, status and history; a verdict that raises the severity routes the flag again as an escalation by the
classifier and restarts its SLA clock, one that lowers it keeps the due time; stale, redelivered and
identical verdicts change nothing; the audit trail says what changed without the comment text; an edit that
makes a comment urgent still reaches on-call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from triage_api.flags.models import Flag, FlagLabel
from triage_api.main import create_app
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import ALERTS, FLAGS, Evidence, FlagRaised, Label, Severity, encode

from tests.builders import make_alert, make_comment, make_flag
from tests.integration.desk_support import AUTH
from tests.integration.helpers import all_committed, eventually, produce
from tests.integration.test_api_consumer import running, settings

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(minutes=30)
RUDE = "You people at the front desk are useless"
WORSE = "You people are useless and tonight I am going to end it all"
BETTER = "Sorry for my earlier comment, the front desk sorted it out"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ignored(reason: str) -> float:
    return metric("triage_api_flag_updates_ignored_total", reason=reason)


def aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def verdict(original: FlagRaised, text: str, minutes: int, **overrides: Any) -> FlagRaised:
    """Another verdict on `original`'s comment, judged `minutes` after T0, with `text` as the comment's text."""
    comment = make_comment(
        comment=original.comment.model_copy(update={"text": text}),
        platform=original.platform,
        account=original.account,
    )
    assert comment.comment_key == original.comment_key
    return make_flag(comment=comment, occurred_at=T0 + timedelta(minutes=minutes), **overrides)


async def test_a_newer_verdict_relabels_the_flag_and_older_or_repeated_ones_do_not(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    original = make_flag(
        comment=make_comment(text=RUDE), labels=[Label.HOSTILE], severity=Severity.MEDIUM, occurred_at=T0
    )
    key = original.comment_key
    worse = verdict(
        original,
        WORSE,
        5,
        labels=[Label.URGENT, Label.HOSTILE],
        scores={Label.URGENT: 0.91, Label.HOSTILE: 0.88},
        severity=Severity.CRITICAL,
        evidence=[Evidence(label=Label.URGENT, source="rule", rule_id="urgent.self_harm", start=37, end=59)],
        model_version="test-2",
        suggested_templates=["urgent.public"],
    )
    stale = verdict(original, "an older edit", 2, labels=[Label.SPAM], severity=Severity.LOW)
    same_again = worse.model_copy(
        update={"event_id": make_flag().event_id, "occurred_at": T0 + timedelta(minutes=6)}
    )
    alert = make_alert(worse)
    before = {
        "relabelled": metric(
            "triage_api_flags_relabelled_total", severity="critical", reason="comment_edited"
        ),
        "stale": ignored("stale"),
        "duplicate": ignored("duplicate"),
        "unchanged": ignored("unchanged"),
    }
    config = settings(database_url, consumer_enabled=True)
    app = create_app(config, BrokerProfile(fresh_broker.bootstrap_servers, embedded=True))
    sent = 0

    async def send(*events: FlagRaised) -> None:
        nonlocal sent
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(key.encode(), encode(e)) for e in events])
        sent += len(events)

        await all_committed(
            fresh_broker.bootstrap_servers,
            config.consumer_group,
            FLAGS,
            sent,
            "the API consumer to commit every flag message",
        )

    async with running(app) as client:
        await send(original)
        flag_id = str(original.event_id)
        # Someone is already on it: the edit must not take that away.
        assert (await client.post(f"/api/flags/{flag_id}/claim", headers=AUTH)).status_code == 200
        moved = await client.post(f"/api/flags/{flag_id}/status", json={"status": "in_review"}, headers=AUTH)
        assert moved.status_code == 200, moved.text

        with app.state.sessionmaker() as db:
            stored = db.get(Flag, flag_id)
            assert stored is not None and stored.team == "social"
            assert aware(stored.sla_due_at) == T0 + timedelta(hours=4)  # medium, from when it was flagged
            assert aware(stored.updated_at) == aware(stored.stored_at)
        edited_at = datetime.now(UTC)
        await send(worse, stale, worse, original, same_again)
        await produce(fresh_broker.bootstrap_servers, ALERTS.name, [(b"acct", encode(alert))])
        relabelled_at = datetime.now(UTC)

        with app.state.sessionmaker() as db:
            flag = db.scalar(select(Flag).where(Flag.comment_key == key))
            rows = set(db.scalars(select(FlagLabel.label).where(FlagLabel.flag_id == flag_id)))
            count = len(db.scalars(select(Flag.id).where(Flag.comment_key == key)).all())
        assert count == 1 and flag is not None and flag.id == flag_id
        assert (flag.labels, flag.primary_label, flag.severity, flag.severity_rank) == (
            ["urgent", "hostile"],
            "urgent",
            "critical",
            3,
        )
        assert rows == {"urgent", "hostile"}
        assert flag.scores == {"urgent": 0.91, "hostile": 0.88}
        assert flag.evidence == [e.model_dump(mode="json") for e in worse.evidence]
        assert (flag.text, flag.model_version, flag.suggested_templates) == (
            WORSE,
            "test-2",
            ["urgent.public"],
        )
        assert flag.status == "in_review"  # the workflow state stays
        # Raised to critical: routed again as an escalation (urgent → oncall, nobody in it in the example,
        # so the claim is released for whoever picks it up there) and the SLA clock restarted at the edit.
        assert (flag.team, flag.assignee, flag.claimed_by) == ("oncall", None, None)
        due = aware(flag.sla_due_at)
        assert edited_at + timedelta(minutes=5) <= due <= relabelled_at + timedelta(minutes=5)
        assert edited_at <= aware(flag.updated_at) <= relabelled_at
        shown = (await client.get(f"/api/flags/{flag_id}", headers=AUTH)).json()
        route = (await client.get(f"/api/flags/{flag_id}/route", headers=AUTH)).json()
        assert aware(datetime.fromisoformat(shown["due_at"])) == due
        assert aware(datetime.fromisoformat(route["due_at"])) == due and route["team"] == "oncall"

        trail = await audit_of(client, flag_id)
        [relabel] = [e for e in trail if e["action"] == "flag.relabelled"]
        assert (relabel["actor"], relabel["role"]) == ("system:classifier", "system")
        detail = relabel["detail"]
        assert detail["reason"] == "comment_edited" and detail["summary"] == "comment edited → relabelled"
        assert detail["previous"] == {"labels": ["hostile"], "severity": "medium", "model_version": "test-1"}
        assert (detail["labels"], detail["severity"], detail["event_id"]) == (
            ["urgent", "hostile"],
            "critical",
            str(worse.event_id),
        )
        assert "useless" not in json.dumps(trail) and "end it all" not in json.dumps(trail)
        [reroute] = [e for e in trail if e["action"] == "flag.rerouted"]
        assert (reroute["actor"], reroute["role"]) == ("system:classifier", "system")
        assert reroute["detail"]["reason"] == "classifier" and reroute["detail"]["released_claim"] == "admin"
        assert (reroute["detail"]["previous_team"], reroute["detail"]["team"]) == ("social", "oncall")
        assert aware(datetime.fromisoformat(reroute["detail"]["due_at"])) == due
        assert trail.index(reroute) < trail.index(relabel)  # newest first: the re-route follows the relabel
        assert [e["action"] for e in trail if e["action"] in {"flag.claimed", "flag.status"}] == [
            "flag.status",
            "flag.claimed",
        ]  # newest first: the staff history is still there

        # The API side keeps the escalation: the urgent filter finds the flag, and the alert links to it.
        urgent = (await client.get("/api/flags", params={"label": "urgent"}, headers=AUTH)).json()
        assert [item["id"] for item in urgent["items"]] == [flag_id]

        async def alert_stored() -> list[dict[str, Any]]:
            alerts = (await client.get("/api/alerts", headers=AUTH)).json()
            return [a for a in alerts if a["dedup_key"] == alert.dedup_key]

        [stored_alert] = await eventually(alert_stored, 30, "the urgent alert to be stored")
        assert stored_alert["comment_keys"] == [key]

        # A later edit that calms things down relabels downwards, and the label rows follow.
        better = verdict(original, BETTER, 10, labels=[Label.HOSTILE], severity=Severity.LOW)
        await send(better)
        with app.state.sessionmaker() as db:
            flag = db.scalar(select(Flag).where(Flag.comment_key == key))
            rows = set(db.scalars(select(FlagLabel.label).where(FlagLabel.flag_id == flag_id)))
        assert flag is not None and (flag.labels, flag.severity, flag.text) == (["hostile"], "low", BETTER)
        assert rows == {"hostile"} and flag.status == "in_review"
        # Lowered: the team and the due time stay; the live queue still sees the change.
        assert (flag.team, aware(flag.sla_due_at)) == ("oncall", due)
        assert aware(flag.updated_at) > relabelled_at
        assert (await client.get("/api/flags", params={"label": "urgent"}, headers=AUTH)).json()[
            "items"
        ] == []
        relabels = [e for e in await audit_of(client, flag_id) if e["action"] == "flag.relabelled"]
        assert [e["detail"]["severity"] for e in relabels] == ["low", "critical"]
        rerouted = [e for e in await audit_of(client, flag_id) if e["action"] == "flag.rerouted"]
        assert len(rerouted) == 1

    relabelled = metric("triage_api_flags_relabelled_total", severity="critical", reason="comment_edited")
    assert relabelled == before["relabelled"] + 1
    assert ignored("stale") == before["stale"] + 1  # the older edit
    assert ignored("duplicate") == before["duplicate"] + 2  # the edit again, the original again
    assert ignored("unchanged") == before["unchanged"] + 1  # judged again, the same verdict


async def test_several_verdicts_on_one_comment_in_one_batch_apply_in_order(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    """The first verdict is inserted, the later ones update it within the same transaction; a verdict on the
    same text with a new model version relabels as `rejudged`."""
    original = make_flag(comment=make_comment(text=RUDE), labels=[Label.HOSTILE], occurred_at=T0)
    first_edit = verdict(original, WORSE, 3, labels=[Label.URGENT], severity=Severity.CRITICAL)
    rejudged = verdict(
        original, WORSE, 4, labels=[Label.URGENT], severity=Severity.CRITICAL, model_version="test-3"
    )
    config = settings(database_url, consumer_enabled=True)
    app = create_app(config, BrokerProfile(fresh_broker.bootstrap_servers, embedded=True))
    key = original.comment_key
    async with running(app) as client:
        await produce(
            fresh_broker.bootstrap_servers,
            FLAGS.name,
            [(key.encode(), encode(e)) for e in (original, first_edit, rejudged)],
        )

        await all_committed(
            fresh_broker.bootstrap_servers,
            config.consumer_group,
            FLAGS,
            3,
            "the API consumer to commit the batch",
        )
        trail = await audit_of(client, str(original.event_id))
    reasons = [e["detail"]["reason"] for e in trail if e["action"] == "flag.relabelled"]
    assert reasons == ["rejudged", "comment_edited"]  # newest first
    with app.state.sessionmaker() as db:
        flag = db.get(Flag, str(original.event_id))
    assert flag is not None and (flag.labels, flag.model_version, flag.text) == (["urgent"], "test-3", WORSE)


async def audit_of(client: httpx.AsyncClient, flag_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/audit", params={"flag_id": flag_id}, headers=AUTH)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
