"""A fake Reddit: the token endpoint and `GET /{r/<sub>|user/<name>}/comments` on the OAuth host.

Token: HTTP basic client auth (401 otherwise), `grant_type=password` (200 `{"error": "invalid_grant"}` for a
wrong password, as Reddit answers) or `client_credentials`. Listings newest first; `before=<fullname>` gives
the `limit` comments just newer than it, `after=` the ones just older, and either on a fullname that is not
in the listing (a removed comment) gives an empty page. Requests without a bearer token get 401, without a
User-Agent 429. `X-Ratelimit-Used/-Remaining/-Reset` (seconds) on every answer.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.recorder import Answer, Call, FakePlatform

CLIENT_ID = "p-jcoLKBynTLew"
CLIENT_SECRET = "gko_LXELoV07ZBNUXrvWZfzE3aI"
USERNAME = "brightwater_health"
PASSWORD = "hunter2-but-longer"


def comment(
    fullname: str,
    created: Any,
    body: Any = "Does the clinic take walk-ins?",
    author: str = "sam_q",
    **extra: Any,
) -> dict[str, Any]:
    """A `t1` listing child (the fields the normaliser reads plus some it does not)."""
    return {
        "kind": "t1",
        "data": {
            "id": fullname.removeprefix("t1_"),
            "name": fullname,
            "body": body,
            "author": author,
            "author_fullname": f"t2_{author}",
            "created_utc": created,
            "created": created,
            "edited": False,
            "link_id": "t3_1abcd2",
            "parent_id": "t3_1abcd2",
            "permalink": f"/r/brightwater/comments/1abcd2/flu_shots/{fullname.removeprefix('t1_')}/",
            "subreddit": "brightwater",
            "score": 1,
            "distinguished": None,
            **extra,
        },
    }


@dataclass
class FakeReddit:
    subreddit: str
    comments: list[dict[str, Any]] = field(default_factory=list)  # newest first
    remaining: float = 600.0
    reset_s: int = 300
    tokens: set[str] = field(default_factory=set)
    requests: list[dict[str, str]] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)

    def add(self, *children: dict[str, Any]) -> None:
        """New comments, in the order they were written (each newer than the last)."""
        for child in children:
            self.comments.insert(0, child)

    def remove(self, fullname: str) -> None:
        self.comments = [c for c in self.comments if c["data"]["name"] != fullname]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/access_token", self._token, methods=["POST"]),
                Route("/r/{sub}/comments", self._listing),
            ]
        )

    def _headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-used": "1",
            "x-ratelimit-remaining": f"{max(self.remaining, 0.0):.1f}",
            "x-ratelimit-reset": str(self.reset_s),
        }

    async def _token(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"message": "Unauthorized", "error": 401}, 401)
        form = await request.form()
        grant = form.get("grant_type")
        if grant == "password" and (form.get("username"), form.get("password")) != (USERNAME, PASSWORD):
            return JSONResponse({"error": "invalid_grant"})
        if grant not in ("password", "client_credentials"):
            return JSONResponse({"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    async def _listing(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.requests.append(query)
        self.user_agents.append(request.headers.get("user-agent", ""))
        if not request.headers.get("user-agent"):
            return JSONResponse({"message": "Too Many Requests", "error": 429}, 429, self._headers())
        token = request.headers.get("authorization", "").removeprefix("bearer ").removeprefix("Bearer ")
        if token not in self.tokens:
            return JSONResponse({"message": "Unauthorized", "error": 401}, 401)
        if self.remaining < 1:
            return JSONResponse({"message": "Too Many Requests", "error": 429}, 429, self._headers())
        self.remaining -= 1
        if request.path_params["sub"] != self.subreddit:
            return JSONResponse(
                {"reason": "banned", "message": "Not Found", "error": 404}, 404, self._headers()
            )
        limit = min(100, int(query.get("limit", "25")))
        names = [c["data"]["name"] for c in self.comments]
        if "before" in query:
            if query["before"] not in names:
                page: list[dict[str, Any]] = []
            else:
                index = names.index(query["before"])
                page = self.comments[max(0, index - limit) : index]
        elif "after" in query:
            if query["after"] not in names:
                page = []
            else:
                index = names.index(query["after"]) + 1
                page = self.comments[index : index + limit]
        else:
            page = self.comments[:limit]
        older = page and names.index(page[-1]["data"]["name"]) + 1 < len(names)
        listing = {
            "kind": "Listing",
            "data": {
                "after": page[-1]["data"]["name"] if older else None,
                "before": None,
                "dist": len(page),
                "modhash": None,
                "geo_filter": "",
                "children": page,
            },
        }
        return JSONResponse(listing, 200, self._headers())


@dataclass
class FakeRedditActions(FakePlatform):
    """oauth.reddit.com plus www.reddit.com/api/v1/access_token (at the same host)."""

    authors: dict[str, str] = field(default_factory=dict)  # fullname -> username
    unmoderated: set[str] = field(default_factory=set)  # fullnames in subreddits we do not moderate
    remaining: float = 99.0

    cleared = ("authors",)

    def answer(self, call: Call) -> Answer:
        if call.path == "/api/v1/access_token":
            expected = "Basic " + base64.b64encode(b"reddit-client:reddit-secret").decode()
            if call.headers.get("authorization") != expected:
                return 401, {"message": "Unauthorized", "error": 401}, {}
            if call.form.get("refresh_token") != "reddit-refresh":
                return 200, {"error": "invalid_grant"}, {}
            return (
                200,
                {"access_token": "reddit-token", "token_type": "bearer", "expires_in": 86400, "scope": "*"},
                {},
            )
        self.remaining -= 1
        limits = {
            "x-ratelimit-used": str(100 - self.remaining),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": "412",
        }
        if call.headers.get("authorization") != "bearer reddit-token":
            return 401, {"message": "Unauthorized", "error": 401}, limits
        if call.path == "/api/comment":
            thing = {
                "kind": "t1",
                "data": {"id": "k9new", "name": "t1_k9new", "parent_id": call.form.get("thing_id")},
            }
            return 200, {"json": {"errors": [], "data": {"things": [thing]}}}, limits
        if call.path in ("/api/remove", "/api/approve") and call.form.get("id") in self.unmoderated:
            return 403, {"message": "Forbidden", "error": 403}, limits
        if call.path in ("/api/remove", "/api/approve", "/api/del"):
            return 200, {}, limits
        if call.path == "/api/compose":
            return 200, {"json": {"errors": []}}, limits
        if call.path == "/api/info":
            fullname = call.query.get("id", "")
            author = self.authors.get(fullname, "some_redditor")
            child = {"kind": "t1", "data": {"name": fullname, "author": author, "subreddit": "brightwater"}}
            return (
                200,
                {"kind": "Listing", "data": {"children": [child], "after": None, "before": None}},
                limits,
            )
        return 404, {"message": "Not Found", "error": 404}, limits
