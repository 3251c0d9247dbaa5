"""The API's on-call path against a real broker and real databases: alerts stored once per dedup key,
paged with retries, escalated when nobody acknowledges, acknowledged through the API, and counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select
from triage_api.config import ApiSettings
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.main import create_app
from triage_api.oncall.config import OncallSettings
from triage_api.oncall.models import Alert, AlertEvent
from triage_api.oncall.service import store_alerts
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import (
    ALERTS,
    DLQ,
    FLAGS,
    DeadLetter,
    Label,
    Severity,
    decode,
    encode,
)

from tests.builders import make_comment, make_flag, unique
from tests.integration.desk_support import AUTH, TOKEN, running
from tests.integration.helpers import eventually, produce, read_all, urgent_alert

pytestmark = pytest.mark.integration


class Receiver:
    """Stands in for PagerDuty and a webhook: records what arrives, answers with scripted statuses."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._failures = failures

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self._failures:
            self._failures -= 1
            return httpx.Response(503)
        self.requests.append((request.url.host, json.loads(request.content)))
        return httpx.Response(202, json={"status": "success"})

    def to(self, host: str) -> list[dict[str, Any]]:
        return [body for h, body in self.requests if h == host]


def oncall(**overrides: Any) -> OncallSettings:
    fields: dict[str, Any] = {
        "public_url": "https://triage.example",
        "channels": [
            {
                "name": "pager",
                "type": "pagerduty",
                "routing_key": "rk-123",
                "url": "https://pd.test/v2/enqueue",
            },
            {"name": "hook", "type": "webhook", "url": "https://hook.test/triage", "secret": "s"},
        ],
        "escalation": [
            {"name": "alice", "channels": ["pager", "hook"]},
            {"name": "bob", "channels": ["hook"]},
        ],
        "ack_timeout_s": 1.0,
        "poll_interval_s": 0.1,
        "retry_base_delay_s": 0.01,
    }
    return OncallSettings(**{**fields, **overrides})


def app_for(
    database_url: str, broker: EmbeddedBroker, receiver: Receiver, **oncall_overrides: Any
) -> FastAPI:
    settings = ApiSettings(
        database_url=database_url,
        consumer_group=unique("oncall-test"),
        bootstrap_admin_token=TOKEN,
        consumer_enabled=True,
    )
    return create_app(
        settings,
        BrokerProfile(broker.bootstrap_servers, embedded=True),
        oncall(**oncall_overrides),
        httpx.MockTransport(receiver),
    )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_alert_pages_once_escalates_and_stops_when_acknowledged(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    receiver = Receiver(failures=1)  # the first attempt fails: the retry delivers
    comment = make_comment(text="My dad collapsed in your lobby and is not breathing")
    flag = make_flag(comment=comment, labels=[Label.URGENT], severity=Severity.CRITICAL)
    alert = urgent_alert(comment.comment_key)
    duplicate = alert.model_copy(update={"event_id": make_flag().event_id})  # same dedup key, new event
    sent_before = metric("triage_api_notifications_total", channel="pagerduty", outcome="sent")
    app = app_for(database_url, fresh_broker, receiver)

    async with running(app, AUTH) as client:
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(b"k", encode(flag))])
        await eventually(
            lambda: _json(client, "/api/flags"), 30, "the flag to be stored"
        )  # so the page can link to it
        await produce(
            fresh_broker.bootstrap_servers,
            ALERTS.name,
            [(b"acct", encode(alert)), (b"acct", b"not json"), (b"acct", encode(duplicate))],
        )

        async def paged_bob() -> list[dict[str, Any]]:
            return [b for b in receiver.to("hook.test") if b["person"] == "bob"]

        await eventually(paged_bob, 30, "escalation to the second person")
        [stored] = await _json(client, "/api/alerts")
        acked = (await client.post(f"/api/alerts/{stored['id']}/ack")).json()
        assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "admin"
        again = await client.post(f"/api/alerts/{stored['id']}/ack")
        assert again.status_code == 200 and again.json()["acknowledged_at"] == acked["acknowledged_at"]

        async def ack_sent() -> list[dict[str, Any]]:
            return [b for b in receiver.to("pd.test") if b["event_action"] == "acknowledge"]

        await eventually(ack_sent, 10, "the acknowledgement to reach PagerDuty")
        history = (await client.get(f"/api/alerts/{stored['id']}")).json()["history"]
        metrics_text = (await client.get("/metrics")).text

    [trigger] = [b for b in receiver.to("pd.test") if b["event_action"] == "trigger"]
    assert trigger["dedup_key"] == alert.dedup_key
    assert trigger["routing_key"] == "rk-123"
    assert trigger["payload"]["severity"] == "critical"
    assert {"href": f"https://triage.example/flags/{flag.event_id}", "text": "Open the flag"} in trigger[
        "links"
    ]
    assert "breathing" not in json.dumps(receiver.requests)  # links, never the comment text
    assert [b["person"] for b in receiver.to("hook.test") if b["action"] == "trigger"] == ["alice", "bob"]

    events = [(e["event"], e["person"], e["channel"]) for e in history]
    assert events[0] == ("raised", None, None)
    assert ("paged", "alice", "pager") in events and ("paged", "alice", "hook") in events
    assert ("escalated", "bob", None) in events and ("paged", "bob", "hook") in events
    assert ("acknowledged", "admin", None) in events
    assert stored["dedup_key"] == alert.dedup_key and stored["comment_keys"] == [comment.comment_key]

    letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_broker.bootstrap_servers, DLQ.name)]
    assert [(d.topic, d.reason) for d in letters] == [(ALERTS.name, "not_json")]
    assert metric("triage_api_notifications_total", channel="pagerduty", outcome="sent") >= sent_before + 2
    assert metric("triage_api_notifications_total", channel="pagerduty", outcome="retried") >= 1
    assert "triage_api_alerts_duplicate_total" in metrics_text
    assert 'triage_api_flags_stored_total{label="urgent",severity="critical"}' in metrics_text


