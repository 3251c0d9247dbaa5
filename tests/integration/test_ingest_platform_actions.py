"""X, YouTube and Reddit actions end to end on the embedded broker: an `ActionRequested` on
triage.actions.v1 is executed by the actions worker (clients built by the composition root) against a fake
platform server over real HTTP, and its `ActionCompleted` lands on the same topic. Instagram mentions: a
signed delivery naming only ids is fetched from a fake Graph API and published to triage.comments.v1, or
dead-lettered to triage.dlq.v1 when the fetch fails."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    COMMENTS,
    DLQ,
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    CommentKind,
    CommentReceived,
    DeadLetter,
    Platform,
    decode,
    encode,
)
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.actions.worker import ActionWorker, Executor
from triage_ingest.main import _action_clients, create_app
from triage_ingest.polling.cursors import CursorStore

from tests.builders import unique
from tests.fakes.accounts import REDDIT_USER, X_ACCOUNT, YT_CHANNEL, platform_accounts
from tests.fakes.meta import FakeGraphMentions
from tests.fakes.recorder import serve, served
from tests.fakes.reddit import FakeRedditActions
from tests.fakes.x import FakeXActions
from tests.fakes.youtube import FakeYouTubeActions
from tests.ingest_support import IG_USER_ID, body, ig_delivery, meta_signature, settings
from tests.integration.helpers import committed_total, eventually, produce, read_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[Platform, Any]]:
    x, youtube, reddit = FakeXActions(), FakeYouTubeActions(), FakeRedditActions()
    with serve(x), serve(youtube), serve(reddit):
        yield {Platform.X: x, Platform.YOUTUBE: youtube, Platform.REDDIT: reddit}


def live(fakes: dict[Platform, Any], **overrides: Any) -> Any:
    """Ingest's settings with live actions against the platform fakes."""
    x, youtube, reddit = fakes[Platform.X], fakes[Platform.YOUTUBE], fakes[Platform.REDDIT]
    return settings(
        actions_dry_run=False,
        x_api_url=x.base_url,
        youtube_api_url=f"{youtube.base_url}/youtube/v3",
        google_token_url=f"{youtube.base_url}/token",
        reddit_api_url=reddit.base_url,
        reddit_auth_url=f"{reddit.base_url}/api/v1/access_token",
        **overrides,
    )


async def complete(
    broker: EmbeddedBroker, fakes: dict[Platform, Any], *requests: ActionRequested
) -> list[ActionCompleted]:
    """Put the requests on the topic and run the real worker until each one's completion is on the topic."""
    configured = live(fakes)
    accounts = platform_accounts()
    messages: list[tuple[bytes | None, bytes | None]] = [
        (r.comment_key.encode(), encode(r)) for r in requests
    ]
    await produce(broker.bootstrap_servers, ACTIONS.name, messages)
    async with httpx.AsyncClient(timeout=5) as http:
        executor = Executor(_action_clients(configured, accounts, http), accounts, dry_run=False)
        worker = ActionWorker(
            BrokerProfile(broker.bootstrap_servers, embedded=True), unique("actions"), executor
        )
        task = asyncio.create_task(worker.run())

        async def completions() -> list[ActionCompleted] | None:
            found: dict[Any, ActionCompleted] = {}
            for record in await read_all(broker.bootstrap_servers, ACTIONS.name, idle=0.5):
                if b"action_completed" in (record.value or b""):
                    event = decode(ActionCompleted, record.value)
                    found[event.request_id] = event
            if all(r.event_id in found for r in requests):
                return [found[r.event_id] for r in requests]
            return None

        try:
            return await eventually(completions, 60, "ActionCompleted for every request")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def action(
    platform: Platform, account: str, kind: ActionKind, comment_id: str, text: str | None = None
) -> ActionRequested:
    return ActionRequested(
        action=kind,
        comment_key=f"{platform.value}:{account}:{comment_id}",
        platform=platform,
        account=Account(id=account),
        platform_comment_id=comment_id,
        text=text,
        requested_by="moderator:jlee",
    )


async def test_x_reply_through_the_worker(fresh_broker: EmbeddedBroker, fakes: dict[Platform, Any]) -> None:
    post, request = x_reply()
    [completed] = await complete(fresh_broker, fakes, request)
    assert (completed.status, completed.platform_result_id) == (ActionStatus.DONE, "1880000000000000001")
    assert completed.comment_key == request.comment_key
    [call] = [
        c
        for c in fakes[Platform.X].calls
        if c.json and c.json.get("reply", {}).get("in_reply_to_tweet_id") == post
    ]
    assert call.method == "POST" and call.path == "/2/tweets"


async def test_youtube_delete_of_someone_elses_comment_rejects_it(
    fresh_broker: EmbeddedBroker, fakes: dict[Platform, Any]
) -> None:
    comment = f"Ugz{uuid4().hex[:12]}"
    [completed] = await complete(
        fresh_broker, fakes, action(Platform.YOUTUBE, YT_CHANNEL, ActionKind.DELETE, comment)
    )
    assert completed.status is ActionStatus.DONE
    moderated = [c for c in fakes[Platform.YOUTUBE].calls if c.query.get("id") == comment]
    assert [(c.method, c.query.get("moderationStatus")) for c in moderated] == [
        ("GET", None),
        ("POST", "rejected"),
    ]


