"""Runs the pollers: one asyncio task per configured X, YouTube and Reddit account.

Each task polls, waits `poll_interval_s` (jittered, so accounts drift apart), and polls again. A failed run
waits what the platform asked for (a rate-limit reset, the quota's midnight) or an exponential backoff with
full jitter; whatever the run published before failing is already in its cursor. Accounts without the
credentials their platform needs are reported and skipped, and with no such accounts nothing polls (and no
state file is created), so the demo is unaffected.

Credentials (names in the accounts file, values from the environment or secrets file):
X `bearer_token`; YouTube `api_key` or `access_token`; Reddit `client_id`, `client_secret`, and for a script
app `username` and `password`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from triage_events import Platform

from triage_ingest import metrics
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.config import IngestSettings
from triage_ingest.polling.base import PollContext, Poller, PollOptions
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import PollFailed
from triage_ingest.polling.reddit import RedditComments, RedditToken
from triage_ingest.polling.sink import Sink
from triage_ingest.polling.x import XMentions
from triage_ingest.polling.youtube import YouTubeThreads
from triage_ingest.publisher import Publisher
from triage_ingest.quota import DailyQuota

log = logging.getLogger(__name__)

POLLED = (Platform.X, Platform.YOUTUBE, Platform.REDDIT)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Schedule:
    interval_s: float = 120.0
    backoff_initial_s: float = 5.0
    backoff_max_s: float = 900.0

    def next_poll(self) -> float:
        return self.interval_s * random.uniform(0.9, 1.1)

    def backoff(self, failures: int) -> float:
        """Exponential, capped, with full jitter (so many accounts failing together do not retry together)."""
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def after(self, exc: PollFailed, failures: int) -> float:
        """How long to wait after a failed run: the platform's own wait (plus a little jitter) if it gave
        one, the backoff otherwise."""
        if exc.retry_after is not None:
            return exc.retry_after + random.uniform(0, min(1.0, exc.retry_after / 10))
        return self.backoff(failures)


async def poll_forever(
    poller: Poller, schedule: Schedule, accounts: Accounts, sleep: Sleep = asyncio.sleep
) -> None:
    """Poll until cancelled. Never raises: every failure is logged, counted and waited out."""
    platform = poller.platform.value
    label = accounts.metric_label(poller.platform, poller.account_id)
    failures = 0
    while True:
        started = time.perf_counter()
        try:
            published = await poller.run_once()
        except PollFailed as exc:
            failures += 1
            outcome, delay = exc.reason, schedule.after(exc, failures)
            metrics.ERRORS.labels(platform, label, exc.reason).inc()
            log.warning(
                "poll failed platform=%s account=%s reason=%s retry_in_s=%.1f",
                platform,
                poller.account_id,
                exc.reason,
                delay,
            )
        except Exception:
            failures += 1
            outcome, delay = "error", schedule.backoff(failures)
            metrics.ERRORS.labels(platform, label, "poll_error").inc()
            log.exception("poll crashed platform=%s account=%s", platform, poller.account_id)
        else:
            failures = 0
            outcome, delay = "ok", schedule.next_poll()
            metrics.POLL_LAST_SUCCESS.labels(platform, label).set(time.time())
            log.info("poll done platform=%s account=%s published=%d", platform, poller.account_id, published)
        metrics.POLL_DURATION.labels(platform, outcome).observe(time.perf_counter() - started)
        await sleep(delay)


class Polling:
    """The pollers of this service, built from settings and accounts; `close` releases the state file."""

    def __init__(
        self, pollers: list[Poller], store: CursorStore | None, schedule: Schedule, accounts: Accounts
    ) -> None:
        self.pollers = pollers
        self.store = store
        self.schedule = schedule
        self._accounts = accounts

    @classmethod
    def from_settings(
        cls, settings: IngestSettings, accounts: Accounts, publisher: Publisher, http: httpx.AsyncClient
    ) -> Polling:
        schedule = Schedule(
            settings.poll_interval_s, settings.poll_backoff_initial_s, settings.poll_backoff_max_s
        )
        configs = accounts.configs(*POLLED) if settings.poll_enabled else []
        if not configs:
            return cls([], None, schedule, accounts)
        store = CursorStore(settings.poll_state_file)
        builder = _Builder(settings, accounts, publisher, http, store)
        pollers = [p for p in map(builder.build, configs) if p is not None]
        return cls(pollers, store, schedule, accounts)

    def loops(self, sleep: Sleep = asyncio.sleep) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(task name, coroutine) for each poller, for the service to run in the background."""
        return [
            (f"poll:{p.platform.value}:{p.account_id}", poll_forever(p, self.schedule, self._accounts, sleep))
            for p in self.pollers
        ]

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class _Builder:
    def __init__(
        self,
        settings: IngestSettings,
        accounts: Accounts,
        publisher: Publisher,
        http: httpx.AsyncClient,
        store: CursorStore,
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        options = PollOptions(settings.poll_page_size, settings.poll_max_pages, settings.poll_backfill_pages)
        self.context = PollContext(http, store, Sink(publisher, accounts), accounts, options)
        # One YouTube project (API key) serves every channel: one budget for all of them.
        self.youtube_quota = DailyQuota(settings.poll_youtube_daily_quota, "youtube", store)

    def build(self, config: AccountConfig) -> Poller | None:
        def credential(name: str) -> str | None:
            return self.accounts.credential(config.platform, config.id, name)

        s = self.settings
        poller: Poller | None = None
        if config.platform is Platform.X and (bearer := credential("bearer_token")):
            poller = XMentions(config.id, bearer, s.x_api_url, self.context)
        elif config.platform is Platform.YOUTUBE:
            key = next(((n, v) for n in ("access_token", "api_key") if (v := credential(n))), None)
            if key is not None:
                poller = YouTubeThreads(config.id, key, s.youtube_api_url, self.context, self.youtube_quota)
        elif config.platform is Platform.REDDIT:
            poller = self._reddit(config, credential)
        if poller is None:
            metrics.ERRORS.labels(config.platform.value, config.id, "no_credentials").inc()
            log.warning(
                "poller not started platform=%s account=%s: credentials missing", config.platform, config.id
            )
        return poller

    def _reddit(self, config: AccountConfig, credential: Callable[[str], str | None]) -> Poller | None:
        client_id, secret = credential("client_id"), credential("client_secret")
        if not client_id or not secret:
            return None
        target = config.target or f"r/{config.id}"
        if not target.startswith(("r/", "user/")):
            log.warning("reddit target must be r/<sub> or user/<name> account=%s", config.id)
            return None
        s = self.settings
        token = RedditToken(
            self.context.http,
            s.reddit_auth_url,
            s.reddit_user_agent,
            client_id,
            secret,
            credential("username"),
            credential("password"),
        )
        return RedditComments(
            config.id,
            target,
            token,
            s.reddit_api_url,
            s.reddit_user_agent,
            self.context,
        )
