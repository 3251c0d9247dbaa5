"""Fake platform servers over real HTTP on 127.0.0.1 (Starlette under uvicorn in a thread, started by
`tests.fakes.server`), answering with the shapes, errors and rate-limit headers the platforms document:
X API v2, YouTube Data API v3 (and Google's token endpoint), Reddit's OAuth API (and its token endpoint),
and the Graph API's Instagram mention lookups. Each records every call; `script` queues answers that
take precedence over the defaults (a 429, a permanent error) for the next calls matching a path fragment."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from triage_ingest.accounts import AccountConfig, Accounts

from tests.fakes.server import serve as serve_app
from tests.fakes.youtube import google_error

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (None: empty), headers

X_ACCOUNT = "1500000000000000001"  # our X user id
X_OTHER_USER = "2244994945"
YT_CHANNEL = "UCbrightwater0000000000"  # our channel id
YT_OTHER_CHANNEL = "UCabc"
REDDIT_USER = "brightwater_health"  # our Reddit username (the account id)
IG_USER_ID = "17841400000000000"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    json: Any


@dataclass
class Scripted:
    fragment: str  # answers the next call whose path contains this
    answer: Answer


@dataclass
class FakePlatform:
    """The common part: record the call, answer from the script or from `answer`."""

    calls: list[Call] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    base_url: str = ""

    def reset(self) -> None:
        self.calls.clear()
        self.script.clear()

    def queue(
        self, fragment: str, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.script.append(Scripted(fragment, (status, body, headers or {})))

    def paths(self, method: str | None = None) -> list[str]:
        return [c.path for c in self.calls if method is None or c.method == method]

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            content_type = request.headers.get("content-type", "")
            call = Call(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                form=dict(parse_qsl(raw.decode())) if "form" in content_type else {},
                json=json.loads(raw) if "json" in content_type and raw else None,
            )
            self.calls.append(call)
            status, body, headers = self._next(call) or self.answer(call)
            content = b"" if body is None else json.dumps(body).encode()
            media = "application/json" if body is not None else None
            return Response(content, status_code=status, headers=headers, media_type=media)

        methods = ["GET", "POST", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

    def _next(self, call: Call) -> Answer | None:
        for i, scripted in enumerate(self.script):
            if scripted.fragment in call.path:
                del self.script[i]
                return scripted.answer
        return None

    def answer(self, call: Call) -> Answer:
        return 404, {"error": "not found"}, {}


@dataclass
class FakeX(FakePlatform):
    """api.x.com: posts by `authors` (id -> author id), everything else by someone else."""

    authors: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    remaining: int = 50

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


@dataclass
class FakeYouTube(FakePlatform):
    """www.googleapis.com/youtube/v3 plus oauth2.googleapis.com/token (at `/token`)."""

    owners: dict[str, str] = field(default_factory=dict)  # comment id -> author channel id
    tokens_issued: int = 0

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


@dataclass
class FakeReddit(FakePlatform):
    """oauth.reddit.com plus www.reddit.com/api/v1/access_token (at the same host)."""

    authors: dict[str, str] = field(default_factory=dict)  # fullname -> username
    unmoderated: set[str] = field(default_factory=set)  # fullnames in subreddits we do not moderate
    remaining: float = 99.0

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


@dataclass
class FakeGraph(FakePlatform):
    """graph.facebook.com for Instagram mention lookups on `IG_USER_ID`."""

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != "Bearer ig-token":
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            return 400, {"error": error}, {}
        fields = call.query.get("fields", "")
        comment = re.match(r"mentioned_comment\.comment_id\((\w+)\)", fields)
        media = re.match(r"mentioned_media\.media_id\((\w+)\)", fields)
        if call.path.endswith(f"/{IG_USER_ID}") and comment:
            found = {
                "id": comment.group(1),
                "text": "@brightwater my mother's chemo got cancelled twice, who do I call?",
                "timestamp": "2026-01-05T14:03:11+0000",
                "username": "sam.q",
                "like_count": 2,
                "media": {"id": "17918195224117851"},
            }
            return 200, {"mentioned_comment": found, "id": IG_USER_ID}, {}
        if call.path.endswith(f"/{IG_USER_ID}") and media:
            found = {
                "id": media.group(1),
                "caption": "Great nurses at @brightwater today",
                "timestamp": "2026-01-05T15:00:00+0000",
                "username": "pat.r",
                "permalink": "https://www.instagram.com/p/C1abc/",
            }
            return 200, {"mentioned_media": found, "id": IG_USER_ID}, {}
        error = {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}
        return 400, {"error": error}, {}


SECRETS = {
    "X_TOKEN": "x-user-token",
    "YT_CLIENT_ID": "yt-client",
    "YT_CLIENT_SECRET": "yt-secret",
    "YT_REFRESH": "yt-refresh",
    "REDDIT_CLIENT_ID": "reddit-client",
    "REDDIT_CLIENT_SECRET": "reddit-secret",
    "REDDIT_REFRESH": "reddit-refresh",
}


def platform_accounts(secrets: dict[str, str] | None = None) -> Accounts:
    known = SECRETS if secrets is None else secrets
    oauth = {
        "client_id": "{p}_CLIENT_ID",
        "client_secret": "{p}_CLIENT_SECRET",
        "refresh_token": "{p}_REFRESH",
    }
    return Accounts(
        [
            AccountConfig(
                platform="x", id=X_ACCOUNT, handle="@brightwater", credentials={"access_token": "X_TOKEN"}
            ),
            AccountConfig(
                platform="youtube",
                id=YT_CHANNEL,
                handle="@brightwaterhealth",
                credentials={k: v.format(p="YT") for k, v in oauth.items()},
            ),
            AccountConfig(
                platform="reddit",
                id=REDDIT_USER,
                handle=f"u/{REDDIT_USER}",
                credentials={k: v.format(p="REDDIT") for k, v in oauth.items()},
            ),
        ],
        known.get,
    )


@contextmanager
def serve(fake: FakePlatform) -> Iterator[str]:
    """Run the fake on a free port of 127.0.0.1 for the duration (`tests.fakes.server`); yields its base
    URL, also kept as `fake.base_url`."""
    with serve_app(fake.app()) as url:
        fake.base_url = url
        yield url
