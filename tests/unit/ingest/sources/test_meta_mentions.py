"""Instagram @mentions through the real Meta webhook receiver: the text is fetched from a fake Graph API over
real HTTP and published as a `CommentReceived` before the 200; what cannot be fetched is dead-lettered with
a clear reason (and the delivery still answered 200, as it is safely handled)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from triage_bus.profile import BrokerProfile
from triage_events import CommentKind, Platform
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.main import create_app
from triage_ingest.publisher import Publisher

from tests.fakes.meta import FakeGraphMentions
from tests.fakes.producer import InMemoryProducer
from tests.fakes.recorder import served
from tests.ingest_support import IG_USER_ID, body, ig_delivery, meta_signature, settings

COMMENT_MENTION = {
    "field": "mentions",
    "value": {"media_id": "17918195224117851", "comment_id": "17999000000000001"},
}
CAPTION_MENTION = {"field": "mentions", "value": {"media_id": "17920112008063024"}}


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphMentions]:
    yield from served(FakeGraphMentions())


@pytest.fixture(autouse=True)
def clean(graph: FakeGraphMentions) -> None:
    graph.reset()


def ig_accounts(token: str | None = "ig-token") -> Accounts:
    config = AccountConfig(
        platform="instagram", id=IG_USER_ID, handle="@brightwater", credentials={"access_token": "IG_TOKEN"}
    )
    return Accounts([config], {"IG_TOKEN": token}.get if token else (lambda _name: None))


class Delivered:
    def __init__(self, status: int, producer: InMemoryProducer) -> None:
        self.status = status
        self.comments = producer.comments()
        self.letters = producer.dead_letters()


async def deliver(
    graph: FakeGraphMentions, *changes: dict[str, Any], accounts: Accounts | None = None
) -> Delivered:
    app = create_app(
        settings(graph_api_url=f"{graph.base_url}/v23.0"),
        BrokerProfile("127.0.0.1:1", embedded=True),
        accounts or ig_accounts(),
    )
    producer = InMemoryProducer()
    publisher: Publisher = app.state.publisher
    publisher._producer = producer  # type: ignore[assignment]
    raw = body(ig_delivery(*changes))
    headers = {"X-Hub-Signature-256": meta_signature(raw), "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingest"
        ) as client:
            response = await client.post("/webhooks/meta", content=raw, headers=headers)
    finally:
        await app.state.mentions.aclose()
    return Delivered(response.status_code, producer)


async def test_comment_mention_is_fetched_and_published(graph: FakeGraphMentions) -> None:
    delivered = await deliver(graph, COMMENT_MENTION)
    assert delivered.status == 200 and delivered.letters == []
    [event] = delivered.comments
    assert event.platform is Platform.INSTAGRAM and event.account.id == IG_USER_ID
    assert event.comment.kind is CommentKind.MENTION
    assert event.comment.platform_comment_id == "17999000000000001"
    assert event.comment.text.startswith("@brightwater my mother's chemo")
    assert event.comment.author.handle == "sam.q" and event.comment.thread_id == "17918195224117851"
    assert event.comment.created_at.isoformat() == "2026-01-05T14:03:11+00:00"
    [call] = graph.calls
    assert call.path == f"/v23.0/{IG_USER_ID}"
    assert call.query["fields"] == (
        "mentioned_comment.comment_id(17999000000000001){id,text,timestamp,username,like_count,media{id}}"
    )
    assert call.headers["authorization"] == "Bearer ig-token"
    assert "access_token" not in call.query  # the token never travels in a URL


async def test_caption_mention_is_fetched_too(graph: FakeGraphMentions) -> None:
    delivered = await deliver(graph, CAPTION_MENTION, COMMENT_MENTION)
    assert delivered.status == 200
    assert sorted(e.comment.platform_comment_id for e in delivered.comments) == [
        "17920112008063024",
        "17999000000000001",
    ]
    caption = next(e for e in delivered.comments if e.comment.platform_comment_id == "17920112008063024")
    assert caption.comment.permalink == "https://www.instagram.com/p/C1abc/"
    assert caption.comment.kind is CommentKind.MENTION


async def test_without_a_token_the_mention_is_dead_lettered(graph: FakeGraphMentions) -> None:
    delivered = await deliver(graph, COMMENT_MENTION, accounts=ig_accounts(token=None))
    assert delivered.status == 200 and delivered.comments == []
    [letter] = delivered.letters
    assert letter.reason == "no_credentials" and letter.topic == "webhook:meta"
    assert graph.calls == []


async def test_server_errors_are_retried_then_dead_lettered(graph: FakeGraphMentions) -> None:
    unavailable = {"error": {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True}}
    for _ in range(3):
        graph.queue(IG_USER_ID, 503, unavailable, {"Retry-After": "0"})
    delivered = await deliver(graph, COMMENT_MENTION)
    assert delivered.status == 200 and delivered.comments == []
    [letter] = delivered.letters
    assert (letter.reason, letter.error) == ("mention_fetch_failed", "entry[0].changes[0]: http_503")
    assert len(graph.calls) == 3


async def test_a_transient_failure_then_success_publishes(graph: FakeGraphMentions) -> None:
    graph.queue(IG_USER_ID, 429, {"error": {"message": "Application request limit reached", "code": 4}})
    delivered = await deliver(graph, COMMENT_MENTION)
    assert [e.comment.platform_comment_id for e in delivered.comments] == ["17999000000000001"]
    assert len(graph.calls) == 2


async def test_permanent_graph_errors_are_not_retried(graph: FakeGraphMentions) -> None:
    delivered = await deliver(graph, COMMENT_MENTION, accounts=ig_accounts(token="expired"))
    [letter] = delivered.letters
    assert (letter.reason, letter.error) == ("mention_fetch_failed", "entry[0].changes[0]: invalid_token")
    assert len(graph.calls) == 1 and delivered.status == 200


async def test_broker_outage_answers_503_so_meta_delivers_again(graph: FakeGraphMentions) -> None:
    app = create_app(
        settings(graph_api_url=f"{graph.base_url}/v23.0"),
        BrokerProfile("127.0.0.1:1", embedded=True),
        ig_accounts(),
    )
    producer = InMemoryProducer()
    producer.fail = True
    app.state.publisher._producer = producer
    raw = body(ig_delivery(COMMENT_MENTION))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingest"
        ) as client:
            response = await client.post(
                "/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": meta_signature(raw)}
            )
    finally:
        await app.state.mentions.aclose()
    assert response.status_code == 503 and producer.sent == {}
