"""Actions end to end on the embedded broker: a reply sent from the API becomes `ActionRequested`, the real
ingest actions worker executes it in dry-run and answers `ActionCompleted`, and the flag shows the result.
A failed result shows its error; a re-delivered result changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    FLAGS,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    Label,
    decode,
    encode,
)
from triage_ingest.actions.worker import ActionWorker, Executor

from tests.builders import make_comment, make_flag, unique
from tests.ingest_support import accounts
from tests.integration.desk_support import Desk, running_desk
from tests.integration.helpers import eventually, produce, read_all

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def ingest_worker(broker: EmbeddedBroker) -> AsyncIterator[None]:
    worker = ActionWorker(
        BrokerProfile(broker.bootstrap_servers, embedded=True),
        unique("ingest-actions"),
        Executor({}, accounts()),
    )
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def live_app(database_url: str, broker: EmbeddedBroker) -> Any:
    from triage_api.main import create_app

    from tests.integration.desk_support import desk_settings

    return create_app(
        desk_settings(database_url, consumer_enabled=True),
        BrokerProfile(broker.bootstrap_servers, embedded=True),
    )


async def flag_detail(desk: Desk, flag_id: str) -> dict[str, Any] | None:
    r = await desk.client.get(f"/api/flags/{flag_id}", headers=desk.auth("viewer"))
    return r.json() if r.status_code == 200 else None


async def test_a_reply_goes_out_and_its_result_shows_on_the_flag(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    async with running_desk(live_app(database_url, fresh_broker)) as desk, ingest_worker(fresh_broker):
        flag = make_flag(comment=make_comment(text="You are all useless clowns"), labels=[Label.HOSTILE])
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(flag.comment_key.encode(), encode(flag))])
        fid = str(flag.event_id)
        await eventually(lambda: flag_detail(desk, fid), 60, "the flag stored")

        r = await desk.client.post(
            f"/api/flags/{fid}/reply", json={"template_id": "hostile.public"}, headers=desk.auth("moderator")
        )
        assert r.status_code == 202, r.text
        action_id = r.json()["id"]

        async def replied() -> dict[str, Any] | None:
            detail = await flag_detail(desk, fid)
            return detail if detail and detail["status"] == "replied" else None

        detail = await eventually(replied, 90, "the flag marked replied")
        assert detail["last_action"] == "reply: done (dry run)" and detail["last_action_error"] is None

        requests = [
            decode(ActionRequested, r.value)
            for r in await read_all(fresh_broker.bootstrap_servers, ACTIONS.name, idle=0.5)
            if b"action_requested" in (r.value or b"")
        ]
        [request] = [q for q in requests if str(q.event_id) == action_id]
        assert request.comment_key == flag.comment_key and request.requested_by == "moderator-user"
        actions = (await desk.client.get(f"/api/flags/{fid}/actions", headers=desk.auth("viewer"))).json()
        assert [(a["action"], a["status"]) for a in actions] == [("reply", "dry_run")]
        audit = (
            await desk.client.get("/api/audit", params={"flag_id": fid}, headers=desk.auth("viewer"))
        ).json()
        assert [(e["actor"], e["action"]) for e in reversed(audit["items"])] == [
            ("system:router", "flag.routed"),
            ("moderator-user", "action.requested"),
            ("system:ingest", "action.dry_run"),
        ]


async def test_a_failed_action_shows_its_error_and_duplicates_change_nothing(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    async with running_desk(live_app(database_url, fresh_broker)) as desk:
        flag = make_flag(comment=make_comment(text="Buy cheap pills at scam.example"), labels=[Label.SPAM])
        await produce(fresh_broker.bootstrap_servers, FLAGS.name, [(flag.comment_key.encode(), encode(flag))])
        fid = str(flag.event_id)
        await eventually(lambda: flag_detail(desk, fid), 60, "the flag stored")
        r = await desk.client.post(f"/api/flags/{fid}/hide", headers=desk.auth("moderator"))
        assert r.status_code == 202
        failed = ActionCompleted(
            request_id=r.json()["id"],
            action=ActionKind.HIDE,
            comment_key=flag.comment_key,
            status=ActionStatus.FAILED,
            error="permission_denied",
        )
        key = flag.comment_key.encode()
        await produce(
            fresh_broker.bootstrap_servers, ACTIONS.name, [(key, encode(failed)), (key, encode(failed))]
        )

        async def errored() -> dict[str, Any] | None:
            detail = await flag_detail(desk, fid)
            return detail if detail and detail["last_action_error"] else None

        detail = await eventually(errored, 60, "the error on the flag")
        assert detail["last_action_error"] == "permission_denied" and detail["status"] == "in_review"
        await asyncio.sleep(1.5)  # let the duplicate arrive
        audit = (
            await desk.client.get("/api/audit", params={"flag_id": fid}, headers=desk.auth("viewer"))
        ).json()
        assert [e["action"] for e in reversed(audit["items"])] == [
            "flag.routed",
            "action.requested",
            "action.failed",
        ]
