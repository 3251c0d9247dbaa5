"""YouTube Data API v3 actions on comments on the channel's videos.

Reply `comments.insert` (`part=snippet`, `snippet.parentId` + `snippet.textOriginal`; a reply's id is
`<top-level id>.<suffix>` and YouTube threads only one level deep, so a reply to a reply goes under its
top-level comment). Hide is `comments.setModerationStatus` `heldForReview` and unhide `published`: held is
reversible, whereas YouTube can never publish a `rejected` comment again, so rejecting is kept for delete.
Delete: `comments.delete` works for the comment's own author only, so the author is looked up first
(`comments.list`, 1 unit) and someone else's comment is set to `rejected`, which is how a channel removes
it (and its replies). There is no private reply on YouTube (`private_reply_unsupported`).

Quota: insert, setModerationStatus and delete cost 50 units, list 1, from the per-project daily budget
(10,000 by default, reset at midnight Pacific) that the pollers spend too: one `triage_ingest.quota.DailyQuota`
over one store. Units are taken before each call (YouTube charges failed calls too); with a budget the
remaining units are the quota gauge. A call the budget cannot cover is not made, and it and YouTube's own
`quotaExceeded` are a permanent failure (`quota_exceeded`), not a transient one: retrying within minutes
cannot succeed and would hold the actions worker until the day turns; the desk shows the reason and a
moderator can ask again tomorrow. `rateLimitExceeded` (too fast, not too much) is transient.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from triage_events import ActionKind, ActionRequested

from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import AccountLabel, failure, json_object, require_text
from triage_ingest.actions.oauth import OAuthClient, TokenSource
from triage_ingest.quota import DailyQuota, QuotaExhausted
from triage_ingest.rate_limits import google_error_reason, retry_after

COST = {"insert": 50, "setModerationStatus": 50, "delete": 50, "list": 1}
_TRANSIENT = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}


class YouTubeClient(OAuthClient):
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        tokens: TokenSource,
        account_label: AccountLabel,
        quota: DailyQuota | None = None,
    ) -> None:
        super().__init__(http, base_url, tokens, account_label)
        self._quota = quota

    async def execute(self, request: ActionRequested) -> str | None:
        comment = request.platform_comment_id
        match request.action:
            case ActionKind.REPLY:
                snippet = {"parentId": comment.split(".", 1)[0], "textOriginal": require_text(request)}
                created = await self._call(
                    request,
                    "insert",
                    "POST",
                    "/comments",
                    params={"part": "snippet"},
                    json={"snippet": snippet},
                )
                return created.get("id") if isinstance(created.get("id"), str) else None
            case ActionKind.HIDE:
                await self._moderate(request, "heldForReview")
                return None
            case ActionKind.UNHIDE:
                await self._moderate(request, "published")
                return None
            case ActionKind.DELETE:
                if await self._author(request) == request.account.id:
                    await self._call(request, "delete", "DELETE", "/comments", params={"id": comment})
                else:
                    await self._moderate(request, "rejected")
                return None
            case ActionKind.PRIVATE_REPLY:
                raise ActionFailed("private_reply_unsupported", transient=False)
        raise ActionFailed("unsupported_action", transient=False)

    async def _moderate(self, request: ActionRequested, status: str) -> None:
        params = {"id": request.platform_comment_id, "moderationStatus": status}
        await self._call(
            request, "setModerationStatus", "POST", "/comments/setModerationStatus", params=params
        )

    async def _author(self, request: ActionRequested) -> str | None:
        """The channel id of the comment's author (None when YouTube does not say)."""
        params = {"part": "snippet", "id": request.platform_comment_id}
        found = await self._call(request, "list", "GET", "/comments", params=params)
        items = found.get("items")
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            raise ActionFailed("not_found", transient=False)
        snippet = items[0].get("snippet")
        channel = snippet.get("authorChannelId") if isinstance(snippet, dict) else None
        value = channel.get("value") if isinstance(channel, dict) else None
        return value if isinstance(value, str) else None

    async def _call(
        self, request: ActionRequested, operation: str, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        token = await self._account_token(request)
        self._spend(request, COST[operation])
        response = await self._send(method, path, token, **kwargs)
        if response.is_success:
            return json_object(response)
        if response.status_code == 401:
            raise self._unauthorized(request)
        reason = google_error_reason(response)
        if reason == "quotaExceeded":
            if self._quota is not None:
                self._quota.exhaust()  # YouTube's count over ours until the day turns
                self._gauge(request)
            raise ActionFailed("quota_exceeded", transient=False)
        if reason in _TRANSIENT:
            raise ActionFailed("rate_limited", transient=True, retry_after=retry_after(response))
        raise failure(response, _snake(reason) if reason else None, retry_after(response))

    def _spend(self, request: ActionRequested, units: int) -> None:
        """Take the call's units from the day's budget, or fail `quota_exceeded` without calling."""
        if self._quota is None:
            return
        try:
            self._quota.spend(units)
        except QuotaExhausted:
            raise ActionFailed("quota_exceeded", transient=False) from None
        finally:
            self._gauge(request)

    def _gauge(self, request: ActionRequested) -> None:
        if self._quota is not None:
            self._record_remaining(request, self._quota.remaining())


def _snake(reason: str) -> str:
    """`commentNotFound` -> `comment_not_found`: the same style as every other reason code."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", reason).lower()[:64]
