"""What every poller shares: its options, the protocol the runner drives, what it holds for its account (its
cursor, where its pages go), and a rate-limit gate."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx
from triage_events import Platform

from triage_ingest.accounts import Accounts
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import RateLimited
from triage_ingest.polling.sink import Sink
from triage_ingest.rate_limits import Clock, RateHeaders, header_number, record_remaining, reset_in
from triage_ingest.sources.base import Batch


@dataclass(frozen=True)
class PollOptions:
    page_size: int = 100
    max_pages: int = 10  # per run; a longer backlog continues on the next run from the saved cursor
    backfill_pages: int = 1  # on an account's first run, when there is no cursor yet


class Poller(Protocol):
    platform: Platform
    account_id: str

    async def run_once(self) -> int:
        """Fetch what is new, publish it, advance the cursor; returns the events published. Raises
        `PollFailed` (with what was published so far already saved in the cursor)."""
        ...


@dataclass(frozen=True)
class PollContext:
    """What the pollers of one service share: the HTTP client, the cursor store, the sink pages are
    delivered to, the accounts, and the paging options."""

    http: httpx.AsyncClient
    store: CursorStore
    sink: Sink
    accounts: Accounts
    options: PollOptions


class AccountPoller:
    """What a poller holds for its one account: the shared context, and the account's cursor (kept in the
    store under the platform and account id)."""

    platform: Platform

    def __init__(self, account_id: str, context: PollContext) -> None:
        self.account_id = account_id
        self._context = context

    def _stored(self) -> dict[str, Any]:
        """The account's saved cursor as stored ({} before its first run); each poller reads its own shape."""
        return self._context.store.get(self.platform.value, self.account_id)

    def _save(self, cursor: Any) -> None:
        """Keep `cursor` (a dataclass) as the account's cursor."""
        self._context.store.put(self.platform.value, self.account_id, asdict(cursor))

    async def _deliver(self, batch: Batch, parts: Mapping[str, Any]) -> int:
        """Publish one normalised page; `parts` maps each problem's `where` to its raw item."""
        return await self._context.sink.deliver(self.platform, self.account_id, batch, parts)

    def _metric_label(self) -> str:
        return self._context.accounts.metric_label(self.platform, self.account_id)


class RateGate:
    """Reads a platform's rate-limit headers on every answer (the remaining count becomes the quota gauge)
    and remembers that the window is used up (a remaining count of 0) until it resets, so the next request
    is not sent only to be refused."""

    def __init__(
        self, headers: RateHeaders, platform: Platform, account_label: str, clock: Clock = time.time
    ) -> None:
        self._headers = headers
        self._platform = platform
        self._label = account_label
        self._clock = clock
        self._until = 0.0

    def check(self) -> None:
        wait = self._until - self._clock()
        if wait > 0:
            raise RateLimited(wait)

    def read(self, response: httpx.Response) -> float | None:
        """Seconds until the window resets (None when the platform does not say); closes the gate until
        then when nothing is left of the window."""
        remaining = header_number(response, self._headers.remaining)
        wait = reset_in(response, self._headers, self._clock)
        record_remaining(self._platform, self._label, remaining)
        if remaining is not None and remaining < 1 and wait is not None:
            self._until = max(self._until, self._clock() + wait)
        return wait
