"""The pollers against fake platform servers (real HTTP on 127.0.0.1) and the real brokers (embedded, Apache Kafka): X
pagination and since_id, 429 with reset, a restart mid-run (nothing missed, nothing twice), YouTube paging,
edits and quota, Reddit paging and a removed cursor comment, a malformed item dead-lettered while the rest
of its page is published, and the service starting its pollers from the accounts file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_events import COMMENTS, DLQ, CommentChange, CommentReceived, DeadLetter, decode
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.main import create_app
from triage_ingest.polling.base import PollContext, PollOptions
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import PollFailed, QuotaExhausted, RateLimited
from triage_ingest.polling.reddit import RedditComments, RedditToken
from triage_ingest.polling.sink import Sink
from triage_ingest.polling.x import XMentions
from triage_ingest.polling.youtube import YouTubeThreads
from triage_ingest.publisher import Publisher
from triage_ingest.quota import DailyQuota

from tests.fakes import reddit as fake_reddit
from tests.fakes import x as fake_x
from tests.fakes import youtube as fake_yt
from tests.fakes.server import serve
from tests.ingest_support import metric, settings
from tests.integration.helpers import eventually, read_all
from tests.kafka.fixtures import Bus, bus_profile

pytestmark = pytest.mark.integration


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def broker(request: pytest.FixtureRequest, broker: EmbeddedBroker) -> Bus:
    """Each test on the session's embedded broker, then on the session's Kafka node: cursors move only after
    the broker acknowledged, whichever broker that is."""
    if request.param == "embedded":
        return broker
    kafka: Bus = request.getfixturevalue("kafka_node")
    return kafka


UA = "server:triage-ingest-test:0.1 (by /u/triage-tests)"


def unique_digits() -> str:
    return str(random.randrange(10**18, 9 * 10**18))


@contextlib.asynccontextmanager
async def publishing(broker: Bus, accounts: Accounts) -> AsyncIterator[Sink]:
    """A started publisher of its own (its dedup memory starts empty, like a restarted service)."""
    publisher = Publisher(bus_profile(broker), accounts)
    await publisher.start()
    try:
        yield Sink(publisher, accounts)
    finally:
        await publisher.stop()


@contextlib.asynccontextmanager
async def polling(
    fake: Any, broker: Bus, accounts: Accounts
) -> AsyncIterator[tuple[str, httpx.AsyncClient, Sink]]:
    """The fake platform served (its base URL), an HTTP client, and a started publisher of its own."""
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http, publishing(broker, accounts) as sink:
            yield url, http, sink


async def published(broker: Bus, account_id: str) -> list[CommentReceived]:
    records = await read_all(broker.bootstrap_servers, COMMENTS.name, idle=0.5)
    events = [decode(CommentReceived, r.value) for r in records]
    return [e for e in events if e.account.id == account_id]


async def dead_letters(broker: Bus, source: str, marker: str) -> list[DeadLetter]:
    records = await read_all(broker.bootstrap_servers, DLQ.name, idle=0.5)
    letters = [decode(DeadLetter, r.value) for r in records]
    return [d for d in letters if d.topic == source and marker in ((d.value_b64 and _raw(d)) or "")]


def _raw(letter: DeadLetter) -> str:
    import base64

    return base64.b64decode(letter.value_b64 or "").decode()


def x_poller(
    account: str,
    url: str,
    http: httpx.AsyncClient,
    store: CursorStore,
    sink: Sink,
    accounts: Accounts,
    **options: Any,
) -> XMentions:
    opts = PollOptions(**{"page_size": 5, "max_pages": 10, "backfill_pages": 1, **options})
    return XMentions(account, fake_x.BEARER, url, PollContext(http, store, sink, accounts, opts))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CursorStore]:
    """The pollers' state file of this test."""
    cursors = CursorStore(tmp_path / "poll.sqlite3")
    yield cursors
    cursors.close()


def x_account(handle: str = "") -> tuple[str, Accounts, fake_x.FakeX]:
    """An X account of this test's own, the accounts naming it, and a fake X serving its mentions."""
    account = unique_digits()
    return account, Accounts([AccountConfig(platform="x", id=account, handle=handle)]), fake_x.FakeX(account)