async def test_without_channels_alerts_are_stored_and_logged_only(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    receiver = Receiver()
    app = app_for(database_url, fresh_broker, receiver, channels=[], escalation=[])
    raised = [urgent_alert(f"demo:a:{i}") for i in range(3)]
    async with running(app, AUTH) as client:
        await produce(fresh_broker.bootstrap_servers, ALERTS.name, [(b"a", encode(a)) for a in raised])

        async def logged() -> list[dict[str, Any]] | None:
            alerts = await _json(client, "/api/alerts")
            done = [a for a in alerts if any(e["event"] == "logged" for e in a["history"])]
            return done if len(done) == len(raised) else None

        alerts = await eventually(logged, 30, "every alert to be logged")
        assert {a["dedup_key"] for a in alerts} == {a.dedup_key for a in raised}
        for alert in alerts:  # logged once, left open for a moderator, nothing more due
            assert alert["status"] == "open"
            assert [e["event"] for e in alert["history"]].count("logged") == 1

        async def ready() -> bool:  # every consumer joins its group in its own time on a busy machine
            return (await client.get("/readyz")).status_code == 200

        await eventually(ready, 30, "the API to be ready without channels")
    assert receiver.requests == []


async def test_acknowledging_needs_a_moderator(database_url: str, fresh_broker: EmbeddedBroker) -> None:
    app = app_for(database_url, fresh_broker, Receiver())
    async with running(app, AUTH) as client:
        response = await client.post("/api/alerts/nope/ack", headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401
        assert (await client.post("/api/alerts/nope/ack")).status_code == 404


async def _json(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"] if isinstance(body, dict) and "items" in body else body


def test_store_alerts_inserts_each_dedup_key_once_in_one_statement(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    first, second = urgent_alert(unique("fb:c")), urgent_alert(unique("fb:c"))
    twin = first.model_copy(update={"event_id": make_flag().event_id})  # same dedup key, another event
    try:
        with factory() as db, db.begin():
            stored = store_alerts(db, [first, twin, first, second], now)
        assert [a.event_id for a in stored] == [first.event_id, second.event_id]
        with factory() as db, db.begin():  # redelivered later: nothing new
            assert store_alerts(db, [second, twin], now) == []
        with factory() as db:
            rows = {a.dedup_key: a for a in db.scalars(select(Alert)).all()}
            events = db.scalars(select(AlertEvent)).all()
        assert set(rows) == {first.dedup_key, second.dedup_key}
        assert rows[first.dedup_key].id == str(first.event_id)
        assert rows[first.dedup_key].comment_keys == first.comment_keys
        assert rows[first.dedup_key].level == -1 and rows[first.dedup_key].status == "open"
        assert sorted((e.alert_id, e.event) for e in events) == sorted(
            [(str(first.event_id), "raised"), (str(second.event_id), "raised")]
        )
    finally:
        engine.dispose()
