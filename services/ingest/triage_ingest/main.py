"""The ingest service (composition root): webhook receivers, pollers, replay, the outbound actions worker,
health and metrics. Everything is built here from settings; tests pass their own settings, profile and clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from secure import ContentSecurityPolicy, ReferrerPolicy, Secure, XContentTypeOptions, XFrameOptions
from secure.middleware import SecureASGIMiddleware
from triage_bus.profile import BrokerProfile
from triage_bus.settings import get_bus_settings
from triage_events import Account, Platform

from triage_ingest.accounts import Accounts, load_accounts
from triage_ingest.actions.base import PlatformClient
from triage_ingest.actions.meta import MetaGraph
from triage_ingest.actions.oauth import TokenSource
from triage_ingest.actions.reddit import RedditClient, configured_subreddit
from triage_ingest.actions.worker import ActionWorker, Executor
from triage_ingest.actions.x import XClient
from triage_ingest.actions.youtube import YouTubeClient
from triage_ingest.config import IngestSettings, get_settings
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.runner import Polling
from triage_ingest.publisher import Publisher
from triage_ingest.quota import DailyQuota, QuotaStore
from triage_ingest.replay import replay_file
from triage_ingest.sources.meta_mentions import MentionFetcher
from triage_ingest.webhooks import router as webhook_router

log = logging.getLogger(__name__)
RESPONSE_HEADERS = Secure(
    csp=ContentSecurityPolicy().default_src("'none'").frame_ancestors("'none'"),
    xfo=XFrameOptions().deny(),
    xcto=XContentTypeOptions(),
    referrer=ReferrerPolicy().no_referrer(),
)


def create_app(
    settings: IngestSettings | None = None,
    profile: BrokerProfile | None = None,
    accounts: Accounts | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    profile = profile or BrokerProfile.from_settings(get_bus_settings())
    accounts = accounts if accounts is not None else load_accounts(settings.accounts_file, settings.secret)
    publisher = Publisher(profile, accounts)
    mentions = MentionFetcher(
        settings.graph_api_url,
        lambda ig_user: accounts.credential(Platform.INSTAGRAM, ig_user, "access_token"),
    )
    tasks: set[asyncio.Task[Any]] = set()

    def background(coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        tasks.add(task)
        task.add_done_callback(_report_crash)
        task.add_done_callback(tasks.discard)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        if settings.replay_file:
            account = Account(id=settings.default_account_id, handle=settings.default_account_handle)
            background(replay_file(settings.replay_file, publisher, account, settings.replay_rate), "replay")
        http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        # The pollers first: their state file also counts the YouTube units the actions spend and keeps the
        # actions ledger.
        polling = Polling.from_settings(settings, accounts, publisher, http)
        state_store: CursorStore | None = None
        if settings.actions_enabled:
            state_store = _state_store(settings, polling)
            executor = Executor(
                _action_clients(settings, accounts, http, state_store),
                accounts,
                dry_run=settings.actions_dry_run,
                max_attempts=settings.actions_max_attempts,
            )
            worker = ActionWorker(profile, settings.actions_group_id, executor, state_store)
            background(worker.run(), "actions")
        for name, loop in polling.loops():
            background(loop, name)
        try:
            yield
        finally:
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            polling.close()
            if state_store is not None and state_store is not polling.store:
                state_store.close()
            await http.aclose()
            await mentions.aclose()
            await publisher.stop()

    app = FastAPI(title="Triage ingest", lifespan=lifespan)
    # Webhook answers are JSON for platforms, never pages: nothing may sniff, frame or run them.
    app.add_middleware(SecureASGIMiddleware, secure=RESPONSE_HEADERS)
    app.state.publisher = publisher
    app.state.accounts = accounts
    app.state.mentions = mentions
    app.include_router(webhook_router(settings, accounts, publisher, mentions))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _action_clients(
    settings: IngestSettings,
    accounts: Accounts,
    http: httpx.AsyncClient,
    quota_store: QuotaStore | None = None,
) -> dict[Platform, PlatformClient]:
    """One client per platform. `quota_store`: where YouTube units are counted (the pollers' store, so both
    spend one daily budget; in memory when none is given)."""

    def token(platform: Platform, account_id: str) -> str | None:
        return accounts.credential(platform, account_id, "access_token")

    graph = MetaGraph(http, settings.graph_api_url, token, accounts.metric_label)
    google = TokenSource(http, settings.google_token_url, accounts.credential, basic_auth=False)
    reddit_tokens = TokenSource(
        http,
        settings.reddit_auth_url,
        accounts.credential,
        basic_auth=True,
        headers={"User-Agent": settings.reddit_user_agent},
    )
    quota = DailyQuota(settings.poll_youtube_daily_quota, "youtube", quota_store)
    return {
        Platform.FACEBOOK: graph,
        Platform.INSTAGRAM: graph,
        Platform.X: XClient(http, settings.x_api_url, token, accounts.metric_label),
        Platform.YOUTUBE: YouTubeClient(http, settings.youtube_api_url, google, accounts.metric_label, quota),
        Platform.REDDIT: RedditClient(
            http,
            settings.reddit_api_url,
            reddit_tokens,
            accounts.metric_label,
            settings.reddit_user_agent,
            configured_subreddit(accounts),
        ),
    }


def _state_store(settings: IngestSettings, polling: Polling) -> CursorStore | None:
    """Where the actions keep their ledger and count YouTube units: the pollers' state store, so both spend
    one daily budget; when no poller runs, the state file if one was configured
    (`TRIAGE_INGEST_POLL_STATE_FILE`, which `triage run` sets) or if actions are live (not dry-run: a
    reply must not be sent twice after a restart), so a restart neither hands the day back nor repeats an
    action; else None (in memory: a dry run calls nothing), so nothing is written where nobody asked."""
    if polling.store is not None:
        return polling.store
    if "poll_state_file" in settings.model_fields_set or not settings.actions_dry_run:
        return CursorStore(settings.poll_state_file)
    return None


def _report_crash(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("ingest background task crashed task=%s", task.get_name(), exc_info=task.exception())


def serve() -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
