"""X API v2 actions on posts that mention or reply to the account.

Reply `POST /2/tweets` `{"text", "reply": {"in_reply_to_tweet_id"}}`; hide/unhide `PUT /2/tweets/:id/hidden`
`{"hidden": true|false}` (only replies in conversations the account started); delete `DELETE /2/tweets/:id`,
which X allows for the account's own posts only, so the author is looked up first and someone else's post
fails as `not_own_post` (the desk hides it instead); private reply is a DM,
`POST /2/dm_conversations/with/:participant_id/messages`, to the author looked up the same way
(`ActionRequested` carries no author id); a post of the account's own (from the Drafts page) is
`POST /2/tweets` `{"text"}`, with no reply field, and answers the new post's id. The token is an OAuth 2.0
user-context bearer token with `tweet.write tweet.moderate.write dm.write` (credential `access_token`).

X sends `x-rate-limit-remaining` / `x-rate-limit-reset` (epoch seconds) and no Retry-After: the remaining
count becomes the quota gauge, the reset the wait after a 429.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from triage_events import ActionKind, ActionRequested

from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import (
    AccountLabel,
    AccountToken,
    StaticTokenClient,
    failure,
    json_object,
    require_text,
)
from triage_ingest.rate_limits import X_RATE_HEADERS, Clock, header_number, retry_after

_REASONS = {400: "invalid_request", 403: "not_allowed", 404: "not_found"}


class XClient(StaticTokenClient):
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: AccountToken,
        account_label: AccountLabel,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(http, base_url, token, account_label)
        self._clock = clock

    async def execute(self, request: ActionRequested) -> str | None:
        token = self._account_token(request)
        post = request.platform_comment_id
        match request.action:
            case ActionKind.REPLY:
                body = {"text": require_text(request), "reply": {"in_reply_to_tweet_id": post}}
                created = await self._call(request, token, "POST", "/2/tweets", json=body)
                return _str(created.get("id"))
            case ActionKind.HIDE | ActionKind.UNHIDE:
                hidden = request.action is ActionKind.HIDE
                await self._call(request, token, "PUT", f"/2/tweets/{post}/hidden", json={"hidden": hidden})
                return None
            case ActionKind.DELETE:
                if await self._author(request, token) != request.account.id:
                    raise ActionFailed("not_own_post", transient=False)
                deleted = await self._call(request, token, "DELETE", f"/2/tweets/{post}")
                if deleted.get("deleted") is False:
                    raise ActionFailed("not_deleted", transient=False)
                return None
            case ActionKind.PRIVATE_REPLY:
                text = require_text(request)
                author = await self._author(request, token)
                if author == request.account.id:
                    raise ActionFailed("own_post", transient=False)
                path = f"/2/dm_conversations/with/{author}/messages"
                sent = await self._call(request, token, "POST", path, json={"text": text})
                return _str(sent.get("dm_event_id"))
            case ActionKind.POST:
                created = await self._call(
                    request, token, "POST", "/2/tweets", json={"text": require_text(request)}
                )
                return _str(created.get("id"))
        raise ActionFailed("unsupported_action", transient=False)

    async def _author(self, request: ActionRequested, token: str) -> str:
        """Who wrote the post (X answers an unknown or deleted one with 200 and only `errors`)."""
        path = f"/2/tweets/{request.platform_comment_id}"
        post = await self._call(request, token, "GET", path, params={"tweet.fields": "author_id"})
        author = _str(post.get("author_id"))
        if author is None:
            raise ActionFailed("not_found", transient=False)
        return author

    async def _call(
        self, request: ActionRequested, token: str, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        """The `data` object of a successful answer; `ActionFailed` otherwise."""
        response = await self._send(method, path, token, **kwargs)
        self._record_remaining(request, header_number(response, X_RATE_HEADERS.remaining))
        if not response.is_success:
            delay = retry_after(response, X_RATE_HEADERS, self._clock)
            raise failure(response, _REASONS.get(response.status_code), delay)
        data = json_object(response).get("data")
        return data if isinstance(data, dict) else {}


def _str(value: Any) -> str | None:
    return (
        str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None
    )
