"""The `post` action kind (a draft from the desk's Drafts page) in ingest's actions worker: a dry run
answers `dry_run` without calling the platform; live, the platform clients do not post yet and answer
`failed` / `unsupported_action` without calling anything (docs/post_check.md says what posting needs)."""

from __future__ import annotations

from uuid import uuid4

from triage_events import Account, ActionKind, ActionRequested, ActionStatus, Platform
from triage_ingest.actions.ledger import IDEMPOTENT

from tests.unit.ingest_actions_test import FakeGraph, executor
from tests.unit.ingest_fakes import PAGE_ID


def post() -> ActionRequested:
    return ActionRequested(
        event_id=uuid4(),
        action=ActionKind.POST,
        comment_key="draft:0c6a1f6e-0000-4000-8000-000000000001",
        platform=Platform.FACEBOOK,
        account=Account(id=PAGE_ID),
        platform_comment_id="",
        text="Flu shots this week at every clinic.",
        requested_by="moderator-user",
    )


async def test_a_post_runs_dry_by_default_and_calls_nothing() -> None:
    graph = FakeGraph()
    request = post()
    done = await executor(graph, dry_run=True).run(request)
    assert done.status is ActionStatus.DRY_RUN and done.action is ActionKind.POST
    assert done.comment_key == request.comment_key and done.request_id == request.event_id
    assert graph.calls == []


async def test_a_live_post_is_refused_not_sent() -> None:
    graph = FakeGraph()
    done = await executor(graph).run(post())
    assert done.status is ActionStatus.FAILED and done.error == "unsupported_action"
    assert graph.calls == []
    assert ActionKind.POST not in IDEMPOTENT  # an interrupted post is never sent twice