async def test_reddit_hide_through_the_worker_and_a_refusal_reported(
    fresh_broker: EmbeddedBroker, fakes: dict[Platform, Any]
) -> None:
    reddit: FakeRedditActions = fakes[Platform.REDDIT]
    reddit.unmoderated.add("t1_nomod1")
    refused, done = await complete(
        fresh_broker,
        fakes,
        action(Platform.REDDIT, REDDIT_USER, ActionKind.HIDE, "t1_nomod1"),
        action(Platform.REDDIT, REDDIT_USER, ActionKind.HIDE, "t1_mod2"),
    )
    assert (refused.status, refused.error) == (ActionStatus.FAILED, "not_moderator")
    assert done.status is ActionStatus.DONE
    removals = [c.form for c in reddit.calls if c.path == "/api/remove"]
    assert {"id": "t1_nomod1", "spam": "false"} in removals and {"id": "t1_mod2", "spam": "false"} in removals


@pytest.fixture
def graph() -> Iterator[FakeGraphMentions]:
    yield from served(FakeGraphMentions())


async def test_instagram_mention_is_fetched_and_published_or_dead_lettered(
    broker: EmbeddedBroker, graph: FakeGraphMentions
) -> None:
    token = {"IG_TOKEN": "ig-token"}
    config = AccountConfig(platform="instagram", id=IG_USER_ID, credentials={"access_token": "IG_TOKEN"})
    app = create_app(
        settings(graph_api_url=f"{graph.base_url}/v23.0"),
        BrokerProfile(broker.bootstrap_servers, embedded=True),
        Accounts([config], token.get),
    )
    fetched, failing = (
        str(17999000000000000 + uuid4().int % 10**9),
        str(17998000000000000 + uuid4().int % 10**9),
    )
    good = body(
        ig_delivery({"field": "mentions", "value": {"media_id": "17918195224117851", "comment_id": fetched}})
    )
    bad = body(
        ig_delivery({"field": "mentions", "value": {"media_id": "17918195224117851", "comment_id": failing}})
    )
    not_supported = {
        "error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client,
    ):
        ok = await client.post(
            "/webhooks/meta", content=good, headers={"X-Hub-Signature-256": meta_signature(good)}
        )
        graph.queue(IG_USER_ID, 400, not_supported)
        dead = await client.post(
            "/webhooks/meta", content=bad, headers={"X-Hub-Signature-256": meta_signature(bad)}
        )
    assert ok.status_code == 200 and ok.json() == {"received": 1}
    assert dead.status_code == 200 and dead.json() == {"received": 0}
    # Published (or dead-lettered) before the 200: both are on their topics as soon as the answers are.
    comments = [
        decode(CommentReceived, r.value) for r in await read_all(broker.bootstrap_servers, COMMENTS.name)
    ]
    [event] = [c for c in comments if c.comment.platform_comment_id == fetched]
    assert event.comment.kind is CommentKind.MENTION and event.platform is Platform.INSTAGRAM
    assert event.kafka_key == event.comment_key.encode()
    assert not any(c.comment.platform_comment_id == failing for c in comments)
    letters = [decode(DeadLetter, r.value) for r in await read_all(broker.bootstrap_servers, DLQ.name)]
    [letter] = [
        d
        for d in letters
        if d.reason == "mention_fetch_failed"
        and d.value_b64
        and failing.encode() in base64.b64decode(d.value_b64)
    ]
    assert letter.topic == "webhook:meta" and letter.error.endswith("graph_100")


# --- Effectively once per request id across restarts (the actions ledger) --------------------------------


async def answers(bootstrap: str, request: ActionRequested) -> list[bytes]:
    """Every `ActionCompleted` for `request` on the topic, as published."""
    return [
        record.value
        for record in await read_all(bootstrap, ACTIONS.name, idle=0.5)
        if record.value
        and b"action_completed" in record.value
        and decode(ActionCompleted, record.value).request_id == request.event_id
    ]


def x_calls(fakes: dict[Platform, Any], method: str, post: str) -> list[Any]:
    return [
        c
        for c in fakes[Platform.X].calls
        if c.method == method
        and (
            post in c.path
            or (
                c.json
                and isinstance(c.json.get("reply"), dict)
                and c.json["reply"].get("in_reply_to_tweet_id") == post
            )
        )
    ]


def x_reply() -> tuple[str, ActionRequested]:
    """A post of this test's own on X, and a request to reply to it."""
    post = str(1876543210987654321 + uuid4().int % 1000)
    return post, action(
        Platform.X, X_ACCOUNT, ActionKind.REPLY, post, "Please call our patient relations team."
    )


