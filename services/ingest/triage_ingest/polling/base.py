"""What every poller shares: its options, the protocol the runner drives, and a rate-limit gate."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httpx
from triage_events import Platform

from triage_ingest.polling.errors import RateLimited
from triage_ingest.rate_limits import Clock, RateHeaders, header_number, record_remaining, reset_in


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
