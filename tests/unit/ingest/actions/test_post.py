"""The `post` action kind (a draft from the desk's Drafts page) in ingest's actions worker: a dry run
answers `dry_run` without calling the platform; live, a Facebook Page post is `POST /{page-id}/feed` and an
X post `POST /2/tweets` without a reply field, each with the account's token, answering the new post's id,
sent once across a redelivery, and a platform's refusal is a `failed` completion with its reason. Platforms
that publish only media (Instagram, YouTube) refuse a text post as `unsupported_action` without a call; Reddit
posts a self post to the subreddit the account's config names, and refuses without one."""

from __future__ import annotations

from uuid import uuid4

from triage_events import (
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    Platform,
    decode,
)
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.actions.ledger import IDEMPOTENT, OUTCOME_UNKNOWN, MemoryActionLog
from triage_ingest.actions.reddit import configured_subreddit, title
from triage_ingest.actions.worker import settle

from tests.fakes.accounts import REDDIT_USER
from tests.fakes.meta import FakeGraphActions
from tests.fakes.recorder import serve
from tests.fakes.reddit import FakeRedditActions
from tests.fakes.x import FakeXActions, problem
from tests.fakes.youtube import FakeYouTubeActions
from tests.ingest_support import IG_USER_ID, PAGE_ID
from tests.unit.ingest.actions.harness import (
    TOKEN,
    Harness,
    graph_executor,
    reddit_harness,
    request,
    x_harness,
    youtube_harness,
)

TEXT = "Flu shots this week at every clinic."
FB_POST_ID = f"{PAGE_ID}_1029384756"


def post(platform: Platform = Platform.FACEBOOK, account: str = PAGE_ID) -> ActionRequested:
    return ActionRequested(
        event_id=uuid4(),
        action=ActionKind.POST,
        comment_key="draft:0c6a1f6e-0000-4000-8000-000000000001",
        platform=platform,
        account=Account(id=account),
        platform_comment_id="",
        text=TEXT,
        requested_by="moderator-user",
    )


def x_post() -> ActionRequested:
    return request(Platform.X, ActionKind.POST, "", text=TEXT, comment_key="draft:x-1")


async def test_a_post_runs_dry_by_default_and_calls_nothing() -> None:
    graph = FakeGraphActions()
    request = post()
    done = await graph_executor(graph, dry_run=True).run(request)
    assert done.status is ActionStatus.DRY_RUN and done.action is ActionKind.POST
    assert done.comment_key == request.comment_key and done.request_id == request.event_id
    assert graph.calls == []
    assert ActionKind.POST not in IDEMPOTENT  # an interrupted post is never sent twice


# --- Facebook Page -----------------------------------------------------------------------------------------


async def test_a_live_facebook_post_goes_to_the_page_feed_with_the_page_token() -> None:
    graph = FakeGraphActions()
    graph.script = [(200, {"id": FB_POST_ID}, {})]
    done = await graph_executor(graph).run(post())
    assert (done.status, done.platform_result_id, done.error) == (ActionStatus.DONE, FB_POST_ID, None)
    assert graph.calls == [("POST", f"/v23.0/{PAGE_ID}/feed", {"message": TEXT}, f"Bearer {TOKEN}")]


async def test_a_redelivered_facebook_post_is_sent_once() -> None:
    graph = FakeGraphActions()
    graph.script = [(200, {"id": FB_POST_ID}, {})]
    ledger, worker, request = MemoryActionLog(), graph_executor(graph), post()
    first = await settle(worker, ledger, request)
    again = await settle(worker, ledger, request)
    assert again == first
    assert decode(ActionCompleted, first).platform_result_id == FB_POST_ID
    assert len(graph.calls) == 1


async def test_a_post_that_may_have_gone_out_is_not_sent_again() -> None:
    graph = FakeGraphActions()
    ledger, request = MemoryActionLog(), post()
    ledger.action_started(str(request.event_id), request.action.value, dry_run=False)  # crashed mid-call
    done = decode(ActionCompleted, await settle(graph_executor(graph), ledger, request))
    assert (done.status, done.error) == (ActionStatus.FAILED, OUTCOME_UNKNOWN)
    assert graph.calls == []


async def test_a_facebook_refusal_is_a_failed_post_with_the_reason() -> None:
    graph = FakeGraphActions()
    denied = {
        "message": "(#200) Requires pages_manage_posts permission",
        "type": "OAuthException",
        "code": 200,
    }
    graph.script = [(403, {"error": denied}, {})]
    sleeps: list[float] = []
    done = await graph_executor(graph, sleeps=sleeps).run(post())
    assert (done.status, done.error, done.platform_result_id) == (ActionStatus.FAILED, "graph_200", None)
    assert len(graph.calls) == 1 and sleeps == []


async def test_a_post_without_text_is_refused_before_any_call() -> None:
    graph = FakeGraphActions()
    done = await graph_executor(graph).run(post().model_copy(update={"text": None}))
    assert (done.status, done.error) == (ActionStatus.FAILED, "no_text")
    assert graph.calls == []


