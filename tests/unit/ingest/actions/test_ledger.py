"""The actions ledger: a request delivered again (the API's outbox publishes at least once; a worker that
crashed before committing reads it again) reaches the platform once per `event_id`, across restarts.

Finished: the recorded `ActionCompleted` is published again, byte for byte, without a platform call.
Interrupted after the platform may have acted: a reply or private reply ends `failed` / `outcome_unknown`
(never sent twice); hide, unhide and delete run again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from triage_bus.consume import Sink, handle_records
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    Platform,
    decode,
    encode,
)
from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.ledger import KEEP_S, OUTCOME_UNKNOWN, STARTED, ActionLog, MemoryActionLog
from triage_ingest.actions.worker import ActionWorker, Executor, decode_request, settle
from triage_ingest.main import _state_store
from triage_ingest.polling import cursors
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.quota import DailyQuota

from tests.fakes.accounts import platform_accounts
from tests.fakes.producer import InMemoryProducer
from tests.ingest_support import PAGE_ID, accounts, metric, settings
from tests.unit.ingest.actions.harness import polling

REPLY_TEXT = "Please call our patient relations team at 555 0100."
NON_IDEMPOTENT = [ActionKind.REPLY, ActionKind.PRIVATE_REPLY]
IDEMPOTENT = [ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.DELETE]


class Crash(BaseException):
    """The process dying (a kill, a power cut) at this point: nothing after it runs."""


class FakeFacebook:
    """Counts every call; `crash` makes the process die right after the platform acted; `refuse` answers a
    permanent error."""

    def __init__(self, crash: bool = False, refuse: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.crash = crash
        self.refuse = refuse

    async def execute(self, request: ActionRequested) -> str | None:
        self.calls.append((request.action.value, request.platform_comment_id))
        if self.refuse:
            raise ActionFailed("graph_100", transient=False)
        if self.crash:
            raise Crash
        return "998877665544332_999" if request.action in NON_IDEMPOTENT else None


def executor(platform: FakeFacebook, dry_run: bool = False) -> Executor:
    return Executor({Platform.FACEBOOK: platform}, accounts(), dry_run=dry_run, max_attempts=1)


def request(action: ActionKind = ActionKind.REPLY) -> ActionRequested:
    needs_text = action in NON_IDEMPOTENT
    return ActionRequested(
        event_id=uuid4(),
        action=action,
        comment_key=f"facebook:{PAGE_ID}:c-{uuid4().hex[:8]}",
        platform=Platform.FACEBOOK,
        account=Account(id=PAGE_ID),
        platform_comment_id="c1",
        text=REPLY_TEXT if needs_text else None,
        requested_by="moderator:jlee",
    )


# A ledger and how to "restart" it: memory lives only as long as the process, SQLite is reopened from disk.
Restart = Callable[[], ActionLog]


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[tuple[ActionLog, Restart]]:
    state = tmp_path / "state.sqlite3"
    opened = [CursorStore(state)]

    def restart() -> ActionLog:
        opened[-1].close()
        opened.append(CursorStore(state))
        return opened[-1]

    yield opened[0], restart
    opened[-1].close()


async def crash_after_the_call(
    ledger: ActionLog, action: ActionKind
) -> tuple[ActionRequested, FakeFacebook, FakeFacebook]:
    """A request whose first attempt dies right after the platform acted, that platform, and a healthy one
    for the attempt after the restart."""
    crashing, healthy = FakeFacebook(crash=True), FakeFacebook()
    sent = request(action)
    with pytest.raises(Crash):
        await settle(executor(crashing), ledger, sent)
    return sent, crashing, healthy


def unknown_outcomes(action: ActionKind) -> float:
    """How many `action`s on the page were reported `outcome_unknown`."""
    labels = {"platform": "facebook", "account": PAGE_ID, "action": action.value, "reason": OUTCOME_UNKNOWN}
    return metric("triage_ingest_actions_total", **labels)


def redeliveries(action: ActionKind, outcome: str) -> float:
    return metric(
        "triage_ingest_action_redeliveries_total",
        platform="facebook",
        account=PAGE_ID,
        action=action.value,
        outcome=outcome,
    )


async def test_a_finished_request_redelivered_after_a_restart_is_answered_again_without_a_call(
    sqlite_ledger: tuple[ActionLog, Restart],
) -> None:
    ledger, restart = sqlite_ledger
    platform = FakeFacebook()
    sent = request(ActionKind.REPLY)
    first = await settle(executor(platform), ledger, sent)
    before = redeliveries(ActionKind.REPLY, "answered_again")
    again = await settle(executor(platform), restart(), sent)
    assert again == first  # the same ActionCompleted, event id and time included
    completed = decode(ActionCompleted, again)
    assert (completed.request_id, completed.status) == (sent.event_id, ActionStatus.DONE)
    assert completed.platform_result_id == "998877665544332_999"
    assert platform.calls == [("reply", "c1")]
    assert redeliveries(ActionKind.REPLY, "answered_again") == before + 1


async def test_the_memory_ledger_answers_a_redelivery_within_the_process() -> None:
    ledger, platform = MemoryActionLog(), FakeFacebook()
    sent = request(ActionKind.PRIVATE_REPLY)
    first = await settle(executor(platform), ledger, sent)
    assert await settle(executor(platform), ledger, sent) == first
    assert platform.calls == [("private_reply", "c1")]
    record = ledger.action_record(str(sent.event_id))
    assert record is not None and (record.state, record.attempts) == ("done", 1)


@pytest.mark.parametrize("action", NON_IDEMPOTENT)
async def test_a_reply_interrupted_after_the_platform_call_is_not_repeated(
    sqlite_ledger: tuple[ActionLog, Restart], action: ActionKind
) -> None:
    ledger, restart = sqlite_ledger
    sent, crashing, healthy = await crash_after_the_call(ledger, action)
    record = ledger.action_record(str(sent.event_id))
    assert record is not None and record.state == STARTED and record.completion is None
    counted = unknown_outcomes(action)
    unknown = redeliveries(action, OUTCOME_UNKNOWN)
    ledger = restart()
    answer = await settle(executor(healthy), ledger, sent)
    completed = decode(ActionCompleted, answer)
    assert (completed.status, completed.error) == (ActionStatus.FAILED, OUTCOME_UNKNOWN)
    assert (completed.request_id, completed.action) == (sent.event_id, action)
    assert crashing.calls == [(action.value, "c1")] and healthy.calls == []
    assert redeliveries(action, OUTCOME_UNKNOWN) == unknown + 1
    assert unknown_outcomes(action) == counted + 1
    # Recorded: a third delivery gets the same answer, still without a call.
    assert await settle(executor(healthy), restart(), sent) == answer
    assert healthy.calls == []


@pytest.mark.parametrize("action", IDEMPOTENT)
async def test_an_interrupted_hide_unhide_or_delete_is_retried(
    sqlite_ledger: tuple[ActionLog, Restart], action: ActionKind
) -> None:
    ledger, restart = sqlite_ledger
    sent, crashing, healthy = await crash_after_the_call(ledger, action)
    retried = redeliveries(action, "retried")
    ledger = restart()
    completed = decode(ActionCompleted, await settle(executor(healthy), ledger, sent))
    assert (completed.status, completed.error) == (ActionStatus.DONE, None)
    assert crashing.calls == healthy.calls == [(action.value, "c1")]
    record = ledger.action_record(str(sent.event_id))
    assert record is not None and (record.state, record.attempts) == ("done", 2)
    assert redeliveries(action, "retried") == retried + 1


async def test_an_interrupted_dry_run_called_nothing_and_runs_again() -> None:
    ledger, platform = MemoryActionLog(), FakeFacebook()
    sent = request(ActionKind.REPLY)
    ledger.action_started(str(sent.event_id), sent.action.value, dry_run=True)  # then the process died
    completed = decode(ActionCompleted, await settle(executor(platform), ledger, sent))
    assert completed.status is ActionStatus.DONE and platform.calls == [("reply", "c1")]


async def test_a_failure_is_reported_again_not_retried(sqlite_ledger: tuple[ActionLog, Restart]) -> None:
    ledger, restart = sqlite_ledger
    refusing = FakeFacebook(refuse=True)
    sent = request(ActionKind.HIDE)
    first = await settle(executor(refusing), ledger, sent)
    assert decode(ActionCompleted, first).error == "graph_100"
    assert await settle(executor(FakeFacebook()), restart(), sent) == first
    assert refusing.calls == [("hide", "c1")]


async def test_the_worker_publishes_the_recorded_answer_for_a_duplicate() -> None:
    platform, producer = FakeFacebook(), InMemoryProducer()
    worker = ActionWorker(BrokerProfile("127.0.0.1:1", embedded=True), "g", executor(platform))
    sent = request(ActionKind.REPLY)
    for offset in (0, 1):  # the outbox published the row twice
        await deliver(worker, producer, sent, offset)
    published = producer.sent[ACTIONS.name]
    assert len(published) == 2 and published[0] == published[1]
    assert published[0][0] == sent.comment_key.encode()
    assert platform.calls == [("reply", "c1")]


@dataclass(frozen=True)
class DeliveredRecord:
    value: bytes
    key: bytes
    offset: int
    topic: str = ACTIONS.name
    partition: int = 0


async def deliver(
    worker: ActionWorker, producer: InMemoryProducer, sent: ActionRequested, offset: int
) -> None:
    """One delivery of `sent` to the worker, as its consumer hands it over."""
    record = DeliveredRecord(encode(sent), sent.comment_key.encode(), offset)
    await handle_records([record], decode_request, worker.handle, Sink(producer, "ingest"))


class FailingToRecord(MemoryActionLog):
    """The process dies after the platform answered and before the outcome is on disk."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = True

    def action_finished(self, event_id: str, *args: Any) -> None:
        if self.broken:
            raise Crash
        super().action_finished(event_id, *args)


