"""The actions worker on the embedded broker: an `ActionRequested` on triage.actions.v1 becomes an
`ActionCompleted` (dry-run by default) on the same topic; a bad request goes to the DLQ, and the worker goes on."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    DLQ,
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    DeadLetter,
    Platform,
    decode,
    encode,
)
from triage_ingest.actions.worker import ActionWorker, Executor

from tests.builders import unique
from tests.ingest_support import PAGE_ID, accounts
from tests.integration.helpers import eventually, produce, read_all

pytestmark = pytest.mark.integration


async def test_requested_action_completes_in_dry_run(broker: EmbeddedBroker) -> None:
    request = ActionRequested(
        action=ActionKind.HIDE,
        comment_key=f"facebook:{PAGE_ID}:c-{uuid4().hex}",
        platform=Platform.FACEBOOK,
        account=Account(id=PAGE_ID),
        platform_comment_id="c1",
        requested_by="moderator:jlee",
    )
    bad_key = f"bad-{uuid4().hex}".encode()
    await produce(broker.bootstrap_servers, ACTIONS.name, [(bad_key, b'{"type": "action_requested"}')])
    await produce(broker.bootstrap_servers, ACTIONS.name, [(request.comment_key.encode(), encode(request))])
    worker = ActionWorker(
        BrokerProfile(broker.bootstrap_servers, embedded=True),
        unique("ingest-actions"),
        Executor({}, accounts()),
    )
    task = asyncio.create_task(worker.run())

    async def completion() -> ActionCompleted | None:
        for record in await read_all(broker.bootstrap_servers, ACTIONS.name, idle=0.5):
            if b"action_completed" in (record.value or b""):
                event = decode(ActionCompleted, record.value)
                if event.request_id == request.event_id:
                    return event
        return None

    try:
        completed = await eventually(completion, 60, "ActionCompleted")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert completed.status is ActionStatus.DRY_RUN and completed.comment_key == request.comment_key
    letters = [decode(DeadLetter, r.value) for r in await read_all(broker.bootstrap_servers, DLQ.name)]
    assert any(
        letter.key_b64 and letter.topic == ACTIONS.name and letter.reason == "schema" for letter in letters
    )
