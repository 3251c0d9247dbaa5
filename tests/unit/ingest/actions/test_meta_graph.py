"""Outbound actions against a fake Graph API (httpx MockTransport reproducing Graph's documented
responses): the right calls per action and platform, retries with backoff on throttling and 5xx, permanent
errors reported, dry-run by default, usage headers as quota."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import httpx
from triage_events import Account, ActionKind, ActionRequested, ActionStatus, Platform
from triage_ingest.actions.meta import MetaGraph
from triage_ingest.actions.worker import Executor

from tests.fakes.meta import FakeGraphActions
from tests.ingest_support import IG_USER_ID, PAGE_ID, accounts, metric
from tests.unit.ingest.actions.harness import TOKEN, graph_executor


def request(action: ActionKind, platform: Platform = Platform.FACEBOOK, **overrides: Any) -> ActionRequested:
    account = PAGE_ID if platform is Platform.FACEBOOK else IG_USER_ID
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "action": action,
        "comment_key": f"{platform.value}:{account}:c1",
        "platform": platform,
        "account": Account(id=account),
        "platform_comment_id": "c1",
        "text": "Thanks for reaching out. Please call our nurse line at 555 0100.",
        "requested_by": "staff:42",
    }
    return ActionRequested(**{**fields, **overrides})


async def test_facebook_calls_per_action() -> None:
    graph = FakeGraphActions()
    run = graph_executor(graph).run
    reply = await run(request(ActionKind.REPLY))
    await run(request(ActionKind.HIDE))
    await run(request(ActionKind.UNHIDE))
    await run(request(ActionKind.DELETE))
    await run(request(ActionKind.PRIVATE_REPLY))
    assert reply.status is ActionStatus.DONE and reply.platform_result_id == "998877665544332_999"
    assert [(m, p, b) for m, p, b, _ in graph.calls] == [
        (
            "POST",
            "/v23.0/c1/comments",
            {"message": "Thanks for reaching out. Please call our nurse line at 555 0100."},
        ),
        ("POST", "/v23.0/c1", {"is_hidden": "true"}),
        ("POST", "/v23.0/c1", {"is_hidden": "false"}),
        ("DELETE", "/v23.0/c1", {}),
        (
            "POST",
            f"/v23.0/{PAGE_ID}/messages",
            {
                "recipient": {"comment_id": "c1"},
                "message": {"text": "Thanks for reaching out. Please call our nurse line at 555 0100."},
            },
        ),
    ]
    assert all(auth == f"Bearer {TOKEN}" for *_, auth in graph.calls)
    assert all(TOKEN not in path for _, path, _, _ in graph.calls)


async def test_instagram_reply_and_hide_use_instagram_endpoints() -> None:
    graph = FakeGraphActions()
    await graph_executor(graph).run(request(ActionKind.REPLY, Platform.INSTAGRAM))
    await graph_executor(graph).run(request(ActionKind.HIDE, Platform.INSTAGRAM))
    assert graph.calls[0][1] == "/v23.0/c1/replies"
    assert graph.calls[1][1:3] == ("/v23.0/c1", {"hide": "true"})


async def test_throttling_and_server_errors_are_retried_with_backoff() -> None:
    graph = FakeGraphActions()
    graph.script = [
        (429, {"error": {"message": "Too many calls", "code": 4}}, {}),
        (400, {"error": {"message": "User request limit reached", "code": 17, "is_transient": True}}, {}),
        (503, {"error": {"message": "Service temporarily unavailable", "code": 2}}, {"Retry-After": "7"}),
    ]
    sleeps: list[float] = []
    completed = await graph_executor(graph, sleeps=sleeps).run(request(ActionKind.HIDE))
    assert completed.status is ActionStatus.DONE
    assert len(graph.calls) == 4
    assert sleeps == [1.0, 2.0, 7.0]


async def test_permanent_errors_fail_without_retry() -> None:
    graph = FakeGraphActions()
    graph.script = [
        (
            400,
            {"error": {"message": "Unsupported post request", "type": "GraphMethodException", "code": 100}},
            {},
        )
    ]
    before = metric(
        "triage_ingest_actions_total",
        platform="facebook",
        account=PAGE_ID,
        action="delete",
        reason="graph_100",
    )
    completed = await graph_executor(graph).run(request(ActionKind.DELETE))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "graph_100")
    assert len(graph.calls) == 1
    after = metric(
        "triage_ingest_actions_total",
        platform="facebook",
        account=PAGE_ID,
        action="delete",
        reason="graph_100",
    )
    assert after == before + 1

    graph.script = [(401, {"error": {"message": "Error validating access token", "code": 190}}, {})]
    expired = await graph_executor(graph).run(request(ActionKind.HIDE))
    assert expired.error == "invalid_token"


async def test_retries_give_up_after_max_attempts() -> None:
    graph = FakeGraphActions()
    graph.script = [(500, {"error": {"code": 1, "message": "An unknown error occurred"}}, {})] * 4
    completed = await graph_executor(graph).run(request(ActionKind.HIDE))
    assert (completed.status, completed.error) == (ActionStatus.FAILED, "http_500")
    assert len(graph.calls) == 4


async def test_dry_run_calls_nothing() -> None:
    graph = FakeGraphActions()
    completed = await graph_executor(graph, dry_run=True).run(request(ActionKind.DELETE))
    assert completed.status is ActionStatus.DRY_RUN and graph.calls == []


async def test_reply_without_text_and_unknown_platform_fail_cleanly() -> None:
    graph = FakeGraphActions()
    no_text = await graph_executor(graph).run(request(ActionKind.REPLY, text=None))
    assert (no_text.status, no_text.error) == (ActionStatus.FAILED, "no_text")
    x = await graph_executor(graph).run(
        request(ActionKind.HIDE, platform=Platform.X, account=Account(id="x1"))
    )
    assert x.error == "unsupported_platform"
    assert graph.calls == []


async def test_usage_headers_become_quota_remaining() -> None:
    graph = FakeGraphActions()
    usage = json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25})
    graph.script = [(200, {"success": True}, {"X-App-Usage": usage})]
    await graph_executor(graph).run(request(ActionKind.HIDE))
    assert metric("triage_ingest_api_quota_remaining_requests", platform="facebook", account=PAGE_ID) == 72


async def test_a_reply_the_platform_may_have_posted_is_not_posted_again() -> None:
    """A 5xx answer may come after the platform posted the reply: a public reply is never sent twice, the
    desk sees `outcome_unknown`. A refusal that says nothing was done (429, throttling) is retried."""
    graph = FakeGraphActions()
    graph.script = [(503, {"error": {"message": "Service temporarily unavailable", "code": 2}}, {})]
    unknown = await graph_executor(graph).run(request(ActionKind.REPLY))
    assert (unknown.status, unknown.error) == (ActionStatus.FAILED, "outcome_unknown")
    assert len(graph.calls) == 1

    graph = FakeGraphActions()
    graph.script = [(429, {"error": {"message": "Too many calls", "code": 4}}, {})]
    throttled = await graph_executor(graph).run(request(ActionKind.REPLY))
    assert throttled.status is ActionStatus.DONE
    assert len(graph.calls) == 2


async def test_a_reply_that_never_reached_the_platform_is_retried_but_a_timed_out_one_is_not() -> None:
    attempts: list[str] = []

    def refuse_then_answer(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"id": "998877665544332_999"})

    def time_out(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ReadTimeout("no answer", request=request)

    async def no_sleep(_seconds: float) -> None:
        return None

    for handler, expected, calls in (
        (refuse_then_answer, (ActionStatus.DONE, None), 2),
        (time_out, (ActionStatus.FAILED, "outcome_unknown"), 1),
    ):
        attempts.clear()
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = MetaGraph(http, "https://graph.test/v23.0", lambda _p, _a: TOKEN, lambda _p, a: a)
        run = Executor({Platform.FACEBOOK: client}, accounts(), dry_run=False, sleep=no_sleep)
        completed = await run.run(request(ActionKind.REPLY))
        assert (completed.status, completed.error) == expected
        assert len(attempts) == calls