async def test_a_crash_before_the_outcome_is_recorded_publishes_nothing_and_is_not_repeated() -> None:
    platform, producer, ledger = FakeFacebook(), InMemoryProducer(), FailingToRecord()
    worker = ActionWorker(BrokerProfile("127.0.0.1:1", embedded=True), "g", executor(platform), ledger)
    sent = request(ActionKind.REPLY)
    with pytest.raises(Crash):
        await deliver(worker, producer, sent, 0)
    assert producer.sent == {}  # nothing acknowledged: the offset is not committed, the request comes back
    ledger.broken = False
    await deliver(worker, producer, sent, 0)
    [(_key, value)] = producer.sent[ACTIONS.name]
    assert decode(ActionCompleted, value).error == OUTCOME_UNKNOWN
    assert platform.calls == [("reply", "c1")]


async def test_nothing_logged_carries_the_reply_text(
    sqlite_ledger: tuple[ActionLog, Restart], caplog: pytest.LogCaptureFixture
) -> None:
    ledger, restart = sqlite_ledger
    caplog.set_level(logging.DEBUG)
    done, interrupted = request(ActionKind.REPLY), request(ActionKind.PRIVATE_REPLY)
    await settle(executor(FakeFacebook()), ledger, done)
    with pytest.raises(Crash):
        await settle(executor(FakeFacebook(crash=True)), ledger, interrupted)
    ledger = restart()
    await settle(executor(FakeFacebook()), ledger, done)
    await settle(executor(FakeFacebook()), ledger, interrupted)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("triage_ingest")]
    assert any("redelivered" in m for m in messages) and any("not repeated" in m for m in messages)
    assert not any("patient relations" in m for m in messages)


