"""Outbound actions for X, YouTube and Reddit against fake platform servers over real HTTP: the documented
call for each action, own-versus-others deletes, rate limits (429 then success, with the platform's reset
as the wait), permanent errors reported as reasons, token exchange and renewal, the quota gauge."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from triage_events import ActionKind, ActionStatus, Platform
from triage_ingest.actions.reddit import RedditClient
from triage_ingest.actions.x import XClient
from triage_ingest.actions.youtube import YouTubeClient
from triage_ingest.main import _action_clients, _state_store
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.quota import DailyQuota, QuotaExhausted
from triage_ingest.rate_limits import REDDIT_RATE_HEADERS, X_RATE_HEADERS, retry_after

from tests.fakes.accounts import REDDIT_USER, SECRETS, X_ACCOUNT, X_OTHER_USER, YT_CHANNEL, platform_accounts
from tests.fakes.reddit import FakeRedditActions
from tests.fakes.x import FakeXActions, problem
from tests.fakes.youtube import FakeYouTubeActions, google_error
from tests.ingest_support import metric, settings
from tests.unit.ingest.actions.harness import (
    NOW,
    REPLY,
    Harness,
    polling,
    reddit_harness,
    request,
    x_harness,
    youtube_harness,
)

# --- X ---------------------------------------------------------------------------------------------------


async def test_x_reply_hide_unhide_and_dm_use_the_documented_endpoints(fake_x: FakeXActions) -> None:
    run = x_harness(fake_x).run
    post = "1876543210987654321"
    reply = await run(request(Platform.X, ActionKind.REPLY, post))
    hide = await run(request(Platform.X, ActionKind.HIDE, post))
    unhide = await run(request(Platform.X, ActionKind.UNHIDE, post))
    dm = await run(request(Platform.X, ActionKind.PRIVATE_REPLY, post))
    assert [c.status for c in (reply, hide, unhide, dm)] == [ActionStatus.DONE] * 4
    assert reply.platform_result_id == "1880000000000000001"
    assert dm.platform_result_id == "1580705921830768643"
    calls = [(c.method, c.path, c.json) for c in fake_x.calls]
    assert calls == [
        ("POST", "/2/tweets", {"text": REPLY, "reply": {"in_reply_to_tweet_id": post}}),
        ("PUT", f"/2/tweets/{post}/hidden", {"hidden": True}),
        ("PUT", f"/2/tweets/{post}/hidden", {"hidden": False}),
        ("GET", f"/2/tweets/{post}", None),  # the author, whom the DM goes to
        ("POST", f"/2/dm_conversations/with/{X_OTHER_USER}/messages", {"text": REPLY}),
    ]
    assert fake_x.calls[3].query == {"tweet.fields": "author_id"}
    assert all(c.headers["authorization"] == "Bearer x-user-token" for c in fake_x.calls)
    # x-rate-limit-remaining as last reported becomes the quota gauge
    assert (
        metric("triage_ingest_api_quota_remaining_requests", platform="x", account=X_ACCOUNT)
        == fake_x.remaining
    )


async def test_x_deletes_own_posts_and_refuses_others(fake_x: FakeXActions) -> None:
    fake_x.authors["1870000000000000001"] = X_ACCOUNT
    run = x_harness(fake_x).run
    own = await run(request(Platform.X, ActionKind.DELETE, "1870000000000000001"))
    other = await run(request(Platform.X, ActionKind.DELETE, "1876543210987654321"))
    assert own.status is ActionStatus.DONE
    assert (other.status, other.error) == (ActionStatus.FAILED, "not_own_post")
    assert fake_x.paths("DELETE") == ["/2/tweets/1870000000000000001"]


async def test_x_429_waits_until_the_reset_then_succeeds(fake_x: FakeXActions) -> None:
    limited = {
        "x-rate-limit-limit": "50",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(NOW) + 42),
    }
    fake_x.queue(
        "/hidden", 429, {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}, limited
    )
    harness = x_harness(fake_x)
    completed = await harness.run(request(Platform.X, ActionKind.HIDE, "1876543210987654321"))
    assert completed.status is ActionStatus.DONE
    assert harness.sleeps == [42.0]
    assert len(fake_x.calls) == 2


async def test_x_permanent_errors_are_reasons_not_retries(fake_x: FakeXActions) -> None:
    forbidden = problem(403, "Forbidden", "You are not permitted to hide replies in this conversation.")
    fake_x.queue("/hidden", 403, forbidden)
    fake_x.missing.add("1111111111111111111")
    fake_x.authors["1870000000000000002"] = X_ACCOUNT
    harness = x_harness(fake_x)
    hide = await harness.run(request(Platform.X, ActionKind.HIDE, "1876543210987654321"))
    gone = await harness.run(request(Platform.X, ActionKind.DELETE, "1111111111111111111"))
    to_self = await harness.run(request(Platform.X, ActionKind.PRIVATE_REPLY, "1870000000000000002"))
    assert (hide.error, gone.error, to_self.error) == ("not_allowed", "not_found", "own_post")
    assert harness.sleeps == []
    assert fake_x.paths("POST") == [] and fake_x.paths("DELETE") == []


async def test_x_without_a_token_fails_cleanly(fake_x: FakeXActions) -> None:
    harness = x_harness(fake_x, platform_accounts({}))
    completed = await harness.run(request(Platform.X, ActionKind.HIDE, "1876543210987654321"))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "no_credentials")
    assert fake_x.calls == []


# --- YouTube ---------------------------------------------------------------------------------------------


async def test_youtube_actions_and_quota_units(fake_youtube: FakeYouTubeActions) -> None:
    fake_youtube.owners["UgzOwn123"] = YT_CHANNEL
    quota = DailyQuota(10_000)
    run = youtube_harness(fake_youtube, quota).run
    reply = await run(request(Platform.YOUTUBE, ActionKind.REPLY, "UgzAbc123.9xYzReply"))
    hide = await run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    unhide = await run(request(Platform.YOUTUBE, ActionKind.UNHIDE, "UgzAbc123"))
    delete_own = await run(request(Platform.YOUTUBE, ActionKind.DELETE, "UgzOwn123"))
    delete_other = await run(request(Platform.YOUTUBE, ActionKind.DELETE, "UgzAbc123"))
    private = await run(request(Platform.YOUTUBE, ActionKind.PRIVATE_REPLY, "UgzAbc123"))
    assert [c.status for c in (reply, hide, unhide, delete_own, delete_other)] == [ActionStatus.DONE] * 5
    assert reply.platform_result_id == "UgzAbc123.AaBbCc1"
    assert (private.status, private.error) == (ActionStatus.FAILED, "private_reply_unsupported")
    api = [c for c in fake_youtube.calls if c.path != "/token"]
    assert [(c.method, c.path.removeprefix("/youtube/v3"), c.query) for c in api] == [
        ("POST", "/comments", {"part": "snippet"}),
        ("POST", "/comments/setModerationStatus", {"id": "UgzAbc123", "moderationStatus": "heldForReview"}),
        ("POST", "/comments/setModerationStatus", {"id": "UgzAbc123", "moderationStatus": "published"}),
        ("GET", "/comments", {"part": "snippet", "id": "UgzOwn123"}),
        ("DELETE", "/comments", {"id": "UgzOwn123"}),
        ("GET", "/comments", {"part": "snippet", "id": "UgzAbc123"}),
        ("POST", "/comments/setModerationStatus", {"id": "UgzAbc123", "moderationStatus": "rejected"}),
    ]
    # a reply to a reply goes under the top-level comment (YouTube threads one level deep)
    assert api[0].json == {"snippet": {"parentId": "UgzAbc123", "textOriginal": REPLY}}
    # one token exchange (cached), with the client credentials in the form
    [exchange] = [c for c in fake_youtube.calls if c.path == "/token"]
    assert exchange.form == {
        "grant_type": "refresh_token",
        "refresh_token": "yt-refresh",
        "client_id": "yt-client",
        "client_secret": "yt-secret",
    }
    spent = 50 * 5 + 1 * 2  # insert, 3 moderation changes and a delete at 50 each; 2 author lookups at 1
    assert quota.remaining() == 10_000 - spent
    assert metric("triage_ingest_api_quota_remaining_requests", platform="youtube", account=YT_CHANNEL) == (
        10_000 - spent
    )


async def test_youtube_quota_exceeded_is_permanent_and_empties_the_gauge(
    fake_youtube: FakeYouTubeActions,
) -> None:
    fake_youtube.queue("setModerationStatus", 403, google_error(403, "quotaExceeded"))
    quota = DailyQuota(10_000)
    harness = youtube_harness(fake_youtube, quota)
    completed = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "quota_exceeded")
    assert harness.sleeps == [] and quota.remaining() == 0
    assert metric("triage_ingest_api_quota_remaining_requests", platform="youtube", account=YT_CHANNEL) == 0


async def test_youtube_rate_limit_is_retried_and_not_found_is_a_reason(
    fake_youtube: FakeYouTubeActions,
) -> None:
    fake_youtube.queue("setModerationStatus", 403, google_error(403, "rateLimitExceeded", "youtube.api"))
    harness = youtube_harness(fake_youtube)
    retried = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    fake_youtube.queue("setModerationStatus", 404, google_error(404, "commentNotFound", "youtube.comment"))
    missing = await harness.run(request(Platform.YOUTUBE, ActionKind.UNHIDE, "UgzGone000"))
    assert retried.status is ActionStatus.DONE and len(harness.sleeps) == 1
    assert (missing.status, missing.error) == (ActionStatus.FAILED, "comment_not_found")


async def test_youtube_renews_a_token_the_api_refuses(fake_youtube: FakeYouTubeActions) -> None:
    harness = youtube_harness(fake_youtube)
    first = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    fake_youtube.queue("setModerationStatus", 401, google_error(401, "authError", "global"))
    second = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    assert first.status is ActionStatus.DONE and second.status is ActionStatus.DONE
    assert fake_youtube.tokens_issued >= 2
    tokens = [c.headers["authorization"] for c in fake_youtube.calls if "setModerationStatus" in c.path]
    assert tokens[-1] != tokens[-2]  # the retry carried the newly exchanged token


async def test_youtube_refused_refresh_token_is_a_reason(fake_youtube: FakeYouTubeActions) -> None:
    wrong = {**SECRETS, "YT_REFRESH": "revoked"}
    harness = youtube_harness(fake_youtube, accounts=platform_accounts(wrong))
    completed = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "token_refresh_failed")
    assert [c.path for c in fake_youtube.calls] == ["/token"]


async def test_pollers_and_actions_spend_one_youtube_budget(
    fake_youtube: FakeYouTubeActions, tmp_path: Path
) -> None:
    accounts = platform_accounts()
    config = settings(
        youtube_api_url=f"{fake_youtube.base_url}/youtube/v3",
        google_token_url=f"{fake_youtube.base_url}/token",
        poll_state_file=tmp_path / "poll.sqlite3",
        poll_youtube_daily_quota=120,
    )
    async with httpx.AsyncClient(timeout=5) as http:
        pollers = polling(config, accounts, http)
        store = _state_store(config, pollers)
        assert store is not None and store is pollers.store
        client = _action_clients(config, accounts, http, store)[Platform.YOUTUBE]
        harness = Harness(Platform.YOUTUBE, client, http)
        polled = DailyQuota(120, "youtube", store)  # as the YouTube pollers count
        hidden = await harness.run(request(Platform.YOUTUBE, ActionKind.HIDE, "UgzAbc123"))
        assert hidden.status is ActionStatus.DONE and polled.remaining() == 120 - 50
        polled.spend(30)  # the pollers' list calls leave 40, less than a moderation change costs
        refused = await harness.run(request(Platform.YOUTUBE, ActionKind.UNHIDE, "UgzAbc123"))
        pollers.close()
    assert (refused.status, refused.error) == (ActionStatus.FAILED, "quota_exceeded")
    assert harness.sleeps == []  # not retried: the budget is back only tomorrow
    sent = [path for path in fake_youtube.paths("POST") if path != "/token"]
    assert sent == ["/youtube/v3/comments/setModerationStatus"]  # the refused change was never sent
    assert metric("triage_ingest_api_quota_remaining_requests", platform="youtube", account=YT_CHANNEL) == 40


async def test_without_pollers_youtube_units_are_kept_in_the_configured_state_file(tmp_path: Path) -> None:
    state = tmp_path / "poll.sqlite3"
    configured = settings(poll_enabled=False, poll_state_file=state)
    async with httpx.AsyncClient() as http:
        pollers = polling(configured, platform_accounts(), http)
    assert pollers.store is None
    store = _state_store(configured, pollers)
    assert isinstance(store, CursorStore) and store.path == state
    DailyQuota(100, "youtube", store).spend(50)
    store.close()
    reopened = CursorStore(state)  # a restart does not hand the day back
    assert DailyQuota(100, "youtube", reopened).remaining() == 50
    reopened.close()
    # No state file configured: counted in memory, nothing written.
    assert _state_store(settings(poll_enabled=False), pollers) is None


# --- Reddit ----------------------------------------------------------------------------------------------


async def test_reddit_actions_use_the_documented_endpoints(fake_reddit: FakeRedditActions) -> None:
    fake_reddit.authors["t1_own42"] = REDDIT_USER
    run = reddit_harness(fake_reddit).run
    reply = await run(request(Platform.REDDIT, ActionKind.REPLY, "t1_abc123"))
    hide = await run(request(Platform.REDDIT, ActionKind.HIDE, "abc123"))  # a bare id is a comment
    unhide = await run(request(Platform.REDDIT, ActionKind.UNHIDE, "t1_abc123"))
    own = await run(request(Platform.REDDIT, ActionKind.DELETE, "t1_own42"))
    other = await run(request(Platform.REDDIT, ActionKind.DELETE, "t1_abc123"))
    dm = await run(request(Platform.REDDIT, ActionKind.PRIVATE_REPLY, "t1_abc123"))
    assert [c.status for c in (reply, hide, unhide, own, other, dm)] == [ActionStatus.DONE] * 6
    assert reply.platform_result_id == "t1_k9new"
    api = [c for c in fake_reddit.calls if c.path != "/api/v1/access_token"]
    assert [(c.method, c.path, c.form or c.query) for c in api] == [
        ("POST", "/api/comment", {"api_type": "json", "thing_id": "t1_abc123", "text": REPLY}),
        ("POST", "/api/remove", {"id": "t1_abc123", "spam": "false"}),
        ("POST", "/api/approve", {"id": "t1_abc123"}),
        ("GET", "/api/info", {"id": "t1_own42", "raw_json": "1"}),
        ("POST", "/api/del", {"id": "t1_own42"}),
        ("GET", "/api/info", {"id": "t1_abc123", "raw_json": "1"}),
        ("POST", "/api/remove", {"id": "t1_abc123", "spam": "false"}),
        ("GET", "/api/info", {"id": "t1_abc123", "raw_json": "1"}),
        (
            "POST",
            "/api/compose",
            {"api_type": "json", "to": "some_redditor", "subject": "About your comment", "text": REPLY},
        ),
    ]
    assert all(c.headers["user-agent"].startswith("server:triage-test:1.0") for c in fake_reddit.calls)
    assert all(c.headers["authorization"] == "bearer reddit-token" for c in api)
    [exchange] = [c for c in fake_reddit.calls if c.path == "/api/v1/access_token"]
    assert exchange.form == {"grant_type": "refresh_token", "refresh_token": "reddit-refresh"}
    assert (
        exchange.headers["authorization"]
        == "Basic " + base64.b64encode(b"reddit-client:reddit-secret").decode()
    )
    assert metric("triage_ingest_api_quota_remaining_requests", platform="reddit", account=REDDIT_USER) == (
        fake_reddit.remaining
    )


async def test_reddit_rate_limits_wait_as_told(fake_reddit: FakeRedditActions) -> None:
    limited = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "37"}
    fake_reddit.queue("/api/remove", 429, {"message": "Too Many Requests", "error": 429}, limited)
    ratelimit = [
        ["RATELIMIT", "Looks like you've been doing that a lot. Take a break for 5 minutes.", "ratelimit"]
    ]
    fake_reddit.queue("/api/comment", 200, {"json": {"errors": ratelimit, "ratelimit": 291.5}})
    harness = reddit_harness(fake_reddit)
    hide = await harness.run(request(Platform.REDDIT, ActionKind.HIDE, "t1_abc123"))
    reply = await harness.run(request(Platform.REDDIT, ActionKind.REPLY, "t1_abc123"))
    assert hide.status is ActionStatus.DONE and reply.status is ActionStatus.DONE
    assert harness.sleeps == [37.0, 291.5]


async def test_reddit_permanent_errors(fake_reddit: FakeRedditActions) -> None:
    fake_reddit.queue("/api/remove", 403, {"message": "Forbidden", "error": 403})
    locked = [["THREAD_LOCKED", "Comments are locked.", "parent"]]
    fake_reddit.queue("/api/comment", 200, {"json": {"errors": locked}})
    fake_reddit.authors["t1_gone1"] = "[deleted]"
    harness = reddit_harness(fake_reddit)
    hide = await harness.run(request(Platform.REDDIT, ActionKind.HIDE, "t1_abc123"))
    reply = await harness.run(request(Platform.REDDIT, ActionKind.REPLY, "t1_abc123"))
    dm = await harness.run(request(Platform.REDDIT, ActionKind.PRIVATE_REPLY, "t1_gone1"))
    assert (hide.error, reply.error, dm.error) == ("not_moderator", "reddit_thread_locked", "author_unknown")
    assert harness.sleeps == []
    assert "/api/compose" not in fake_reddit.paths()


async def test_reddit_refused_grant_is_a_reason(fake_reddit: FakeRedditActions) -> None:
    harness = reddit_harness(fake_reddit, platform_accounts({**SECRETS, "REDDIT_REFRESH": "revoked"}))
    completed = await harness.run(request(Platform.REDDIT, ActionKind.HIDE, "t1_abc123"))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "token_refresh_failed")
    assert fake_reddit.paths() == ["/api/v1/access_token"]


# --- shared parts ----------------------------------------------------------------------------------------


def test_retry_after_reads_every_platform_signal() -> None:
    def answer(**headers: str) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after(answer(**{"retry-after": "7"})) == 7.0
    http_date = "Thu, 01 Jan 2026 00:00:30 GMT"  # 30 s after NOW
    assert retry_after(answer(**{"retry-after": http_date}), clock=lambda: NOW) == 30.0
    x = answer(**{"x-rate-limit-reset": str(int(NOW) + 90)})
    assert retry_after(x, X_RATE_HEADERS, clock=lambda: NOW) == 90.0
    assert retry_after(answer(**{"x-ratelimit-reset": "12"}), REDDIT_RATE_HEADERS) == 12.0
    assert retry_after(answer(**{"x-ratelimit-reset": "soon"}), REDDIT_RATE_HEADERS) is None
    assert retry_after(answer()) is None


def test_daily_quota_in_memory_refuses_what_it_cannot_cover_and_starts_again_at_midnight_pacific() -> None:
    now = [datetime(2026, 1, 6, 7, 59, tzinfo=UTC).timestamp()]  # 23:59 Pacific on the 5th
    quota = DailyQuota(100, clock=lambda: now[0])
    assert quota.spend(60) == 40
    with pytest.raises(QuotaExhausted) as refused:
        quota.spend(50)
    assert refused.value.retry_after == pytest.approx(60.0)
    assert quota.remaining() == 40  # a refused spend takes nothing
    now[0] += 120  # 00:01 Pacific on the 6th
    assert quota.remaining() == 100


def test_the_composition_root_wires_every_platform() -> None:
    clients = _action_clients(settings(), platform_accounts(), httpx.AsyncClient())
    assert isinstance(clients[Platform.X], XClient)
    assert isinstance(clients[Platform.YOUTUBE], YouTubeClient)
    assert isinstance(clients[Platform.REDDIT], RedditClient)
    assert clients[Platform.FACEBOOK] is clients[Platform.INSTAGRAM]
