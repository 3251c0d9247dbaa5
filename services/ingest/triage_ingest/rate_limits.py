"""What pollers and action clients read the same way from a platform's answer: numeric headers, how long to
wait (`Retry-After`, seconds or an HTTP date, else the platform's rate-limit reset header), Google's error
reason, and the remaining-quota gauge. Each side turns these into its own failures (`PollFailed`,
`ActionFailed`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
from triage_events import Platform

from triage_ingest import metrics

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateHeaders:
    """A platform's rate-limit headers: the requests left in the window, and when the window resets."""

    remaining: str
    reset: str
    reset_is_epoch: bool  # the reset is an instant (epoch seconds), else seconds from now


X_RATE_HEADERS = RateHeaders("x-rate-limit-remaining", "x-rate-limit-reset", reset_is_epoch=True)
REDDIT_RATE_HEADERS = RateHeaders("x-ratelimit-remaining", "x-ratelimit-reset", reset_is_epoch=False)


def header_number(response: httpx.Response, name: str) -> float | None:
    """A numeric header (`x-rate-limit-remaining: 12`, `X-Ratelimit-Remaining: 99.0`), None if absent/bad."""
    try:
        return float(response.headers.get(name, "").strip())
    except ValueError:
        return None


def reset_in(response: httpx.Response, headers: RateHeaders, clock: Clock = time.time) -> float | None:
    """Seconds until the rate-limit window resets, from the platform's reset header (None if it says not)."""
    reset = header_number(response, headers.reset)
    if reset is None:
        return None
    return max(0.0, reset - clock()) if headers.reset_is_epoch else max(0.0, reset)


def retry_after(
    response: httpx.Response, headers: RateHeaders | None = None, clock: Clock = time.time
) -> float | None:
    """Seconds to wait before trying again, if the platform said: Retry-After first, then its reset header."""
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - clock())
        except (TypeError, ValueError):
            pass
    return reset_in(response, headers, clock) if headers is not None else None


def record_remaining(platform: Platform, account_label: str, remaining: float | None) -> None:
    """Publish what the platform says is left of the current window (or daily budget), when it says."""
    if remaining is not None:
        metrics.QUOTA_REMAINING.labels(platform.value, account_label).set(max(0.0, remaining))


def google_error_reason(response: httpx.Response) -> str | None:
    """The first `error.errors[].reason` of a Google API error body (`quotaExceeded`, `invalidPageToken`,
    `rateLimitExceeded`, …); None for a success or a body without one."""
    if response.is_success:
        return None
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason")
    return reason if isinstance(reason, str) and reason else None
