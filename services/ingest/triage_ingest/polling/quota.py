"""A daily unit budget that resets at midnight Pacific time (YouTube Data API quota), kept in the cursor
store so that a restart does not hand back what was already spent today.

Units are counted before the call is made: YouTube charges every request, failed ones included.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as daytime
from zoneinfo import ZoneInfo

from triage_ingest.polling.base import Clock
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import QuotaExhausted

PACIFIC = ZoneInfo("America/Los_Angeles")


class DailyQuota:
    def __init__(self, store: CursorStore, bucket: str, daily: int, clock: Clock = time.time) -> None:
        self._store = store
        self.bucket = bucket
        self.daily = daily
        self._clock = clock

    def day(self) -> str:
        return datetime.fromtimestamp(self._clock(), PACIFIC).date().isoformat()

    def seconds_to_reset(self) -> float:
        now = self._clock()
        tomorrow = datetime.fromtimestamp(now, PACIFIC).date() + timedelta(days=1)
        return max(1.0, datetime.combine(tomorrow, daytime(0), tzinfo=PACIFIC).timestamp() - now)

    def remaining(self) -> int:
        return max(0, self.daily - self._store.quota_used(self.bucket, self.day()))

    def spend(self, units: int) -> int:
        """Take `units` for a call about to be made; returns what is left. Raises `QuotaExhausted` instead
        when the day's budget cannot cover them."""
        if self.remaining() < units:
            raise QuotaExhausted(self.seconds_to_reset())
        return max(0, self.daily - self._store.add_quota(self.bucket, self.day(), units))

    def exhaust(self) -> None:
        """The platform said the quota is spent (403 quotaExceeded): believe it until the reset."""
        left = self.remaining()
        if left:
            self._store.add_quota(self.bucket, self.day(), left)
