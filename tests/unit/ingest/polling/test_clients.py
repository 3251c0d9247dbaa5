"""Poller edge cases against the fake servers, with an in-memory producer: refused credentials, a page
token the platform no longer accepts, Reddit's token grant and rate-limit headers, and the runner going on
after failures with the waits the platform asked for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from triage_bus.profile import BrokerProfile
from triage_events import Platform
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.polling.base import PollContext, PollOptions
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import PollFailed, RateLimited
from triage_ingest.polling.reddit import RedditComments, RedditToken
from triage_ingest.polling.runner import Schedule, poll_forever
from triage_ingest.polling.sink import Sink
from triage_ingest.polling.x import XMentions
from triage_ingest.polling.youtube import YouTubeThreads
from triage_ingest.publisher import Publisher
from triage_ingest.quota import DailyQuota

from tests.fakes import reddit as fake_reddit
from tests.fakes import x as fake_x
from tests.fakes import youtube as fake_yt
from tests.fakes.producer import InMemoryProducer
from tests.fakes.server import serve
from tests.ingest_support import metric

X_ID = "1500000000000000042"
CHANNEL = "UCclients000000000000000"
SUB = "brightwater"
ACCOUNTS = Accounts(
    [
        AccountConfig(platform="x", id=X_ID),
        AccountConfig(platform="youtube", id=CHANNEL),
        AccountConfig(platform="reddit", id=fake_reddit.USERNAME, target=f"r/{SUB}"),
    ]
)
OPTIONS = PollOptions(page_size=5, max_pages=10, backfill_pages=1)


def sink() -> tuple[Sink, InMemoryProducer]:
    publisher = Publisher(BrokerProfile("127.0.0.1:1", embedded=True), ACCOUNTS)
    producer = InMemoryProducer()
    publisher._producer = producer  # type: ignore[assignment]
    return Sink(publisher, ACCOUNTS), producer


async def test_x_wrong_token_and_a_stale_page_token(tmp_path: Path) -> None:
    fake = fake_x.FakeX(X_ID)
    fake.add(*(fake_x.post(1_800_000_000_000_000_000 + i) for i in range(3)))
    store = CursorStore(tmp_path / "s.sqlite3")
    out, producer = sink()
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http:
            wrong = XMentions(X_ID, "guess", url, PollContext(http, store, out, ACCOUNTS, OPTIONS))
            with pytest.raises(PollFailed, match="unauthorized"):
                await wrong.run_once()
            store.put("x", X_ID, {"since_id": "1", "run_newest_id": "5", "next_token": "!!not-base64!!"})
            poller = XMentions(X_ID, fake_x.BEARER, url, PollContext(http, store, out, ACCOUNTS, OPTIONS))
            with pytest.raises(PollFailed, match="stale_page_token"):
                await poller.run_once()
            assert store.get("x", X_ID) == {"since_id": "1", "run_newest_id": None, "next_token": None}
            assert await poller.run_once() == 3  # the run starts over from since_id
    assert len(producer.comments()) == 3


async def test_youtube_invalid_page_token_restarts_the_run_and_oauth_token_works(tmp_path: Path) -> None:
    fake = fake_yt.FakeYouTube(CHANNEL)
    fake.threads = [fake_yt.thread(fake_yt.comment("k1", "2026-01-05T10:00:00Z"))]
    store = CursorStore(tmp_path / "s.sqlite3")
    store.put(
        "youtube", CHANNEL, {"seen": {"instant": "2026-01-05T09:00:00+00:00", "ids": []}, "next_token": "@@"}
    )
    out, producer = sink()
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http:
            poller = YouTubeThreads(
                CHANNEL,
                ("access_token", "yt-oauth-token"),
                f"{url}/youtube/v3",
                PollContext(http, store, out, ACCOUNTS, OPTIONS),
                DailyQuota(10, "youtube", store),
            )
            with pytest.raises(PollFailed, match="stale_page_token"):
                await poller.run_once()
            assert (
                "next_token" not in store.get("youtube", CHANNEL)
                or not store.get("youtube", CHANNEL)["next_token"]
            )
            assert await poller.run_once() == 1
    assert "key" not in fake.requests[-1]
    assert [c.comment.platform_comment_id for c in producer.comments()] == ["k1"]


def reddit(http: httpx.AsyncClient, url: str, store: CursorStore, out: Sink, password: str) -> RedditComments:
    token = RedditToken(
        http,
        f"{url}/api/v1/access_token",
        "server:triage-test:1 (by /u/t)",
        fake_reddit.CLIENT_ID,
        fake_reddit.CLIENT_SECRET,
        fake_reddit.USERNAME,
        password,
    )
    return RedditComments(
        fake_reddit.USERNAME,
        f"r/{SUB}",
        token,
        url,
        "server:triage-test:1 (by /u/t)",
        PollContext(http, store, out, ACCOUNTS, OPTIONS),
    )


async def test_reddit_grant_refused_expired_token_and_exhausted_window(tmp_path: Path) -> None:
    fake = fake_reddit.FakeReddit(SUB)
    fake.add(fake_reddit.comment("t1_r1", 1767225600.0))
    store = CursorStore(tmp_path / "s.sqlite3")
    out, producer = sink()
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http:
            with pytest.raises(PollFailed, match="auth_failed"):  # 200 {"error": "invalid_grant"}
                await reddit(http, url, store, out, "wrong").run_once()
            poller = reddit(http, url, store, out, fake_reddit.PASSWORD)
            assert await poller.run_once() == 1
            fake.tokens.clear()  # the token was revoked or expired early
            with pytest.raises(PollFailed, match="unauthorized"):
                await poller.run_once()
            fake.add(fake_reddit.comment("t1_r2", 1767225700.0))
            fake.remaining = 1.0  # this answer leaves 0: nothing more until the reset
            assert await poller.run_once() == 1  # a fresh token was fetched
            requests = len(fake.requests)
            with pytest.raises(RateLimited) as limited:
                await poller.run_once()
            assert len(fake.requests) == requests and 299 <= (limited.value.retry_after or 0) <= 300
    assert [c.comment.platform_comment_id for c in producer.comments()] == ["t1_r1", "t1_r2"]
    assert (
        metric("triage_ingest_api_quota_remaining_requests", platform="reddit", account=fake_reddit.USERNAME)
        == 0
    )


class ScriptedPoller:
    platform = Platform.X
    account_id = X_ID

    def __init__(self, outcomes: list[BaseException | int]) -> None:
        self.outcomes = outcomes

    async def run_once(self) -> int:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def test_runner_goes_on_after_failures_with_the_right_waits() -> None:
    poller = ScriptedPoller(
        [RateLimited(30.0), PollFailed("network"), RuntimeError("bug"), 3, PollFailed("network")]
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if not poller.outcomes:
            raise asyncio.CancelledError

    before = metric("triage_ingest_errors_total", platform="x", account=X_ID, reason="network")
    schedule = Schedule(interval_s=60, backoff_initial_s=4, backoff_max_s=100)
    with pytest.raises(asyncio.CancelledError):
        await poll_forever(poller, schedule, ACCOUNTS, sleep)
    assert 30 <= waits[0] <= 31  # the platform's reset
    assert 4 <= waits[1] <= 8 and 8 <= waits[2] <= 16  # backoff grows while failing
    assert 54 <= waits[3] <= 66  # success: the interval
    assert 2 <= waits[4] <= 4  # and the backoff starts over
    assert metric("triage_ingest_errors_total", platform="x", account=X_ID, reason="network") == before + 2
    assert metric("triage_ingest_poll_last_success_timestamp_seconds", platform="x", account=X_ID) > 0
