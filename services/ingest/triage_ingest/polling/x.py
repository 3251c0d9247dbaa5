"""X mentions poller: `GET /2/users/:id/mentions` with a Bearer token.

Pages come newest first, so `since_id` may only move once a whole run (every page down to the previous
`since_id`) is published. Until then the cursor keeps the run in progress: the newest id of its first page
and the `pagination_token` of the next page not yet published. A restart resumes at that token with the
same `since_id`: nothing is missed, and nothing already acknowledged is read again. A token X no longer
accepts (400) drops the run, which starts over from `since_id` (the publisher and consumers absorb the
repeats).

Rate limits: `x-rate-limit-remaining` / `-reset` (epoch seconds) on every answer, no Retry-After; on 429,
or when the remaining count reaches 0, nothing is sent before the reset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from triage_events import Platform

from triage_ingest.polling.base import AccountPoller, Clock, PollContext, RateGate
from triage_ingest.polling.errors import PollFailed, RateLimited
from triage_ingest.polling.fetch import get, json_body, raise_for_server_error
from triage_ingest.rate_limits import X_RATE_HEADERS
from triage_ingest.sources import x


@dataclass(frozen=True)
class XCursor:
    since_id: str | None = None  # the newest mention of the last complete run
    run_newest_id: str | None = None  # the run in progress: its newest mention
    next_token: str | None = None  # the run in progress: the next page, not yet published

    @classmethod
    def load(cls, value: dict[str, Any]) -> XCursor:
        return cls(**{k: v for k, v in value.items() if k in cls.__dataclass_fields__ and isinstance(v, str)})


class XMentions(AccountPoller):
    platform = Platform.X

    def __init__(
        self,
        account_id: str,
        bearer_token: str,
        base_url: str,
        context: PollContext,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(account_id, context)
        self._token = bearer_token
        self._url = f"{base_url.rstrip('/')}/2/users/{account_id}/mentions"
        self._gate = RateGate(X_RATE_HEADERS, Platform.X, self._metric_label(), clock)

    def cursor(self) -> XCursor:
        return XCursor.load(self._stored())

    async def run_once(self) -> int:
        cursor = self.cursor()
        backfill = cursor.since_id is None
        published = 0
        for page in range(1, self._context.options.max_pages + 1):
            payload = await self._fetch(cursor)
            posts = payload.get("data")
            posts = posts if isinstance(posts, list) else []
            batch = x.normalise(payload, self.account_id, self._context.accounts)
            parts = {f"data[{i}]": post for i, post in enumerate(posts)}
            published += await self._deliver(batch, parts)
            meta = payload.get("meta")
            meta = meta if isinstance(meta, dict) else {}
            newest = cursor.run_newest_id or _newest(meta, posts)
            next_token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if next_token and not (backfill and page >= self._context.options.backfill_pages):
                cursor = XCursor(cursor.since_id, newest, next_token)
                self._save(cursor)
                continue
            self._save(XCursor(since_id=newest or cursor.since_id))
            return published
        return published  # max_pages reached: the saved token continues the run next time

    async def _fetch(self, cursor: XCursor) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_results": self._context.options.page_size,
            "tweet.fields": x.TWEET_FIELDS,
            "user.fields": x.USER_FIELDS,
            "expansions": x.EXPANSIONS,
        }
        if cursor.since_id:
            params["since_id"] = cursor.since_id
        if cursor.next_token:
            params["pagination_token"] = cursor.next_token
        self._gate.check()
        response = await get(
            self._context.http, self._url, params, {"Authorization": f"Bearer {self._token}"}
        )
        wait = self._gate.read(response)
        if response.status_code == 429:
            raise RateLimited(max(1.0, wait) if wait is not None else None)
        raise_for_server_error(response)
        if response.status_code == 400 and cursor.next_token:
            self._save(XCursor(since_id=cursor.since_id))
            raise PollFailed("stale_page_token")
        if response.status_code != 200:
            raise PollFailed(_REFUSED.get(response.status_code, "refused"))
        body = json_body(response)
        if not isinstance(body, dict) or ("data" not in body and "meta" not in body):
            raise PollFailed("api_error")  # e.g. 200 with only `errors` (the user does not exist)
        return body


_REFUSED = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


def _newest(meta: dict[str, Any], posts: list[Any]) -> str | None:
    """The page's newest id: `meta.newest_id`, else the largest id in `data` (ids are decimal strings)."""
    if isinstance(meta.get("newest_id"), str):
        return str(meta["newest_id"])
    ids = [str(p["id"]) for p in posts if isinstance(p, dict) and str(p.get("id", "")).isdigit()]
    return max(ids, key=int) if ids else None
