"""What every platform client shares: sending a request, reading a JSON body, and turning rate-limit and
error signals into `ActionFailed` the same way everywhere.

One place decides what "try again later" looks like: 429 and 5xx are transient, a network error is
transient, 401 is a bad token, and the wait comes from `triage_ingest.rate_limits.retry_after` (shared with
the pollers).
"""

from __future__ import annotations

from typing import Any

import httpx
from triage_events import ActionRequested

from triage_ingest.actions.base import ActionFailed


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; a connection or timeout error becomes a transient `network` failure. Only a failure to
    connect is sure not to have reached the platform."""
    try:
        return await http.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout):
        raise ActionFailed("network", transient=True) from None
    except httpx.TransportError:
        raise ActionFailed("network", transient=True, maybe_applied=True) from None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object; anything else (empty, HTML error page, a list) as {}."""
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def require_text(request: ActionRequested) -> str:
    """The text, which a reply, private reply or post cannot do without."""
    if not request.text:
        raise ActionFailed("no_text", transient=False)
    return request.text


def failure(response: httpx.Response, reason: str | None = None, delay: float | None = None) -> ActionFailed:
    """The common mapping of an unsuccessful answer; `reason` names a permanent failure more precisely."""
    status = response.status_code
    if status == 429:
        return ActionFailed("rate_limited", transient=True, retry_after=delay)
    if status >= 500:
        return ActionFailed(f"http_{status}", transient=True, retry_after=delay, maybe_applied=True)
    if status == 401:
        return ActionFailed("invalid_token", transient=False)
    return ActionFailed(reason or f"http_{status}", transient=False)
