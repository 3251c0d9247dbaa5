"""Reddit comments poller: `GET https://oauth.reddit.com/{r/<sub>|user/<name>}/comments` with an OAuth token.

The listing is newest first; `before=<fullname>` returns the comments just newer than that one, so a run
asks for `before=<cursor>`, publishes the page, moves the cursor to the page's newest comment, and goes on
while pages come back full. The cursor therefore advances page by page and a restart resumes exactly there.

`before=` on a comment that was since removed returns an empty page, exactly like "nothing new". So an empty
first page is checked once without `before`: when it shows comments newer than the cursor's `created_utc`
(the cursor comment itself is gone), those are published and the cursor moves to the newest comment.

Tokens: `POST https://www.reddit.com/api/v1/access_token` with the app's client id and secret (HTTP basic),
`grant_type=password` for a script app with the account's username and password, or `client_credentials`.
Every request carries a descriptive User-Agent (generic agents are throttled). `X-Ratelimit-Remaining` /
`-Reset` (seconds) are honoured: at 0 (or on 429) nothing is sent before the reset.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from triage_events import Platform

from triage_ingest.polling.base import AccountPoller, Clock, PollContext, RateGate
from triage_ingest.polling.errors import PollFailed, RateLimited
from triage_ingest.polling.fetch import get, json_body, raise_for_server_error
from triage_ingest.rate_limits import REDDIT_RATE_HEADERS, reset_in
from triage_ingest.sources import reddit

log = logging.getLogger(__name__)

TOKEN_MARGIN_S = 60.0


@dataclass(frozen=True)
class RedditCursor:
    fullname: str | None = None  # the newest comment published (`t1_…`)
    created: float | None = None  # its created_utc
    ids: list[str] = field(default_factory=list)  # every comment published at `created`

    @classmethod
    def load(cls, value: dict[str, Any]) -> RedditCursor:
        fullname, created, ids = value.get("fullname"), value.get("created"), value.get("ids")
        return cls(
            fullname if isinstance(fullname, str) else None,
            float(created) if isinstance(created, int | float) else None,
            [str(i) for i in ids] if isinstance(ids, list) else [],
        )

    def advanced(self, items: list[Any]) -> RedditCursor:
        """Moved to the newest comment of `items` (a listing page, newest first) if it is newer."""
        cursor = self
        for name, created in reversed([s for s in map(_stamp, items) if s is not None]):
            if cursor.created is None or created > cursor.created:
                cursor = RedditCursor(name, created, [name])
            elif created == cursor.created and name not in cursor.ids:
                cursor = RedditCursor(name, created, [*cursor.ids, name])
        return cursor

    def is_new(self, item: Any) -> bool:
        stamp = _stamp(item)
        if stamp is None or self.created is None:
            return True  # unreadable items go on to the normaliser (and the dead-letter topic)
        name, created = stamp
        return created > self.created or (created == self.created and name not in self.ids)


class RedditToken:
    """An application-only or script-app access token, fetched when missing or about to expire."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth_url: str,
        user_agent: str,
        client_id: str,
        client_secret: str,
        username: str | None = None,
        password: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._http = http
        self._url = auth_url
        self._user_agent = user_agent
        self._client = (client_id, client_secret)
        self._login = (username, password) if username and password else None
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    def invalidate(self) -> None:
        self._token = None

    async def get(self) -> str:
        if self._token and self._clock() < self._expires - TOKEN_MARGIN_S:
            return self._token
        form = {"grant_type": "client_credentials"}
        if self._login:
            form = {"grant_type": "password", "username": self._login[0], "password": self._login[1]}
        try:
            response = await self._http.post(
                self._url, data=form, auth=self._client, headers={"User-Agent": self._user_agent}
            )
        except httpx.HTTPError as exc:
            raise PollFailed("network") from exc
        if response.status_code == 429:
            raise RateLimited(reset_in(response, REDDIT_RATE_HEADERS, self._clock))
        raise_for_server_error(response)
        body = json_body(response) if response.status_code == 200 else {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PollFailed("auth_failed")  # 401 (client), or 200 with {"error": "invalid_grant"}
        expires = body.get("expires_in")
        self._token = token
        self._expires = self._clock() + (float(expires) if isinstance(expires, int | float) else 3600.0)
        return token


class RedditComments(AccountPoller):
    platform = Platform.REDDIT

    def __init__(
        self,
        account_id: str,
        target: str,
        token: RedditToken,
        base_url: str,
        user_agent: str,
        context: PollContext,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(account_id, context)
        self._url = f"{base_url.rstrip('/')}/{target.strip('/')}/comments"
        self._token = token
        self._user_agent = user_agent
        self._gate = RateGate(REDDIT_RATE_HEADERS, Platform.REDDIT, self._metric_label(), clock)

    def cursor(self) -> RedditCursor:
        return RedditCursor.load(self._stored())

    async def run_once(self) -> int:
        cursor = self.cursor()
        if cursor.fullname is None:
            return await self._first_run()
        published = 0
        for page in range(1, self._context.options.max_pages + 1):
            items = await self._fetch(before=cursor.fullname)
            if not items:
                return await self._recover(cursor) if page == 1 else published
            published += await self._deliver_items(items)
            cursor = cursor.advanced(items)
            self._save(cursor)
            if len(items) < self._context.options.page_size:
                break
        return published

    async def _first_run(self) -> int:
        """No cursor yet: the newest `backfill_pages` pages, oldest page first, then the cursor."""
        pages: list[list[Any]] = []
        after: str | None = None
        for _ in range(self._context.options.backfill_pages):
            items = await self._fetch(after=after)
            pages.append(items)
            stamp = _stamp(items[-1]) if items else None
            if len(items) < self._context.options.page_size or stamp is None:
                break
            after = stamp[0]
        published, cursor = 0, RedditCursor()
        for items in reversed(pages):
            published += await self._deliver_items(items)
            cursor = cursor.advanced(items)
        self._save(cursor)
        return published

    async def _recover(self, cursor: RedditCursor) -> int:
        """`before=` came back empty: nothing new, or the cursor's comment was removed. The newest pages say
        which: comments newer than the cursor's `created_utc` are published (the fallback on time), reading
        older pages while every comment on one is new."""
        pages: list[list[Any]] = []
        after: str | None = None
        for _ in range(self._context.options.max_pages):
            items = await self._fetch(after=after)
            fresh = [item for item in items if cursor.is_new(item)]
            pages.append(fresh)
            stamp = _stamp(items[-1]) if items else None
            if len(fresh) < len(items) or len(items) < self._context.options.page_size or stamp is None:
                break
            after = stamp[0]
        if not any(pages):
            return 0
        log.info("reddit cursor fell back to created_utc account=%s", self.account_id)
        published = 0
        for fresh in reversed(pages):
            published += await self._deliver_items(fresh)
            cursor = cursor.advanced(fresh)
        self._save(cursor)
        return published

    async def _deliver_items(self, items: list[Any]) -> int:
        payload = {"kind": "Listing", "data": {"children": items}}
        batch = reddit.normalise(payload, self.account_id, self._context.accounts)
        return await self._deliver(batch, {f"children[{i}]": item for i, item in enumerate(items)})

    async def _fetch(self, before: str | None = None, after: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"limit": self._context.options.page_size, "raw_json": 1}
        if before:
            params["before"] = before
        if after:
            params["after"] = after
        self._gate.check()
        token = await self._token.get()
        headers = {"Authorization": f"Bearer {token}", "User-Agent": self._user_agent}
        response = await get(self._context.http, self._url, params, headers)
        wait = self._gate.read(response)
        if response.status_code == 429:
            raise RateLimited(wait)
        raise_for_server_error(response)
        if response.status_code == 401:
            self._token.invalidate()
            raise PollFailed("unauthorized")
        if response.status_code != 200:
            raise PollFailed(_REFUSED.get(response.status_code, "refused"))
        items = reddit.children(json_body(response))
        if items is None:
            raise PollFailed("bad_response")
        return items


_REFUSED = {400: "bad_request", 403: "forbidden", 404: "not_found"}


def _stamp(item: Any) -> tuple[str, float] | None:
    """(fullname, created_utc) of a listing child, None when it lacks either."""
    data = item.get("data") if isinstance(item, dict) else None
    if not isinstance(data, dict):
        return None
    name, created = data.get("name"), data.get("created_utc")
    if not isinstance(name, str) or isinstance(created, bool) or not isinstance(created, int | float):
        return None
    return name, float(created)