async def test_x_pages_down_to_since_id_then_polls_only_what_is_new(broker: Bus, store: CursorStore) -> None:
    account, accounts, fake = x_account(handle="@BrightwaterHealth")
    base = 1_900_000_000_000_000_000
    fake.add(*(fake_x.post(base + i) for i in range(3)))
    async with polling(fake, broker, accounts) as (url, http, sink):
        poller = x_poller(account, url, http, store, sink, accounts)
        assert await poller.run_once() == 3  # first run: one backfill page
        fake.add(*(fake_x.post(base + i) for i in range(3, 15)))  # 12 new: three pages of 5
        assert await poller.run_once() == 12
        assert await poller.run_once() == 0
    ids = Counter(e.comment.platform_comment_id for e in await published(broker, account))
    assert ids == Counter({str(base + i): 1 for i in range(15)})
    second_run = fake.requests[1:4]
    assert [r.get("since_id") for r in second_run] == [str(base + 2)] * 3  # the same since_id on every page
    assert "pagination_token" not in second_run[0] and all("pagination_token" in r for r in second_run[1:])
    assert fake.requests[4]["since_id"] == str(base + 14)
    assert (
        fake.requests[0]["expansions"] == "author_id"
        and "edit_history_tweet_ids" in fake.requests[0]["tweet.fields"]
    )
    assert metric("triage_ingest_api_quota_remaining_requests", platform="x", account=account) == 450 - 5


async def test_x_restart_mid_run_publishes_every_mention_once(broker: Bus, tmp_path: Path) -> None:
    account, accounts, fake = x_account()
    base = 1_910_000_000_000_000_000
    fake.add(fake_x.post(base))
    path = tmp_path / "poll.sqlite3"
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http:
            async with publishing(broker, accounts) as sink:
                store = CursorStore(path)
                poller = x_poller(account, url, http, store, sink, accounts)
                await poller.run_once()
                fake.add(*(fake_x.post(base + i) for i in range(1, 13)))  # pages of 5, 5, 2
                fake.fail_after = 1  # page 1 is answered, page 2 is not: the process "dies" there
                with pytest.raises(PollFailed, match="server_error"):
                    await poller.run_once()
                store.close()
                fake.fail_after = None
            # A new process: a new publisher (empty dedup memory) and the same state file.
            async with publishing(broker, accounts) as sink:
                store = CursorStore(path)
                assert store.get("x", account)["next_token"]  # the run in progress was kept
                restarted = x_poller(account, url, http, store, sink, accounts)
                assert await restarted.run_once() == 7
                assert store.get("x", account) == {
                    "since_id": str(base + 12),
                    "next_token": None,
                    "run_newest_id": None,
                }
    ids = Counter(e.comment.platform_comment_id for e in await published(broker, account))
    assert ids == Counter({str(base + i): 1 for i in range(13)})
    resumed = fake.requests[-2]
    assert resumed["since_id"] == str(base) and resumed["pagination_token"]


async def test_x_429_waits_for_the_reset_then_carries_on(broker: Bus, store: CursorStore) -> None:
    account, accounts, fake = x_account()
    base = 1_920_000_000_000_000_000
    fake.add(fake_x.post(base))
    async with polling(fake, broker, accounts) as (url, http, sink):
        poller = x_poller(account, url, http, store, sink, accounts)
        await poller.run_once()
        fake.add(fake_x.post(base + 1))
        fake.exhaust_window(reset_in=0.3)
        with pytest.raises(RateLimited) as limited:
            await poller.run_once()
        assert 0.9 <= (limited.value.retry_after or 0) <= 2.0  # reset is whole epoch seconds
        requests = len(fake.requests)
        await asyncio.sleep(limited.value.retry_after or 0)
        assert await poller.run_once() == 1
    assert len(fake.requests) == requests + 1
    # Each once; comments are keyed by comment, so two comments may sit on different partitions, in any order.
    ids = Counter(e.comment.platform_comment_id for e in await published(broker, account))
    assert ids == Counter({str(base): 1, str(base + 1): 1})


def youtube_channel(prefix: str, count: int) -> tuple[str, Accounts, fake_yt.FakeYouTube]:
    """A channel of this test's own, the accounts naming it, and a fake YouTube serving its threads: `count`
    of them to begin with, with comment ids `prefix` 0, 1, ..., one a minute from 10:00 on 5 January 2026."""
    channel = f"UC{unique_digits()}"
    fake = fake_yt.FakeYouTube(channel)
    fake.threads = [
        fake_yt.thread(fake_yt.comment(f"{prefix}{i}", f"2026-01-05T10:{i:02d}:00Z")) for i in range(count)
    ]
    return channel, Accounts([AccountConfig(platform="youtube", id=channel)]), fake


