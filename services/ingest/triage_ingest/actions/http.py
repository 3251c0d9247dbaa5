"""What every platform client shares: sending a request, reading a JSON body, and turning rate-limit and
error signals into `ActionFailed` the same way everywhere.

One place decides what "try again later" looks like: 429 and 5xx are transient, a network error is
transient, 401 is a bad token, and the wait comes from `Retry-After` (seconds or an HTTP date) or, where a
platform has no Retry-After, from its rate-limit reset header (X: epoch seconds; Reddit: seconds from now).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from triage_events import ActionRequested, Platform

from triage_ingest import metrics
from triage_ingest.actions.base import ActionFailed

Clock = Callable[[], float]


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; a connection or timeout error becomes a transient `network` failure."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError:
        raise ActionFailed("network", transient=True) from None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object; anything else (empty, HTML error page, a list) as {}."""
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def require_text(request: ActionRequested) -> str:
    """The reply text, which a reply or private reply cannot do without."""
    if not request.text:
        raise ActionFailed("no_text", transient=False)
    return request.text


def retry_after(
    response: httpx.Response,
    reset_header: str | None = None,
    reset_is_epoch: bool = False,
    clock: Clock = time.time,
) -> float | None:
    """Seconds to wait before trying again, if the platform said: Retry-After first, then `reset_header`."""
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
    reset = _number(response.headers.get(reset_header, "")) if reset_header else None
    if reset is None:
        return None
    return max(0.0, reset - clock()) if reset_is_epoch else max(0.0, reset)


def failure(response: httpx.Response, reason: str | None = None, delay: float | None = None) -> ActionFailed:
    """The common mapping of an unsuccessful answer; `reason` names a permanent failure more precisely."""
    status = response.status_code
    if status == 429:
        return ActionFailed("rate_limited", transient=True, retry_after=delay)
    if status >= 500:
        return ActionFailed(f"http_{status}", transient=True, retry_after=delay)
    if status == 401:
        return ActionFailed("invalid_token", transient=False)
    return ActionFailed(reason or f"http_{status}", transient=False)


def record_remaining(platform: Platform, account_label: str, remaining: float | None) -> None:
    """Publish what the platform says is left of the current window (or daily budget), when it says."""
    if remaining is not None:
        metrics.QUOTA_REMAINING.labels(platform.value, account_label).set(max(0.0, remaining))


def header_number(response: httpx.Response, name: str) -> float | None:
    return _number(response.headers.get(name, ""))


def _number(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None
