"""A daily unit budget counted on our side, for platforms that charge units per call and never say in a
response how many are left (YouTube Data API: 10,000 units a day per Google project by default, reset at
midnight Pacific). One budget serves the pollers and the actions client: they spend the same project's units.

Usage is kept per bucket and Pacific day in a `QuotaStore`: the pollers' SQLite `CursorStore` (so a restart
does not hand the day's budget back), or `MemoryQuotaStore` when no state file is configured.

Units are taken before a call is made (YouTube charges every request, failed ones included); a call the
budget cannot cover raises `QuotaExhausted` with the seconds until the reset instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from datetime import time as daytime
from typing import Protocol

from triage_ingest.polling.errors import QuotaExhausted

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    PACIFIC: timezone | ZoneInfo = ZoneInfo("America/Los_Angeles")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover (no tz database on the host)
    PACIFIC = timezone(timedelta(hours=-8))

Clock = Callable[[], float]

__all__ = ["PACIFIC", "DailyQuota", "MemoryQuotaStore", "QuotaExhausted", "QuotaStore"]


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
        """Add `units` to the day's usage (older days are dropped); returns the new total."""
        self._used = {k: v for k, v in self._used.items() if k[0] != bucket or k[1] == day}
        self._used[(bucket, day)] = self._used.get((bucket, day), 0) + units
        return self._used[(bucket, day)]


class DailyQuota:
    def __init__(
        self,
        budget: int,
        bucket: str = "youtube",
        store: QuotaStore | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.budget = budget
        self.bucket = bucket
        self._store: QuotaStore = store if store is not None else MemoryQuotaStore()
        self._clock = clock

    def day(self) -> str:
        """The quota day: the date in Pacific time, when Google resets the counters."""
        return datetime.fromtimestamp(self._clock(), PACIFIC).date().isoformat()

    def seconds_to_reset(self) -> float:
        now = self._clock()
        tomorrow = datetime.fromtimestamp(now, PACIFIC).date() + timedelta(days=1)
        return max(1.0, datetime.combine(tomorrow, daytime(0), tzinfo=PACIFIC).timestamp() - now)

    def remaining(self) -> int:
        return max(0, self.budget - self._store.quota_used(self.bucket, self.day()))

    def spend(self, units: int) -> int:
        """Take `units` for a call about to be made; returns what is left. Raises `QuotaExhausted` instead
        (nothing taken) when the day's budget cannot cover them."""
        if self.remaining() < units:
            raise QuotaExhausted(self.seconds_to_reset())
        return max(0, self.budget - self._store.add_quota(self.bucket, self.day(), units))

    def exhaust(self) -> None:
        """The platform said the quota is spent (403 quotaExceeded): believe it over our count until the
        reset."""
        left = self.remaining()
        if left:
            self._store.add_quota(self.bucket, self.day(), left)
