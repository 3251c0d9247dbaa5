"""Bearer tokens for platforms whose access tokens expire (Reddit: a day; Google: an hour).

An account's credentials (names in the accounts file, values in the environment or secrets file) are
either a ready `access_token` (used as is: tests, or an operator who refreshes it elsewhere) or what is
needed to get one from the platform's token endpoint: `client_id`, `client_secret` and a `refresh_token`
(or, for a Reddit "script" app, `username` and `password`). Exchanged tokens are cached until a minute
before they expire and dropped when the platform answers 401, so the next attempt exchanges again.
Neither Reddit nor Google rotates refresh tokens on use, which is why the stored one can stay in a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from triage_events import ActionRequested, Platform

from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import AccountLabel, ApiClient, json_object, send
from triage_ingest.rate_limits import Clock, retry_after

Credential = Callable[[Platform, str, str], str | None]

_EARLY = 60.0  # renew this long before the platform says the token expires


class TokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        credential: Credential,
        basic_auth: bool,
        headers: dict[str, str] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """`basic_auth`: send the client id and secret as HTTP Basic (Reddit) rather than in the form
        (Google)."""
        self._http = http
        self._url = token_url
        self._credential = credential
        self._basic = basic_auth
        self._headers = headers or {}
        self._clock = clock
        self._cache: dict[tuple[Platform, str], tuple[str, float]] = {}

    async def token(self, platform: Platform, account_id: str) -> str:
        """A usable bearer token for the account; `ActionFailed` if it has none or the exchange fails."""
        static = self._credential(platform, account_id, "access_token")
        if static:
            return static
        cached = self._cache.get((platform, account_id))
        if cached and cached[1] > self._clock():
            return cached[0]
        token, lifetime = await self._exchange(platform, account_id)
        self._cache[(platform, account_id)] = (token, self._clock() + max(0.0, lifetime - _EARLY))
        return token

    def refreshable(self, platform: Platform, account_id: str) -> bool:
        """Whether a 401 can be cured by exchanging again (no: a static token is simply wrong)."""
        return not self._credential(platform, account_id, "access_token")

    def invalidate(self, platform: Platform, account_id: str) -> None:
        self._cache.pop((platform, account_id), None)

    async def _exchange(self, platform: Platform, account_id: str) -> tuple[str, float]:
        def cred(name: str) -> str | None:
            return self._credential(platform, account_id, name)

        client_id, client_secret = cred("client_id"), cred("client_secret")
        refresh, username, password = cred("refresh_token"), cred("username"), cred("password")
        if refresh:
            form = {"grant_type": "refresh_token", "refresh_token": refresh}
        elif username and password:
            form = {"grant_type": "password", "username": username, "password": password}
        else:
            raise ActionFailed("no_credentials", transient=False)
        if not client_id:
            raise ActionFailed("no_credentials", transient=False)
        auth: httpx.BasicAuth | None = None
        if self._basic:
            auth = httpx.BasicAuth(client_id, client_secret or "")
        else:
            form |= {"client_id": client_id, "client_secret": client_secret or ""}
        response = await send(self._http, "POST", self._url, data=form, auth=auth, headers=self._headers)
        body = json_object(response)
        token = body.get("access_token")
        if response.status_code == 429 or response.status_code >= 500:
            raise ActionFailed(
                "token_endpoint_unavailable", transient=True, retry_after=retry_after(response)
            )
        # Reddit answers a refused grant with 200 and {"error": "invalid_grant"}; Google with 400.
        if not response.is_success or not isinstance(token, str) or not token:
            raise ActionFailed("token_refresh_failed", transient=False)
        lifetime = body.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, int | float) else 3600.0


def unauthorized(tokens: TokenSource, platform: Platform, account_id: str) -> ActionFailed:
    """A 401: an exchanged token may have been revoked or expired early, so drop it and let the retry
    exchange a fresh one; a static token is wrong and retrying cannot help."""
    if tokens.refreshable(platform, account_id):
        tokens.invalidate(platform, account_id)
        return ActionFailed("token_expired", transient=True)
    return ActionFailed("invalid_token", transient=False)


class OAuthClient(ApiClient):
    """A client whose accounts' tokens are exchanged and renewed by a `TokenSource` (Reddit, YouTube)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, tokens: TokenSource, account_label: AccountLabel
    ) -> None:
        super().__init__(http, base_url, account_label)
        self._tokens = tokens

    async def _account_token(self, request: ActionRequested) -> str:
        return await self._tokens.token(request.platform, request.account.id)

    def _unauthorized(self, request: ActionRequested) -> ActionFailed:
        return unauthorized(self._tokens, request.platform, request.account.id)
