"""The transactional outbox for `ActionRequested`, on SQLite and PostgreSQL and the real brokers (embedded and
Apache Kafka):
the action row and its outbox entry commit or roll back together; the relay publishes entries in order with
the comment key as the Kafka key; entries left pending by a process that stopped before publishing go out
when the next one starts; and while the broker is down entries stay pending and go out once it is back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from triage_api import outbox
from triage_api.actions import KafkaActionPublisher
from triage_api.flags import platform_actions
from triage_api.flags.models import Flag, FlagAction
from triage_api.outbox import OutboxEntry, with_outbox
from triage_api.staff.models import Role
from triage_api.staff.service import Principal
from triage_bench.kafka_launcher import KafkaCluster
from triage_bus.embedded import EmbeddedBroker, free_port
from triage_bus.profile import BrokerProfile
from triage_events import ACTIONS, ActionKind, ActionRequested, Label, decode

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, make_app, running_desk
from tests.integration.helpers import eventually, read_all
from tests.kafka.fixtures import Bus, bus_profile

pytestmark = pytest.mark.integration

FAST = {"outbox_retry_base_seconds": 0.1, "outbox_retry_max_seconds": 0.5, "outbox_poll_seconds": 0.2}


def hostile(text: str = "You are all useless clowns") -> Any:
    return make_flag(comment=make_comment(text=text), labels=[Label.HOSTILE])


def counts(desk: Desk) -> tuple[int, int]:
    with desk.app.state.sessionmaker() as db:
        actions = db.scalar(select(func.count(FlagAction.id))) or 0
        entries = db.scalar(select(func.count(OutboxEntry.id))) or 0
    return actions, entries


def entries(desk: Desk) -> list[OutboxEntry]:
    with desk.app.state.sessionmaker() as db:
        return list(db.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def our_requests(bootstrap: str, comment_key: str) -> list[ActionRequested]:
    found = []
    for record in await read_all(bootstrap, ACTIONS.name, idle=0.5):
        if record.key == comment_key.encode() and b'"action_requested"' in (record.value or b""):
            found.append(decode(ActionRequested, record.value))
    return found


@contextlib.asynccontextmanager
async def kafka_publisher(bus: Bus | str) -> AsyncIterator[KafkaActionPublisher]:
    """The API's publisher, on a running broker or (a bootstrap address) the embedded one that is not up."""
    profile = bus_profile(bus) if not isinstance(bus, str) else BrokerProfile(bus, embedded=True)
    publisher = KafkaActionPublisher(profile)
    try:
        yield publisher
    finally:
        await publisher.stop()


