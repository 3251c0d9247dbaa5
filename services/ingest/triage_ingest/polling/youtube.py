"""YouTube comment threads poller: `commentThreads.list` for everything related to the channel.

YouTube has no `since`: pages come newest thread first (`order=time`), and the cursor is the newest
instant seen (a comment's `updatedAt`, which is its `publishedAt` unless it was edited) plus the ids seen at
that instant. A run reads pages until one reaches threads published before that instant, publishes what is
newer (new comments, and edits of comments on those pages), and only then moves the instant. Until then the
cursor keeps the run in progress (its newest instant and the next `pageToken`), so a restart resumes there.

Quota: every list call costs 1 unit of the project's daily budget (`triage_ingest.quota.DailyQuota`, which
the YouTube actions client spends too), counted before the call; when it is spent (or YouTube answers 403
`quotaExceeded`) nothing is requested until midnight Pacific.
`rateLimitExceeded` is retried with backoff. The key is an API key (`key=`) or an OAuth access token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage_events import CommentKind, CommentReceived, Platform

from triage_ingest import metrics
from triage_ingest.polling.base import AccountPoller, PollContext
from triage_ingest.polling.errors import PollFailed, RateLimited
from triage_ingest.polling.fetch import get, json_body, raise_for_server_error
from triage_ingest.quota import DailyQuota, QuotaExhausted
from triage_ingest.rate_limits import google_error_reason
from triage_ingest.sources import youtube
from triage_ingest.sources.base import Batch

LIST_COST = 1


@dataclass(frozen=True)
class Mark:
    """An instant (ISO 8601) and the comment ids seen at it."""

    instant: str | None = None
    ids: tuple[str, ...] = ()

    def at(self) -> datetime | None:
        return datetime.fromisoformat(self.instant) if self.instant else None

    def is_new(self, event: CommentReceived) -> bool:
        at = self.at()
        when = event.changed_at or event.comment.created_at
        if at is None or when > at:
            return True
        return when == at and event.comment.platform_comment_id not in self.ids

    def advanced(self, events: list[CommentReceived]) -> Mark:
        """This mark moved to the newest of `events` (or kept, if it is newer)."""
        newest, ids = self.at(), set(self.ids)
        for event in events:
            when = event.changed_at or event.comment.created_at
            if newest is None or when > newest:
                newest, ids = when, {event.comment.platform_comment_id}
            elif when == newest:
                ids.add(event.comment.platform_comment_id)
        return Mark(newest.isoformat() if newest else None, tuple(sorted(ids)))


@dataclass(frozen=True)
class YouTubeCursor:
    seen: Mark = field(default_factory=Mark)  # the last complete run
    run: Mark = field(default_factory=Mark)  # the run in progress
    next_token: str | None = None  # the run in progress: the next page, not yet published

    @classmethod
    def load(cls, value: dict[str, Any]) -> YouTubeCursor:
        def mark(raw: Any) -> Mark:
            if not isinstance(raw, dict) or not isinstance(raw.get("instant"), str):
                return Mark()
            ids = raw.get("ids")
            return Mark(raw["instant"], tuple(str(i) for i in ids) if isinstance(ids, list) else ())

        token = value.get("next_token")
        return cls(mark(value.get("seen")), mark(value.get("run")), token if isinstance(token, str) else None)


class YouTubeThreads(AccountPoller):
    platform = Platform.YOUTUBE

    def __init__(
        self,
        channel_id: str,
        credential: tuple[str, str],  # ("api_key" | "access_token", value)
        base_url: str,
        context: PollContext,
        quota: DailyQuota,
    ) -> None:
        super().__init__(channel_id, context)
        self._credential = credential
        self._url = f"{base_url.rstrip('/')}/commentThreads"
        self._quota = quota
        self._label = self._metric_label()

    def cursor(self) -> YouTubeCursor:
        return YouTubeCursor.load(self._stored())

    async def run_once(self) -> int:
        cursor = self.cursor()
        first_run = cursor.seen.instant is None
        published = 0
        for page in range(1, self._context.options.max_pages + 1):
            payload = await self._fetch(cursor.next_token)
            items = payload.get("items")
            items = items if isinstance(items, list) else []
            batch = youtube.normalise(payload, self.account_id, self._context.accounts)
            fresh = Batch([e for e in batch.events if cursor.seen.is_new(e)], batch.ignored, batch.problems)
            published += await self._deliver(fresh, _parts(items))
            run = cursor.run.advanced(batch.events)
            next_token = (
                payload.get("nextPageToken") if isinstance(payload.get("nextPageToken"), str) else None
            )
            more = (
                page < self._context.options.backfill_pages
                if first_run
                else _reaches_past(batch.events, cursor.seen)
            )
            if next_token and more:
                cursor = YouTubeCursor(cursor.seen, run, next_token)
                self._save(cursor)
                continue
            self._save(YouTubeCursor(seen=_merge(cursor.seen, run)))
            return published
        return published  # max_pages reached: the saved token continues the run next time

    async def _fetch(self, page_token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "part": youtube.PARTS,
            "allThreadsRelatedToChannelId": self.account_id,
            "maxResults": self._context.options.page_size,
            "order": "time",
            "textFormat": "plainText",
        }
        headers: dict[str, str] = {}
        kind, secret = self._credential
        if kind == "access_token":
            headers["Authorization"] = f"Bearer {secret}"
        else:
            params["key"] = secret
        if page_token:
            params["pageToken"] = page_token
        try:
            left = self._quota.spend(LIST_COST)
        except QuotaExhausted:
            self._gauge(0)
            raise
        self._gauge(left)
        response = await get(self._context.http, self._url, params, headers)
        if response.status_code == 200:
            body = json_body(response)
            if not isinstance(body, dict):
                raise PollFailed("bad_response")
            return body
        raise_for_server_error(response)
        reason = google_error_reason(response)
        if reason == "quotaExceeded":
            self._quota.exhaust()
            self._gauge(0)
            raise QuotaExhausted(self._quota.seconds_to_reset())
        if reason in ("rateLimitExceeded", "userRateLimitExceeded") or response.status_code == 429:
            raise RateLimited(None)
        if reason == "invalidPageToken":
            cursor = self.cursor()
            self._save(YouTubeCursor(seen=cursor.seen))
            raise PollFailed("stale_page_token")
        raise PollFailed(_REFUSED.get(response.status_code, "refused"))

    def _gauge(self, left: int) -> None:
        metrics.QUOTA_REMAINING.labels(Platform.YOUTUBE.value, self._label).set(left)


_REFUSED = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


def _parts(items: list[Any]) -> dict[str, Any]:
    """Each `where` a normaliser may report, mapped to the raw item (a thread, or one of its replies)."""
    parts: dict[str, Any] = {}
    for i, item in enumerate(items):
        parts[f"items[{i}]"] = item
        replies = item.get("replies") if isinstance(item, dict) else None
        comments = replies.get("comments") if isinstance(replies, dict) else None
        for j, reply in enumerate(comments if isinstance(comments, list) else []):
            parts[f"items[{i}].replies[{j}]"] = reply
    return parts


def _reaches_past(events: list[CommentReceived], seen: Mark) -> bool:
    """Whether the next page may still hold threads newer than `seen`: every top-level comment on this page
    was published at or after it (threads are ordered by their top-level comment)."""
    at = seen.at()
    tops = [e.comment.created_at for e in events if e.comment.kind is CommentKind.COMMENT]
    return at is None or not tops or min(tops) >= at


def _merge(seen: Mark, run: Mark) -> Mark:
    """The later of two marks; at the same instant, the ids of both."""
    before, after = seen.at(), run.at()
    if after is None:
        return seen
    if before is None or after > before:
        return run
    if after == before:
        return Mark(seen.instant, tuple(sorted(set(seen.ids) | set(run.ids))))
    return seen
