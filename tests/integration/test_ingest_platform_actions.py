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

from tests.builders import unique
from tests.integration.helpers import eventually, produce, read_all
from tests.unit.ingest_fakes import IG_USER_ID, body, ig_delivery, meta_signature, settings
from tests.unit.ingest_platform_fakes import (
    REDDIT_USER,
    X_ACCOUNT,
    YT_CHANNEL,
    FakeGraph,
    FakeReddit,
    FakeX,
    FakeYouTube,
    platform_accounts,
    serve,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[Platform, Any]]:
    x, youtube, reddit = FakeX(), FakeYouTube(), FakeReddit()
    with serve(x), serve(youtube), serve(reddit):
        yield {Platform.X: x, Platform.YOUTUBE: youtube, Platform.REDDIT: reddit}


async def complete(
    broker: EmbeddedBroker, fakes: dict[Platform, Any], *requests: ActionRequested
) -> list[ActionCompleted]:
    """Put the requests on the topic and run the real worker until each one's completion is on the topic."""
    x, youtube, reddit = fakes[Platform.X], fakes[Platform.YOUTUBE], fakes[Platform.REDDIT]
    configured = settings(
        actions_dry_run=False,
        x_api_url=x.base_url,
        youtube_api_url=f"{youtube.base_url}/youtube/v3",
        google_token_url=f"{youtube.base_url}/token",
        reddit_api_url=reddit.base_url,
        reddit_auth_url=f"{reddit.base_url}/api/v1/access_token",
    )
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
    post = str(1876543210987654321 + uuid4().int % 1000)
    request = action(Platform.X, X_ACCOUNT, ActionKind.REPLY, post, "Please call our patient relations team.")
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
    reddit: FakeReddit = fakes[Platform.REDDIT]
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
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serve(fake):
        yield fake


async def test_instagram_mention_is_fetched_and_published_or_dead_lettered(
    broker: EmbeddedBroker, graph: FakeGraph
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
    assert event.kafka_key == b"instagram:sam.q"
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
