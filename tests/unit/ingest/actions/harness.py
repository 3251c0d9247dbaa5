"""What the actions clients' tests share: an executor over one platform client with its waits recorded,
built against the platform fakes (X, YouTube, Reddit over real HTTP; the Graph API in process), and the
requests they are given."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from triage_bus.profile import BrokerProfile
from triage_events import Account, ActionKind, ActionRequested, Platform
from triage_ingest.accounts import Accounts
from triage_ingest.actions.base import PlatformClient
from triage_ingest.actions.meta import MetaGraph
from triage_ingest.actions.oauth import TokenSource
from triage_ingest.actions.reddit import RedditClient, Subreddit
from triage_ingest.actions.worker import Executor
from triage_ingest.actions.x import XClient
from triage_ingest.actions.youtube import YouTubeClient
from triage_ingest.polling.runner import Polling
from triage_ingest.publisher import Publisher
from triage_ingest.quota import DailyQuota

from tests.fakes.accounts import REDDIT_USER, X_ACCOUNT, YT_CHANNEL, platform_accounts
from tests.fakes.meta import FakeGraphActions
from tests.fakes.reddit import FakeRedditActions
from tests.fakes.x import FakeXActions
from tests.fakes.youtube import FakeYouTubeActions
from tests.ingest_support import accounts as meta_accounts

REPLY = "Thank you for reaching out. Please call our nurse line so we can help."
NOW = 1767225600.0


class Harness:
    """An executor over one platform client, with the waits it asked for recorded instead of slept."""

    def __init__(self, platform: Platform, client: PlatformClient, http: httpx.AsyncClient) -> None:
        self.sleeps: list[float] = []
        self.http = http

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.executor = Executor(
            {platform: client}, platform_accounts(), dry_run=False, max_attempts=3, max_delay=600, sleep=sleep
        )

    async def run(self, request: ActionRequested) -> Any:
        return await self.executor.run(request)


def x_harness(fake: FakeXActions, accounts: Accounts | None = None) -> Harness:
    known = accounts or platform_accounts()
    http = httpx.AsyncClient(timeout=5)

    def token(platform: Platform, account_id: str) -> str | None:
        return known.credential(platform, account_id, "access_token")

    return Harness(
        Platform.X, XClient(http, fake.base_url, token, known.metric_label, clock=lambda: NOW), http
    )


def youtube_harness(
    fake: FakeYouTubeActions, quota: DailyQuota | None = None, accounts: Accounts | None = None
) -> Harness:
    known = accounts or platform_accounts()
    http = httpx.AsyncClient(timeout=5)
    tokens = TokenSource(http, f"{fake.base_url}/token", known.credential, basic_auth=False)
    client = YouTubeClient(http, f"{fake.base_url}/youtube/v3", tokens, known.metric_label, quota)
    return Harness(Platform.YOUTUBE, client, http)


def reddit_harness(
    fake: FakeRedditActions, accounts: Accounts | None = None, subreddit: Subreddit | None = None
) -> Harness:
    known = accounts or platform_accounts()
    http = httpx.AsyncClient(timeout=5)
    agent = "server:triage-test:1.0 (by /u/brightwater_health)"
    tokens = TokenSource(
        http,
        f"{fake.base_url}/api/v1/access_token",
        known.credential,
        basic_auth=True,
        headers={"User-Agent": agent},
    )
    return Harness(
        Platform.REDDIT, RedditClient(http, fake.base_url, tokens, known.metric_label, agent, subreddit), http
    )


def request(platform: Platform, action: ActionKind, comment_id: str, **overrides: Any) -> ActionRequested:
    account = {Platform.X: X_ACCOUNT, Platform.YOUTUBE: YT_CHANNEL, Platform.REDDIT: REDDIT_USER}[platform]
    handle = {
        Platform.X: "@brightwater",
        Platform.YOUTUBE: "@brightwaterhealth",
        Platform.REDDIT: "u/brightwater_health",
    }
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "action": action,
        "comment_key": f"{platform.value}:{account}:{comment_id}",
        "platform": platform,
        "account": Account(id=account, handle=handle[platform]),
        "platform_comment_id": comment_id,
        "text": REPLY if action in (ActionKind.REPLY, ActionKind.PRIVATE_REPLY) else None,
        "requested_by": "moderator:jlee",
    }
    return ActionRequested(**{**fields, **overrides})


def polling(config: Any, accounts: Accounts, http: httpx.AsyncClient) -> Polling:
    """The pollers as the service builds them (nothing is polled: no loop is started)."""
    return Polling.from_settings(
        config, accounts, Publisher(BrokerProfile("127.0.0.1:1", embedded=True), accounts), http
    )


TOKEN = "page-token-abc"


def graph_executor(
    graph: FakeGraphActions, dry_run: bool = False, sleeps: list[float] | None = None
) -> Executor:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler))
    client = MetaGraph(http, "https://graph.test/v23.0", lambda _p, _a: TOKEN, lambda _p, a: a)
    clients = {Platform.FACEBOOK: client, Platform.INSTAGRAM: client}
    return Executor(clients, meta_accounts(), dry_run=dry_run, max_attempts=4, base_delay=1.0, sleep=sleep)
