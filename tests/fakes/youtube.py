"""A fake YouTube Data API v3 `commentThreads.list` (`allThreadsRelatedToChannelId`).

Threads newest first by the top-level comment's `publishedAt` (`order=time`), `maxResults` 1-100, offset-like
`pageToken`s, `part=snippet,replies` (replies included when asked), an API `key` or a Bearer token, and
Google's error bodies: 403 `quotaExceeded` once the fake's own quota is spent (1 unit per call, counted even
for failed calls), 403 `rateLimitExceeded` on demand, 400 `invalidPageToken`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.accounts import YT_CHANNEL, YT_OTHER_CHANNEL
from tests.fakes.recorder import Answer, Call, FakePlatform

API_KEY = "AIzaSy-fake-youtube-key-0042"


def comment(
    comment_id: str,
    published: str,
    text: str = "Is the new urgent care open on weekends?",
    updated: str | None = None,
    author_channel: str = "UCabc",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": "youtube#comment",
        "etag": "e",
        "id": comment_id,
        "snippet": {
            "channelId": "UCxyz",
            "videoId": "dQw4w9WgXcQ",
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": "@someone",
            "authorProfileImageUrl": "https://yt3.ggpht.com/x",
            "authorChannelUrl": "http://www.youtube.com/@someone",
            "authorChannelId": {"value": author_channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": published,
            "updatedAt": updated or published,
            **extra,
        },
    }


def thread(top: dict[str, Any], *replies: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": "youtube#commentThread",
        "etag": "t",
        "id": top["id"],
        "snippet": {
            "channelId": "UCxyz",
            "videoId": "dQw4w9WgXcQ",
            "topLevelComment": top,
            "canReply": True,
            "totalReplyCount": len(replies),
            "isPublic": True,
        },
    }
    if replies:
        item["replies"] = {"comments": list(replies)}
    return item


@dataclass
class FakeYouTube:
    channel_id: str
    threads: list[dict[str, Any]] = field(default_factory=list)
    quota: int = 10_000
    rate_limited: int = 0  # the next N calls answer 403 rateLimitExceeded
    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/youtube/v3/commentThreads", self._list)])

    async def _list(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.requests.append(query)
        if query.get("key") != API_KEY and request.headers.get("authorization") != "Bearer yt-oauth-token":
            return _error(400, "keyInvalid", "API key not valid. Please pass a valid API key.", "global")
        if self.quota <= 0:
            return _error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "youtube.quota",
            )
        self.quota -= 1
        if self.rate_limited:
            self.rate_limited -= 1
            return _error(
                403,
                "rateLimitExceeded",
                "The request cannot be completed due to rate limiting.",
                "youtube.quota",
            )
        if query.get("allThreadsRelatedToChannelId") != self.channel_id:
            return _error(404, "channelNotFound", "The channel could not be found.", "youtube.commentThread")
        size = int(query.get("maxResults", "20"))
        offset = 0
        if "pageToken" in query:
            try:
                offset = int(base64.urlsafe_b64decode(query["pageToken"].encode()).decode().removeprefix("o"))
            except ValueError:
                return _error(
                    400,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                    "youtube.parameter",
                )
        ordered = sorted(self.threads, key=_published, reverse=True)
        page = ordered[offset : offset + size]
        if "replies" not in query.get("part", ""):
            page = [{k: v for k, v in t.items() if k != "replies"} for t in page]
        body: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "etag": "l",
            "pageInfo": {"totalResults": len(page), "resultsPerPage": size},
            "items": page,
        }
        if offset + size < len(ordered):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o{offset + size}".encode()).decode()
        return JSONResponse(body)


def _published(item: dict[str, Any]) -> str:
    try:
        return str(item["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
    except (KeyError, TypeError):
        return ""


def google_error(
    code: int, reason: str, domain: str = "youtube.quota", message: str | None = None
) -> dict[str, Any]:
    """A Google API error body, as YouTube sends it (`error.errors[].reason`)."""
    message = message or f"The request cannot be completed: {reason}."
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


def _error(code: int, reason: str, message: str, domain: str) -> JSONResponse:
    return JSONResponse(google_error(code, reason, domain, message), code)


@dataclass
class FakeYouTubeActions(FakePlatform):
    """www.googleapis.com/youtube/v3 plus oauth2.googleapis.com/token (at `/token`)."""

    owners: dict[str, str] = field(default_factory=dict)  # comment id -> author channel id
    tokens_issued: int = 0

    cleared = ("owners",)

    def answer(self, call: Call) -> Answer:
        if call.path == "/token":
            if (
                call.form.get("refresh_token") != "yt-refresh"
                or call.form.get("client_secret") != "yt-secret"
            ):
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}, {}
            self.tokens_issued += 1
            token = f"ya29.fake-{self.tokens_issued}"
            scope = "https://www.googleapis.com/auth/youtube.force-ssl"
            return (
                200,
                {"access_token": token, "expires_in": 3599, "token_type": "Bearer", "scope": scope},
                {},
            )
        if not call.headers.get("authorization", "").startswith("Bearer ya29.fake-"):
            return 401, google_error(401, "authError", "global", "Invalid Credentials"), {}
        if call.method == "POST" and call.path == "/youtube/v3/comments":
            snippet = (call.json or {}).get("snippet", {})
            created = {
                "kind": "youtube#comment",
                "etag": "x1",
                "id": f"{snippet.get('parentId')}.AaBbCc1",
                "snippet": {"parentId": snippet.get("parentId"), "authorChannelId": {"value": YT_CHANNEL}},
            }
            return 200, created, {}
        if call.method == "POST" and call.path == "/youtube/v3/comments/setModerationStatus":
            return 204, None, {}
        if call.method == "GET" and call.path == "/youtube/v3/comments":
            comment = call.query.get("id", "")
            if comment not in self.owners and comment.startswith("missing"):
                return 200, {"kind": "youtube#commentListResponse", "items": []}, {}
            owner = self.owners.get(comment, YT_OTHER_CHANNEL)
            item = {
                "kind": "youtube#comment",
                "id": comment,
                "snippet": {"authorChannelId": {"value": owner}},
            }
            return 200, {"kind": "youtube#commentListResponse", "items": [item]}, {}
        if call.method == "DELETE" and call.path == "/youtube/v3/comments":
            return 204, None, {}
        return 404, google_error(404, "notFound", "global", "Not Found"), {}
