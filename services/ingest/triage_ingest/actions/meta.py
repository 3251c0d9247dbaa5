"""Meta Graph API actions for Facebook Page and Instagram comments.

Facebook: reply `POST /{comment-id}/comments`, hide/unhide `POST /{comment-id}` `is_hidden`, delete
`DELETE /{comment-id}`, private reply `POST /{page-id}/messages` with `recipient.comment_id` (one message,
within 7 days). Instagram: reply `POST /{comment-id}/replies`, hide/unhide `POST /{comment-id}` `hide`,
delete `DELETE /{comment-id}`, private reply `POST /{ig-user-id}/messages`. The page token travels in the
Authorization header, never in a URL that could be logged.

A post (the team's own, from the Drafts page) is `POST /{page-id}/feed` with `message` on a Facebook Page (the
page id is the account id; the answer's `id` is the new post's). Instagram publishes only media (a container
of an image or video first), so a text post there is refused as `unsupported_action` before any call.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from triage_events import ActionKind, ActionRequested, Platform

from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import StaticTokenClient, failure, json_object, require_text
from triage_ingest.rate_limits import retry_after

# Graph error codes that mean "slow down" (application, user, page and custom rate limits).
_THROTTLED = {4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006}


class MetaGraph(StaticTokenClient):
    async def execute(self, request: ActionRequested) -> str | None:
        token = self._account_token(request)
        method, path, kwargs = self._call(request)
        response = await self._send(method, f"/{path}", token, **kwargs)
        self._record_usage(request, response)
        if response.is_success:
            result = json_object(response)
            return str(result["id"]) if isinstance(result.get("id"), str | int) else None
        raise graph_failure(response)

    def _call(self, request: ActionRequested) -> tuple[str, str, dict[str, Any]]:
        cid = request.platform_comment_id
        instagram = request.platform is Platform.INSTAGRAM
        match request.action:
            case ActionKind.REPLY:
                return "POST", f"{cid}/replies" if instagram else f"{cid}/comments", {"data": _text(request)}
            case ActionKind.HIDE | ActionKind.UNHIDE:
                hidden = "true" if request.action is ActionKind.HIDE else "false"
                return "POST", cid, {"data": {"hide" if instagram else "is_hidden": hidden}}
            case ActionKind.DELETE:
                return "DELETE", cid, {}
            case ActionKind.PRIVATE_REPLY:
                body = {"recipient": {"comment_id": cid}, "message": {"text": require_text(request)}}
                return "POST", f"{request.account.id}/messages", {"json": body}
            case ActionKind.POST if not instagram:
                return "POST", f"{request.account.id}/feed", {"data": _text(request)}
        raise ActionFailed("unsupported_action", transient=False)

    def _record_usage(self, request: ActionRequested, response: httpx.Response) -> None:
        """Graph reports usage as percentages in X-App-Usage / X-Business-Use-Case-Usage."""
        percents: list[float] = []
        for header in ("x-app-usage", "x-business-use-case-usage"):
            raw = response.headers.get(header)
            if raw:
                try:
                    percents += _percentages(json.loads(raw))
                except ValueError:
                    continue
        if percents:
            self._record_remaining(request, 100 - max(percents))


def _text(request: ActionRequested) -> dict[str, str]:
    return {"message": require_text(request)}


def graph_failure(response: httpx.Response) -> ActionFailed:
    """Graph's error codes first (throttling, transient, expired token), then the shared HTTP mapping."""
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    delay = retry_after(response)
    if code in _THROTTLED:
        return ActionFailed("rate_limited", transient=True, retry_after=delay)
    if error.get("is_transient") is True or code in (1, 2):
        # Codes 1 and 2 (unknown error, service unavailable) and any 5xx may come after the change was made.
        maybe_applied = code in (1, 2) or response.status_code >= 500
        return ActionFailed(
            f"http_{response.status_code}", transient=True, retry_after=delay, maybe_applied=maybe_applied
        )
    if code == 190:
        return ActionFailed("invalid_token", transient=False)
    return failure(response, f"graph_{code}" if isinstance(code, int) else None, delay)


def _percentages(value: Any) -> list[float]:
    """Every `*_count` / `*_time` percentage in a usage header, however nested."""
    if isinstance(value, dict):
        found = [
            float(v) for k, v in value.items() if k.endswith(("count", "time")) and isinstance(v, int | float)
        ]
        return found + [p for v in value.values() if isinstance(v, dict | list) for p in _percentages(v)]
    if isinstance(value, list):
        return [p for v in value for p in _percentages(v)]
    return []