@contextlib.asynccontextmanager
async def restarted(app: Any, tokens: dict[str, str]) -> AsyncIterator[Desk]:
    """The app started again on a database that already has its staff (the tokens of the first run)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://triage.test") as client:
            yield Desk(app, client, dict(tokens))


MODERATOR = Principal(0, "moderator-user", Role.MODERATOR)


async def test_the_action_row_and_its_outbox_entry_commit_together(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_desk(make_app(database_url)) as desk:
        flag = hostile()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        accounts = desk.app.state.accounts
        factory = desk.app.state.sessionmaker
        hide = with_outbox(
            lambda db: platform_actions.request_action(db, fid, ActionKind.HIDE, MODERATOR, accounts)
        )

        # A failure later in the same transaction takes both back.
        with pytest.raises(RuntimeError, match="after the outbox"), factory() as db, db.begin():
            row, event = hide(db)
            assert event is not None and row.id == str(event.event_id) and entries_in(db) == 1
            raise RuntimeError("after the outbox")
        assert counts(desk) == (0, 0)

        # A failure of the outbox insert itself (a NOT NULL violation in the database) takes the action back.
        with monkeypatch.context() as patch:
            patch.setattr(outbox, "now", lambda: None)
            with pytest.raises(IntegrityError, match=r"(?i)null"), factory() as db, db.begin():
                hide(db)
        assert counts(desk) == (0, 0)
        with factory() as db:
            stored = db.get(Flag, fid)
            assert stored is not None and stored.status == "new" and stored.last_action is None

        # And a success stores both, the entry carrying the encoded event and the comment key.
        with factory() as db, db.begin():
            row, event = hide(db)
        assert counts(desk) == (1, 1)
        [entry] = entries(desk)
        assert event is not None and entry.event_id == row.id == str(event.event_id)
        assert entry.kafka_key == flag.comment_key.encode() and entry.topic == ACTIONS.name
        assert decode(ActionRequested, entry.payload) == event and entry.sent_at is None


def entries_in(db: Any) -> int:
    return int(db.scalar(select(func.count(OutboxEntry.id))) or 0)


async def test_the_relay_publishes_to_the_broker_in_order_with_the_comment_key(
    database_url: str, bus: Bus
) -> None:
    async with (
        kafka_publisher(bus) as publisher,
        running_desk(make_app(database_url, publisher, **FAST)) as desk,  # type: ignore[arg-type]
    ):
        flag = hostile()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        hide = await desk.client.post(f"/api/flags/{fid}/hide", headers=desk.auth("moderator"))
        unhide = await desk.client.post(f"/api/flags/{fid}/unhide", headers=desk.auth("moderator"))
        assert hide.status_code == unhide.status_code == 202
        sent = [e for e in entries(desk) if e.sent_at is not None]
        assert [e.event_id for e in sent] == [hide.json()["id"], unhide.json()["id"]]
        events = await our_requests(bus.bootstrap_servers, flag.comment_key)
        assert [str(e.event_id) for e in events] == [hide.json()["id"], unhide.json()["id"]]
        assert [e.action for e in events] == [ActionKind.HIDE, ActionKind.UNHIDE]
        await asyncio.to_thread(desk.app.state.outbox_relay.refresh_gauges)
        assert metric("triage_api_action_outbox_pending") == 0


async def test_entries_left_pending_by_a_stopped_process_are_published_at_the_next_start(
    database_url: str, bus: Bus
) -> None:
    flag = hostile("Leave pending, then restart")
    # The first process has no bus (its relay never runs): as if it crashed right after the commit.
    async with running_desk(make_app(database_url, **FAST)) as first:
        first.add_flags(flag)
        fid = str(flag.event_id)
        ids = []
        for verb in ("hide", "unhide"):
            r = await first.client.post(f"/api/flags/{fid}/{verb}", headers=first.auth("moderator"))
            assert r.status_code == 202 and r.json()["status"] == "requested"
            ids.append(r.json()["id"])
        assert [(e.event_id, e.sent_at) for e in entries(first)] == [(ids[0], None), (ids[1], None)]
    assert await our_requests(bus.bootstrap_servers, flag.comment_key) == []

    async with kafka_publisher(bus) as publisher:
        app = make_app(database_url, publisher, **FAST)  # type: ignore[arg-type]
        async with restarted(app, first.tokens) as second:

            async def all_sent() -> bool:
                return all(e.sent_at is not None for e in entries(second))

            await eventually(all_sent, 30, "the leftover entries published")
            events = await our_requests(bus.bootstrap_servers, flag.comment_key)
            assert [str(e.event_id) for e in events] == ids
            detail = (await second.client.get(f"/api/flags/{fid}", headers=second.auth("viewer"))).json()
            assert detail["last_action"] == "unhide: requested" and detail["last_action_error"] is None


@pytest.mark.parametrize("kind", ["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def test_while_the_broker_is_down_entries_stay_pending_then_go_out(
    database_url: str, kind: str, tmp_path: Path
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    later: Bus = (
        EmbeddedBroker(port=port) if kind == "embedded" else KafkaCluster(tmp_path / "kafka", port=port)
    )
    failures_before = metric(
        "triage_api_action_outbox_publish_failures_total", {"reason": "KafkaConnectionError"}
    )
    async with kafka_publisher(bootstrap if kind == "embedded" else later) as publisher:
        down_app = make_app(database_url, publisher, outbox_publish_wait_seconds=2.0, **FAST)  # type: ignore[arg-type]
        async with running_desk(down_app) as desk:
            flag = hostile("Broker down for a while")
            desk.add_flags(flag)
            fid = str(flag.event_id)
            r = await desk.client.post(f"/api/flags/{fid}/hide", headers=desk.auth("moderator"))
            assert r.status_code == 202 and r.json()["status"] == "requested"
            [entry] = entries(desk)
            assert entry.sent_at is None and entry.attempts >= 1 and entry.last_error
            detail = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
            assert detail["last_action"] == "hide: queued"
            await asyncio.sleep(1.0)  # the relay keeps trying, with backoff, and keeps the entry
            assert entries(desk)[0].sent_at is None and entries(desk)[0].attempts >= 2
            assert (
                metric("triage_api_action_outbox_publish_failures_total", {"reason": "KafkaConnectionError"})
                > failures_before
            )
            await asyncio.to_thread(desk.app.state.outbox_relay.refresh_gauges)
            assert metric("triage_api_action_outbox_pending") == 1

            broker = later
            await asyncio.to_thread(broker.start)
            try:

                async def sent() -> bool:
                    return entries(desk)[0].sent_at is not None

                await eventually(sent, 45, "the entry published once the broker is back")
                events = await our_requests(bootstrap, flag.comment_key)
                assert [str(e.event_id) for e in events] == [r.json()["id"]]
                detail = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
                assert detail["last_action"] == "hide: requested" and detail["last_action_error"] is None
            finally:
                await asyncio.to_thread(broker.stop)