def yt_poller(
    channel: str,
    url: str,
    http: httpx.AsyncClient,
    store: CursorStore,
    sink: Sink,
    accounts: Accounts,
    daily: int = 100,
) -> YouTubeThreads:
    options = PollOptions(page_size=3, max_pages=10, backfill_pages=1)
    quota = DailyQuota(daily, "youtube", store)
    return YouTubeThreads(
        channel,
        ("api_key", fake_yt.API_KEY),
        f"{url}/youtube/v3",
        PollContext(http, store, sink, accounts, options),
        quota,
    )


async def test_youtube_pages_until_seen_threads_and_publishes_edits_and_bad_items(
    broker: Bus, store: CursorStore
) -> None:
    channel, accounts, fake = youtube_channel("c", 2)
    async with polling(fake, broker, accounts) as (url, http, sink):
        poller = yt_poller(channel, url, http, store, sink, accounts)
        assert await poller.run_once() == 2
        # Seven new threads (three pages with the old ones), one of them malformed; c0 is edited.
        new = [fake_yt.thread(fake_yt.comment(f"n{i}", f"2026-01-05T11:0{i}:00Z")) for i in range(7)]
        broken = fake_yt.comment(f"bad-{channel}", "2026-01-05T11:30:00Z")
        broken["snippet"]["textOriginal"] = {"not": "text"}
        new.append(fake_yt.thread(broken))
        fake.threads[0] = fake_yt.thread(
            fake_yt.comment("c0", "2026-01-05T10:00:00Z", text="edited text", updated="2026-01-05T12:00:00Z")
        )
        fake.threads += new
        assert await poller.run_once() == 7 + 1
        assert await poller.run_once() == 0
    events = await published(broker, channel)
    assert Counter(
        e.comment.platform_comment_id for e in events if e.change is CommentChange.CREATED
    ) == Counter({**{f"c{i}": 1 for i in range(2)}, **{f"n{i}": 1 for i in range(7)}})
    [edit] = [e for e in events if e.change is CommentChange.EDITED]
    assert edit.comment.platform_comment_id == "c0" and edit.comment.text == "edited text"
    [letter] = await dead_letters(broker, "poll:youtube", f"bad-{channel}")
    assert letter.reason == "schema" and letter.error.startswith("items[")
    assert {r["order"] for r in fake.requests} == {"time"} and {r["textFormat"] for r in fake.requests} == {
        "plainText"
    }
    # 1 + 4 (the third page still reaches the seen instant, so the fourth is read too) + 1
    assert len(fake.requests) == 6
    assert DailyQuota(100, "youtube", store).remaining() == 100 - 6


async def test_youtube_quota_spent_here_or_there_stops_requests_until_midnight(
    broker: Bus, store: CursorStore, tmp_path: Path
) -> None:
    channel, accounts, fake = youtube_channel("q", 9)
    async with polling(fake, broker, accounts) as (url, http, sink):
        # Our own budget: 1 unit left after the first page, then nothing is requested.
        store.put("youtube", channel, {"seen": {"instant": "2026-01-05T09:00:00+00:00", "ids": []}})
        poller = yt_poller(channel, url, http, store, sink, accounts, daily=2)
        with pytest.raises(QuotaExhausted) as spent:
            await poller.run_once()
        assert 0 < spent.value.retry_after <= 24 * 3600
        assert len(fake.requests) == 2
        assert metric("triage_ingest_api_quota_remaining_requests", platform="youtube", account=channel) == 0
        assert store.get("youtube", channel)["next_token"]  # the two pages published stay published
        # YouTube's own count runs out first: 403 quotaExceeded.
        other = CursorStore(tmp_path / "other.sqlite3")
        fake.quota = 0
        with pytest.raises(QuotaExhausted):
            await yt_poller(channel, url, http, other, sink, accounts, daily=50).run_once()
        assert DailyQuota(50, "youtube", other).remaining() == 0
        fake.rate_limited = 1
        fake.quota = 10
        with pytest.raises(RateLimited):
            await yt_poller(
                channel, url, http, CursorStore(tmp_path / "third.sqlite3"), sink, accounts
            ).run_once()
    assert Counter(e.comment.platform_comment_id for e in await published(broker, channel)) == Counter(
        {f"q{i}": 1 for i in range(3, 9)}
    )


