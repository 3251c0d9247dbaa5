"""A fake X API v2 mentions timeline (`GET /2/users/:id/mentions`).

Newest first by id; `since_id` (exclusive), `max_results` 5-100, opaque `pagination_token`s that anchor at
the last id served (so mentions arriving meanwhile do not shift pages); `includes.users` for `author_id`;
`x-rate-limit-limit/-remaining/-reset` (epoch seconds) on every answer and 429 (no Retry-After) once the
window is spent; problem-details error bodies as v2 sends them.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.accounts import X_ACCOUNT, X_OTHER_USER
from tests.fakes.recorder import Answer, Call, FakePlatform

BEARER = "x-app-bearer-token-5d1e"


def post(
    post_id: int | str,
    text: Any = "@BrightwaterHealth is the ER open?",
    author: str = "2244994945",
    **extra: Any,
) -> dict[str, Any]:
    """A post with the fields the poller asks for (values illustrative)."""
    return {
        "id": str(post_id),
        "text": text,
        "author_id": author,
        "conversation_id": str(post_id),
        "created_at": "2026-01-05T14:03:11.000Z",
        "lang": "en",
        "edit_history_tweet_ids": [str(post_id)],
        **extra,
    }


@dataclass
class FakeX:
    user_id: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    window_limit: int = 450
    window_s: float = 900.0
    requests: list[dict[str, str]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses answered to the next requests, in order
    # Answer this many more requests, then 503 to every one (an outage; None: healthy).
    fail_after: int | None = None
    _remaining: int = -1
    _reset: float = 0.0

    def add(self, *posts: dict[str, Any]) -> None:
        self.posts.extend(posts)
        for p in posts:
            author = str(p.get("author_id"))
            self.users.setdefault(author, {"id": author, "name": "Sam", "username": f"user{author[-4:]}"})

    def exhaust_window(self, reset_in: float) -> None:
        """The next request is refused with 429 until `reset_in` seconds from now."""
        self._remaining, self._reset = 0, time.time() + reset_in

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/2/users/{user_id}/mentions", self._mentions)])

    def _headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.window_limit),
            "x-rate-limit-remaining": str(max(self._remaining, 0)),
            "x-rate-limit-reset": str(int(self._reset) + (1 if self._reset % 1 else 0)),
        }

    async def _mentions(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.requests.append(query)
        now = time.time()
        if self._remaining < 0 or now >= self._reset:
            self._remaining, self._reset = self.window_limit, now + self.window_s
        if request.headers.get("authorization") != f"Bearer {BEARER}":
            return _problem(401, "Unauthorized", "Unauthorized", {})
        if self._remaining <= 0:
            return _problem(429, "Too Many Requests", "Too Many Requests", self._headers())
        self._remaining -= 1
        headers = self._headers()
        if self.fail_after is not None:
            if self.fail_after <= 0:
                return _problem(503, "Service Unavailable", "Service Unavailable", headers)
            self.fail_after -= 1
        if self.failures:
            status = self.failures.pop(0)
            return _problem(status, "Service Unavailable", "Service Unavailable", headers)
        if request.path_params["user_id"] != self.user_id:
            return JSONResponse(
                {"errors": [{"detail": "Could not find user", "title": "Not Found Error"}]}, 200, headers
            )
        size = int(query.get("max_results", "10"))
        if not 5 <= size <= 100:
            return _invalid("max_results", headers)
        since = int(query.get("since_id", "0"))
        below: int | None = None
        if "pagination_token" in query:
            try:
                below = int(base64.urlsafe_b64decode(query["pagination_token"].encode()).decode())
            except ValueError:
                return _invalid("pagination_token", headers)
        matching = sorted(
            (p for p in self.posts if int(p["id"]) > since and (below is None or int(p["id"]) < below)),
            key=lambda p: int(p["id"]),
            reverse=True,
        )
        page, rest = matching[:size], matching[size:]
        if not page:
            return JSONResponse({"meta": {"result_count": 0}}, 200, headers)
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
        }
        if rest:
            meta["next_token"] = base64.urlsafe_b64encode(page[-1]["id"].encode()).decode()
        authors = {str(p.get("author_id")) for p in page}
        users = [u for uid, u in self.users.items() if uid in authors]
        return JSONResponse({"data": page, "includes": {"users": users}, "meta": meta}, 200, headers)


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """X API v2's problem-details error body."""
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


def _problem(status: int, title: str, detail: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(problem(status, title, detail), status, headers)


def _invalid(parameter: str, headers: dict[str, str]) -> JSONResponse:
    body = {
        "errors": [
            {
                "parameters": {parameter: ["?"]},
                "message": f"The `{parameter}` query parameter value is invalid",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    return JSONResponse(body, 400, headers)


@dataclass
class FakeXActions(FakePlatform):
    """api.x.com: posts by `authors` (id -> author id), everything else by someone else."""

    authors: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    remaining: int = 50

    cleared = ("authors", "missing")

    def answer(self, call: Call) -> Answer:
        self.remaining = max(0, self.remaining - 1)
        limits = {
            "x-rate-limit-limit": "50",
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }
        if call.headers.get("authorization") != "Bearer x-user-token":
            return (
                401,
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                {},
            )
        if call.method == "POST" and call.path == "/2/tweets":
            return (
                201,
                {"data": {"id": "1880000000000000001", "edit_history_tweet_ids": ["1880000000000000001"]}},
                limits,
            )
        hidden = re.fullmatch(r"/2/tweets/(\d+)/hidden", call.path)
        if call.method == "PUT" and hidden:
            return 200, {"data": {"hidden": bool(call.json and call.json.get("hidden"))}}, limits
        post = re.fullmatch(r"/2/tweets/(\d+)", call.path)
        if call.method == "GET" and post:
            if post.group(1) in self.missing:
                problem = {
                    "value": post.group(1),
                    "detail": f"Could not find tweet with id: [{post.group(1)}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
                return 200, {"errors": [problem]}, limits
            author = self.authors.get(post.group(1), X_OTHER_USER)
            return (
                200,
                {
                    "data": {
                        "id": post.group(1),
                        "author_id": author,
                        "edit_history_tweet_ids": [post.group(1)],
                    }
                },
                limits,
            )
        if call.method == "DELETE" and post:
            return 200, {"data": {"deleted": True}}, limits
        dm = re.fullmatch(r"/2/dm_conversations/with/(\d+)/messages", call.path)
        if call.method == "POST" and dm:
            conversation = f"{X_ACCOUNT}-{dm.group(1)}"
            return (
                201,
                {"data": {"dm_conversation_id": conversation, "dm_event_id": "1580705921830768643"}},
                limits,
            )
        return 404, {"title": "Not Found Error", "status": 404, "type": "about:blank"}, limits
