"""What every platform client shares: its base (`ApiClient`: the HTTP client, the API's base URL, the
bearer token on each request, the quota gauge; `StaticTokenClient` for configured tokens, `OAuthClient` in
`oauth` for exchanged ones), sending a request, reading a JSON body, and turning rate-limit and error signals
into `ActionFailed` the same way everywhere.

One place decides what "try again later" looks like: 429 and 5xx are transient, a network error is
transient, 401 is a bad token, and the wait comes from `triage_ingest.rate_limits.retry_after` (shared with
the pollers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from triage_events import ActionRequested, Platform

from triage_ingest.actions.base import ActionFailed
from triage_ingest.rate_limits import record_remaining

AccountLabel = Callable[[Platform, str], str]
AccountToken = Callable[[Platform, str], str | None]


class ApiClient:
    """What every platform client is built on: the shared HTTP client, the API's base URL, and the account's
    metric label for the quota gauge."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, account_label: AccountLabel) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._label = account_label

    async def _send(
        self, method: str, path: str, token: str, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request to `path` under the base URL with the account's bearer token (`headers` add to it or
        replace it)."""
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        return await send(self._http, method, self._base + path, headers=sent, **kwargs)

    def _record_remaining(self, request: ActionRequested, remaining: float | None) -> None:
        """The quota gauge of the request's account, when the platform says what is left."""
        record_remaining(request.platform, self._label(request.platform, request.account.id), remaining)


class StaticTokenClient(ApiClient):
    """A client whose accounts have a configured token (X's user-context token, a Meta page token)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, token: AccountToken, account_label: AccountLabel
    ) -> None:
        super().__init__(http, base_url, account_label)
        self._token = token

    def _account_token(self, request: ActionRequested) -> str:
        """The account's token; `no_credentials` (permanent) when it has none."""
        found = self._token(request.platform, request.account.id)
        if not found:
            raise ActionFailed("no_credentials", transient=False)
        return found


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
