"""A daily quota budget counted on our side, for platforms that charge units per call and never say in a
response how many are left (YouTube Data API: 10,000 units a day per Google project by default, reset at
midnight Pacific).

Usage is kept per bucket and Pacific day in a `QuotaStore`: in memory by default, or the pollers' SQLite
`CursorStore` (same `quota_used` / `add_quota` methods), so that actions and pollers spending the same
project's units count them in one place and a restart does not hand the day's budget back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    PACIFIC: timezone | ZoneInfo = ZoneInfo("America/Los_Angeles")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover (no tz database on the host)
    PACIFIC = timezone(timedelta(hours=-8))


class QuotaStore(Protocol):
    def quota_used(self, bucket: str, day: str) -> int: ...

    def add_quota(self, bucket: str, day: str, units: int) -> int: ...


class MemoryQuotaStore:
    """Per-process usage: an estimate from below after a restart, still enough to see the day run out."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, str], int] = {}

    def quota_used(self, bucket: str, day: str) -> int:
        return self._used.get((bucket, day), 0)

    def add_quota(self, bucket: str, day: str, units: int) -> int:
        self._used = {k: v for k, v in self._used.items() if k[0] != bucket or k[1] == day}
        self._used[(bucket, day)] = self._used.get((bucket, day), 0) + units
        return self._used[(bucket, day)]


class DailyQuota:
    def __init__(
        self,
        budget: int,
        bucket: str = "youtube",
        store: QuotaStore | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.budget = budget
        self.bucket = bucket
        self._store = store or MemoryQuotaStore()
        self._now = now or (lambda: datetime.now(PACIFIC))

    def day(self) -> str:
        """The quota day: the date in Pacific time, when Google resets the counters."""
        return self._now().astimezone(PACIFIC).date().isoformat()

    def spend(self, units: int) -> int:
        """Count `units` against today's budget; returns what is left (never below zero)."""
        return max(0, self.budget - self._store.add_quota(self.bucket, self.day(), units))

    def exhaust(self) -> None:
        """The platform said the quota is gone: trust it over our count until the day turns."""
        self.spend(self.remaining())

    def remaining(self) -> int:
        return max(0, self.budget - self._store.quota_used(self.bucket, self.day()))
