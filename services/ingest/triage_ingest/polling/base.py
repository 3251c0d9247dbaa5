"""What every poller shares: its options, the protocol the runner drives, and a rate-limit gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from triage_events import Platform

from triage_ingest.polling.errors import RateLimited

Clock = Callable[[], float]


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
    """Remembers that the platform's window is used up (a remaining count of 0) until it resets, so the
    next request is not sent only to be refused."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._until = 0.0

    def check(self) -> None:
        wait = self._until - self._clock()
        if wait > 0:
            raise RateLimited(wait)

    def close_until(self, when: float) -> None:
        self._until = max(self._until, when)


def number(value: str | None) -> float | None:
    """A numeric header (`x-rate-limit-remaining: 12`, `X-Ratelimit-Remaining: 99.0`), None if absent/bad."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