async def test_a_request_published_twice_across_a_restart_replies_once(
    fresh_broker: EmbeddedBroker, fakes: dict[Platform, Any], tmp_path: Path
) -> None:
    bootstrap = fresh_broker.bootstrap_servers
    profile = BrokerProfile(bootstrap, embedded=True)
    post, request = x_reply()
    message: list[tuple[bytes | None, bytes | None]] = [(request.comment_key.encode(), encode(request))]
    group = unique("ingest-actions")
    # The real service (composition root): its actions ledger is the configured state file.
    configured = live(
        fakes,
        actions_enabled=True,
        actions_group_id=group,
        poll_enabled=False,
        poll_state_file=tmp_path / "ingest.sqlite3",
    )
    await produce(bootstrap, ACTIONS.name, message)
    app = create_app(configured, profile, platform_accounts())
    async with app.router.lifespan_context(app):
        await eventually(lambda: answers(bootstrap, request), 60, "the first ActionCompleted")
        # The request's offset is committed (the completion was acknowledged first).
        await eventually(
            lambda: committed_total(bootstrap, group, ACTIONS.name, ACTIONS.partitions), 30, "a commit"
        )
    # Ingest stopped; the API's outbox publishes the same row again (it crashed before marking it sent).
    await produce(bootstrap, ACTIONS.name, message)
    app = create_app(configured, profile, platform_accounts())
    async with app.router.lifespan_context(app):

        async def two() -> list[bytes] | None:
            found = await answers(bootstrap, request)
            return found if len(found) >= 2 else None

        first, second = await eventually(two, 60, "the second ActionCompleted")
    assert first == second  # identical: the API applies it once per request id
    completed = decode(ActionCompleted, first)
    assert (completed.status, completed.platform_result_id) == (ActionStatus.DONE, "1880000000000000001")
    assert len(x_calls(fakes, "POST", post)) == 1  # one public reply
    assert len(await answers(bootstrap, request)) == 2


class DiesAfterCalling:
    """The platform client of a process that dies right after the platform acted, before the outcome is
    recorded: the call goes out, then the task hangs until it is cancelled (the kill)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.called = asyncio.Event()

    async def execute(self, request: ActionRequested) -> str | None:
        await self.inner.execute(request)
        self.called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_crash_after_the_platform_call_ends_a_reply_as_outcome_unknown_and_retries_a_hide(
    fresh_broker: EmbeddedBroker, fakes: dict[Platform, Any], tmp_path: Path
) -> None:
    bootstrap = fresh_broker.bootstrap_servers
    profile = BrokerProfile(bootstrap, embedded=True)
    post, reply = x_reply()
    hide = action(Platform.X, X_ACCOUNT, ActionKind.HIDE, post)  # same comment key: same partition, in order
    await produce(bootstrap, ACTIONS.name, [(r.comment_key.encode(), encode(r)) for r in (reply, hide)])
    group, state = unique("ingest-actions"), tmp_path / "ingest.sqlite3"
    accounts = platform_accounts()

    async def run_worker(dies: bool) -> tuple[asyncio.Task[None], DiesAfterCalling | None]:
        clients = _action_clients(live(fakes), accounts, http)
        wrapper = DiesAfterCalling(clients[Platform.X]) if dies else None
        if wrapper is not None:
            clients[Platform.X] = wrapper
        executor = Executor(clients, accounts, dry_run=False, max_attempts=1)
        ledger = CursorStore(state)  # reopened from disk by every "process"
        stores.append(ledger)
        return asyncio.create_task(ActionWorker(profile, group, executor, ledger).run()), wrapper

    async def kill(task: asyncio.Task[None]) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stores[-1].close()

    stores: list[CursorStore] = []
    async with httpx.AsyncClient(timeout=5) as http:
        # 1: the reply reaches the platform, the process dies before recording it.
        task, dying = await run_worker(dies=True)
        assert dying is not None
        await asyncio.wait_for(dying.called.wait(), 60)
        await kill(task)
        # 2: the reply comes back and is not repeated; the hide reaches the platform, the process dies again.
        task, dying = await run_worker(dies=True)
        assert dying is not None
        await asyncio.wait_for(dying.called.wait(), 60)
        await kill(task)
        # 3: a healthy process: the hide is done again (idempotent).
        task, _ = await run_worker(dies=False)
        try:
            hidden = await eventually(lambda: answers(bootstrap, hide), 60, "the hide's ActionCompleted")
        finally:
            await kill(task)
    replied = await answers(bootstrap, reply)
    assert replied and len(set(replied)) == 1  # answered again from the record if redelivered, never redone
    unknown = decode(ActionCompleted, replied[0])
    assert (unknown.status, unknown.error) == (ActionStatus.FAILED, "outcome_unknown")
    done = decode(ActionCompleted, hidden[0])
    assert (done.status, done.error) == (ActionStatus.DONE, None)
    assert len(x_calls(fakes, "POST", post)) == 1  # the reply went out once
    assert len(x_calls(fakes, "PUT", post)) == 2  # the hide twice: the interrupted attempt and the retry