async def test_instagram_refuses_a_text_post_without_calling() -> None:
    graph = FakeGraphActions()
    done = await graph_executor(graph).run(post(Platform.INSTAGRAM, IG_USER_ID))
    assert (done.status, done.error) == (ActionStatus.FAILED, "unsupported_action")
    assert graph.calls == []


# --- X -----------------------------------------------------------------------------------------------------


async def test_a_live_x_post_is_a_tweet_without_a_reply_field(fake_x: FakeXActions) -> None:
    done = await x_harness(fake_x).run(x_post())
    assert (done.status, done.platform_result_id) == (ActionStatus.DONE, "1880000000000000001")
    assert [(c.method, c.path, c.json) for c in fake_x.calls] == [("POST", "/2/tweets", {"text": TEXT})]
    assert fake_x.calls[0].headers["authorization"] == "Bearer x-user-token"


async def test_a_redelivered_x_post_is_sent_once(fake_x: FakeXActions) -> None:
    ledger, harness, request = MemoryActionLog(), x_harness(fake_x), x_post()
    first = await settle(harness.executor, ledger, request)
    again = await settle(harness.executor, ledger, request)
    assert again == first
    assert decode(ActionCompleted, first).status is ActionStatus.DONE
    assert fake_x.paths("POST") == ["/2/tweets"]


async def test_an_x_refusal_is_a_failed_post_with_the_reason(fake_x: FakeXActions) -> None:
    duplicate = problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
    fake_x.queue("/2/tweets", 403, duplicate)
    fake_x.queue("/2/tweets", 400, {"title": "Invalid Request", "status": 400, "type": "about:blank"})
    harness = x_harness(fake_x)
    forbidden = await harness.run(x_post())
    invalid = await harness.run(x_post())
    assert (forbidden.status, forbidden.error) == (ActionStatus.FAILED, "not_allowed")
    assert (invalid.status, invalid.error) == (ActionStatus.FAILED, "invalid_request")
    assert len(fake_x.calls) == 2 and harness.sleeps == []


# --- Reddit ----------------------------------------------------------------------------------------------


def reddit_poster(fake: FakeRedditActions, target: str) -> Harness:
    configs = [AccountConfig(platform="reddit", id=REDDIT_USER, target=target)]
    return reddit_harness(fake, subreddit=configured_subreddit(Accounts(configs)))


def reddit_post(text: str = TEXT) -> ActionRequested:
    return request(Platform.REDDIT, ActionKind.POST, "", text=text, comment_key="draft:reddit-1")


async def test_a_live_reddit_post_is_a_self_post_in_the_configured_subreddit(
    fake_reddit: FakeRedditActions,
) -> None:
    created = {
        "url": "https://www.reddit.com/r/brightwater/comments/1abcde/",
        "id": "1abcde",
        "name": "t3_1abcde",
    }
    fake_reddit.queue("/api/submit", 200, {"json": {"errors": [], "data": created}})
    long_title = "Flu shots " + "x" * 400
    done = await reddit_poster(fake_reddit, "r/brightwater").run(
        reddit_post(f"\n{long_title}\nEvery clinic.")
    )
    assert (done.status, done.platform_result_id) == (ActionStatus.DONE, "t3_1abcde")
    submit = [c for c in fake_reddit.calls if c.path == "/api/submit"]
    assert len(submit) == 1 and submit[0].headers["authorization"] == "bearer reddit-token"
    assert submit[0].form == {
        "api_type": "json",
        "kind": "self",
        "sr": "brightwater",
        "title": long_title[:300],
        "text": f"\n{long_title}\nEvery clinic.",
    }


async def test_a_reddit_post_without_a_configured_subreddit_is_refused(
    fake_reddit: FakeRedditActions,
) -> None:
    for target in ("", "user/brightwater_health"):
        done = await reddit_poster(fake_reddit, target).run(reddit_post())
        assert (done.status, done.error) == (ActionStatus.FAILED, "unsupported_action")
    assert fake_reddit.calls == []


async def test_a_reddit_refusal_is_a_failed_post_with_the_reason(fake_reddit: FakeRedditActions) -> None:
    errors = [["SUBREDDIT_NOTALLOWED", "you aren't allowed to post there.", "sr"]]
    fake_reddit.queue("/api/submit", 200, {"json": {"errors": errors}})
    harness = reddit_poster(fake_reddit, "r/brightwater")
    done = await harness.run(reddit_post())
    assert (done.status, done.error) == (ActionStatus.FAILED, "reddit_subreddit_notallowed")
    assert [c.path for c in fake_reddit.calls if c.path == "/api/submit"] == ["/api/submit"]
    assert harness.sleeps == []


def test_a_reddit_title_is_the_first_line_that_says_something() -> None:
    assert title("  \n Open house Saturday \nDetails inside") == "Open house Saturday"
    assert len(title("y" * 500)) == 300


# --- YouTube -----------------------------------------------------------------------------------------------


async def test_youtube_refuses_a_text_post_without_calling() -> None:
    fake = FakeYouTubeActions()
    with serve(fake):
        done = await youtube_harness(fake).run(
            request(Platform.YOUTUBE, ActionKind.POST, "", text=TEXT, comment_key="draft:yt-1")
        )
    assert (done.status, done.error) == (ActionStatus.FAILED, "unsupported_action")
    assert fake.calls == []