def reddit_poller(
    account: str,
    sub: str,
    url: str,
    http: httpx.AsyncClient,
    store: CursorStore,
    sink: Sink,
    accounts: Accounts,
) -> RedditComments:
    token = RedditToken(
        http,
        f"{url}/api/v1/access_token",
        UA,
        fake_reddit.CLIENT_ID,
        fake_reddit.CLIENT_SECRET,
        fake_reddit.USERNAME,
        fake_reddit.PASSWORD,
    )
    options = PollOptions(page_size=5, max_pages=10, backfill_pages=1)
    return RedditComments(
        account, f"r/{sub}", token, url, UA, PollContext(http, store, sink, accounts, options)
    )


async def test_reddit_pages_forward_and_survives_a_removed_cursor_comment(
    broker: Bus, store: CursorStore
) -> None:
    account = f"acct{unique_digits()}"
    sub = f"sub{unique_digits()}"
    accounts = Accounts([AccountConfig(platform="reddit", id=account, target=f"r/{sub}")])
    fake = fake_reddit.FakeReddit(sub)
    fake.add(*(fake_reddit.comment(f"t1_a{i}", 1767225600.0 + i) for i in range(3)))
    async with polling(fake, broker, accounts) as (url, http, sink):
        poller = reddit_poller(account, sub, url, http, store, sink, accounts)
        assert await poller.run_once() == 3
        fake.add(*(fake_reddit.comment(f"t1_b{i}", 1767225700.0 + i) for i in range(12)))  # 5 + 5 + 2
        assert await poller.run_once() == 12
        assert store.get("reddit", account)["fullname"] == "t1_b11"
        # The cursor's comment is removed, then two more arrive: before=t1_b11 now answers empty.
        fake.remove("t1_b11")
        fake.add(fake_reddit.comment("t1_c0", 1767225800.0), fake_reddit.comment("t1_c1", 1767225801.0))
        assert await poller.run_once() == 2
        assert await poller.run_once() == 0
    ids = Counter(e.comment.platform_comment_id for e in await published(broker, account))
    expected = [f"t1_a{i}" for i in range(3)] + [f"t1_b{i}" for i in range(12)] + ["t1_c0", "t1_c1"]
    assert ids == Counter(dict.fromkeys(expected, 1))
    assert {ua for ua in fake.user_agents} == {UA}
    assert [r.get("before") for r in fake.requests[1:4]] == ["t1_a2", "t1_b4", "t1_b9"]
    assert metric("triage_ingest_api_quota_remaining_requests", platform="reddit", account=account) < 600


async def test_the_service_polls_configured_accounts_and_not_the_others(broker: Bus, tmp_path: Path) -> None:
    account = unique_digits()
    fake = fake_x.FakeX(account)
    base = 1_930_000_000_000_000_000
    fake.add(fake_x.post(base), fake_x.post(base + 1))
    accounts_file = tmp_path / "accounts.json"
    accounts_file.write_text(
        json.dumps(
            {
                "accounts": [
                    {"platform": "x", "id": account, "credentials": {"bearer_token": "TRIAGE_TEST_X_BEARER"}},
                    {"platform": "youtube", "id": "UCnocredentials"},
                ]
            }
        )
    )
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"TRIAGE_TEST_X_BEARER": fake_x.BEARER}))
    state = tmp_path / "state" / "poll.sqlite3"
    with serve(fake.app()) as url:
        config = settings(x_api_url=url, poll_interval_s=0.2, poll_state_file=state, secrets_file=secrets)
        from triage_ingest.accounts import load_accounts

        app = create_app(
            config,
            bus_profile(broker),
            load_accounts(accounts_file, config.secret),
        )
        async with app.router.lifespan_context(app):
            events = await eventually(lambda: published(broker, account), 20, "polled mentions")
            await eventually(lambda: _at_least(fake, 2), 10, "a second poll")
    assert sorted(e.comment.platform_comment_id for e in events) == [str(base), str(base + 1)]
    assert CursorStore(state).get("x", account)["since_id"] == str(base + 1)
    assert (
        metric(
            "triage_ingest_errors_total",
            platform="youtube",
            account="UCnocredentials",
            reason="no_credentials",
        )
        >= 1
    )


async def _at_least(fake: fake_x.FakeX, n: int) -> bool:
    return len(fake.requests) >= n


async def test_no_polled_accounts_no_state_file(tmp_path: Path, broker: Bus) -> None:
    state = tmp_path / "poll.sqlite3"
    app = create_app(
        settings(poll_state_file=state),
        bus_profile(broker),
        Accounts([AccountConfig(platform="facebook", id="104512345678901")]),
    )
    async with app.router.lifespan_context(app):
        names = {t.get_name() for t in asyncio.all_tasks()}
    assert not any(n.startswith("poll:") for n in names)
    assert not state.exists()