def test_the_ledger_shares_the_state_file_with_cursors_and_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.sqlite3"
    store = CursorStore(state)
    store.put("x", "1500", {"since_id": "42"})
    DailyQuota(100, "youtube", store).spend(30)
    now = [1_700_000_000.0]
    monkeypatch.setattr(cursors.time, "time", lambda: now[0])
    store.action_started("old", "hide", dry_run=False)
    store.action_finished("old", "done", None, None, b"{}")
    now[0] += KEEP_S + 1
    store.action_started("new", "reply", dry_run=False)  # an attempt drops rows past their keep time
    store.close()
    reopened = CursorStore(state)
    assert reopened.get("x", "1500") == {"since_id": "42"}
    assert DailyQuota(100, "youtube", reopened).remaining() == 70
    assert reopened.action_record("old") is None
    record = reopened.action_record("new")
    assert record is not None and (record.state, record.action, record.dry_run) == (STARTED, "reply", False)
    reopened.close()


def test_the_memory_ledger_is_bounded() -> None:
    ledger = MemoryActionLog(capacity=2)
    for event_id in ("a", "b", "c"):
        ledger.action_started(event_id, "hide", dry_run=False)
    assert ledger.action_record("a") is None
    assert ledger.action_record("c") is not None


async def test_live_actions_keep_their_ledger_on_disk_even_without_a_configured_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIAGE_INGEST_POLL_STATE_FILE", raising=False)
    async with httpx.AsyncClient() as http:
        pollers = polling(settings(poll_enabled=False), platform_accounts(), http)
    # Dry run: nothing is sent, nothing is written where nobody asked.
    assert _state_store(settings(poll_enabled=False), pollers) is None
    assert not (tmp_path / ".triage").exists()
    live = _state_store(settings(poll_enabled=False, actions_dry_run=False), pollers)
    assert isinstance(live, CursorStore) and live.path == Path(".triage/ingest-poll.sqlite3")
    assert (tmp_path / ".triage" / "ingest-poll.sqlite3").exists()
    live.close()
