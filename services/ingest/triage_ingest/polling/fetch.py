"""The one GET every poller makes: transport failures, server errors and non-JSON bodies become
`PollFailed` with a reason, so platform clients only interpret the statuses that mean something to them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from triage_ingest.polling.errors import PollFailed


async def get(
    http: httpx.AsyncClient, url: str, params: Mapping[str, Any], headers: Mapping[str, str]
) -> httpx.Response:
    """The response, whatever its status (the caller reads rate-limit headers first); a transport error
    (refused, reset, timed out) raises `PollFailed("network")`."""
    try:
        return await http.get(url, params=dict(params), headers=dict(headers))
    except httpx.HTTPError as exc:
        raise PollFailed("network") from exc


def json_body(response: httpx.Response) -> Any:
    """The parsed body, or `PollFailed("bad_response")` when it is not JSON."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise PollFailed("bad_response") from None


def raise_for_server_error(response: httpx.Response) -> None:
    """5xx: the platform's trouble, retried with backoff."""
    if response.status_code >= 500:
        raise PollFailed("server_error")
