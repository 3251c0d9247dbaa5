"""On-call in the flag's own history, on SQLite and PostgreSQL: escalating an alert to the next person and
acknowledging it are written into the audit trail of every stored flag the alert covers (who, when, which
way), once, and without comment text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_events import ALERTS, FLAGS, AlertKind, AlertRaised, Label, Severity, encode

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import AUTH
from tests.integration.helpers import eventually, produce, urgent_alert
from tests.integration.test_oncall_alerts import Receiver, _json, app_for, running

pytestmark = pytest.mark.integration


async def trail(client: httpx.AsyncClient, flag_id: str) -> list[dict[str, Any]]:
    """The flag's audit events, oldest first (what the flag page shows, newest first)."""
    body = (await client.get("/api/audit", params={"flag_id": flag_id})).json()
    return list(reversed(body["items"]))


async def test_escalation_and_acknowledgement_appear_in_the_flag_history(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    receiver = Receiver()
    comment = make_comment(text="My neighbour says she will jump off the parking garage tonight")
    flag = make_flag(comment=comment, labels=[Label.URGENT], severity=Severity.CRITICAL)
    alert = urgent_alert(comment.comment_key)
    app = app_for(database_url, fresh_broker, receiver)
    flag_id = str(flag.event_id)
    about_the_alert = {"alert_id": str(alert.event_id), "kind": "urgent_comment", "level": 1}

    async with running(app, AUTH) as client:
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(b"k", encode(flag))])
        await eventually(lambda: _json(client, "/api/flags"), 30, "the flag to be stored")
        await produce(fresh_broker.bootstrap_servers, ALERTS.name, [(b"acct", encode(alert))])

        async def escalated() -> list[dict[str, Any]]:
            return [e for e in await trail(client, flag_id) if e["action"] == "alert.escalated"]

        [escalation] = await eventually(escalated, 30, "the escalation in the flag's history")
        assert (escalation["actor"], escalation["role"]) == ("system:oncall", "system")
        assert escalation["detail"] == {**about_the_alert, "person": "bob"}

        acked = await client.post(f"/api/alerts/{alert.event_id}/ack")
        assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
        again = await client.post(f"/api/alerts/{alert.event_id}/ack")
        assert again.status_code == 200
        history = await trail(client, flag_id)

    acks = [e for e in history if e["action"] == "alert.acknowledged"]
    assert len(acks) == 1, "acknowledging twice records it once"
    [ack] = acks
    assert (ack["actor"], ack["role"]) == ("admin", "admin")
    assert ack["detail"] == {**about_the_alert, "via": "api"}
    assert history.index(escalation) < history.index(ack)
    acknowledged_at = datetime.fromisoformat(acked.json()["acknowledged_at"])
    audited_at = datetime.fromisoformat(ack["at"])
    audited_at = audited_at if audited_at.tzinfo else audited_at.replace(tzinfo=UTC)
    assert abs((audited_at - acknowledged_at).total_seconds()) < 5  # when: the moment of acknowledging
    assert "parking garage" not in json.dumps(history)
    [alert_ack] = [e for e in acked.json()["history"] if e["event"] == "acknowledged"]
    assert alert_ack["detail"] == "api"


async def test_acknowledging_a_surge_writes_on_each_stored_flag_it_covers(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    """A surge covers several comments: each stored flag gets the acknowledgement; a comment whose flag has
    not arrived gets nothing (and nothing fails)."""
    flags = [make_flag(labels=[Label.MISINFORMATION]) for _ in range(2)]
    missing_key = make_flag().comment_key
    surge = AlertRaised(
        kind=AlertKind.SURGE,
        platform=flags[0].platform,
        account=flags[0].account,
        label=Label.MISINFORMATION,
        severity=Severity.HIGH,
        count=3,
        window_seconds=900,
        comment_keys=[flags[0].comment_key, flags[1].comment_key, missing_key],
        dedup_key=f"surge:test:{flags[0].event_id}",
    )
    # No roster: stored and logged only, so only the acknowledgement writes on the flags.
    app = app_for(database_url, fresh_broker, Receiver(), channels=[], escalation=[])
    async with running(app, AUTH) as client:
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(b"k", encode(f)) for f in flags])

        async def both_stored() -> bool:
            return len(await _json(client, "/api/flags")) == 2

        await eventually(both_stored, 30, "both flags to be stored")
        await produce(fresh_broker.bootstrap_servers, ALERTS.name, [(b"acct", encode(surge))])

        async def stored() -> list[dict[str, Any]]:
            return [a for a in await _json(client, "/api/alerts") if a["dedup_key"] == surge.dedup_key]

        await eventually(stored, 30, "the surge alert to be stored")
        acked = await client.post(f"/api/alerts/{surge.event_id}/ack")
        assert acked.status_code == 200
        histories = [await trail(client, str(f.event_id)) for f in flags]
        everything = (await client.get("/api/audit", params={"action": "alert.acknowledged"})).json()

    for history in histories:
        [ack] = [e for e in history if e["action"] == "alert.acknowledged"]
        assert ack["detail"]["kind"] == "surge" and ack["detail"]["alert_id"] == str(surge.event_id)
        assert ack["detail"]["via"] == "api" and ack["actor"] == "admin"
    assert everything["total"] == 2  # one per stored flag, none for the missing one
