"""Why a poll run stopped early. The runner decides how long to wait from these; the cursor already holds
everything that was published before the failure, so the next run carries on from there."""

from __future__ import annotations


class PollFailed(Exception):
    """A run could not finish. `reason` is a short code (a metric label); `retry_after` is how long the
    platform asked us to wait, or None for the runner's jittered backoff."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RateLimited(PollFailed):
    """The platform's rate-limit window is used up (429, or a remaining count of 0): wait for its reset."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("rate_limited", retry_after)


class QuotaExhausted(PollFailed):
    """The daily quota is spent: nothing is requested until it resets."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("quota_exceeded", retry_after)
