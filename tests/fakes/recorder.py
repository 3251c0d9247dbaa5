"""A recording fake platform server over real HTTP on 127.0.0.1 (Starlette under uvicorn in a thread, started
by `tests.fakes.server`): every call is recorded, and `queue` scripts answers that take precedence over the
fake's defaults (a 429, a permanent error) for the next calls matching a path fragment. The platform fakes of
the actions clients (`FakeXActions`, `FakeYouTubeActions`, `FakeRedditActions`, `FakeGraphMentions`) build on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.server import serve as serve_app

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (None: empty), headers
Fake = TypeVar("Fake", bound="FakePlatform")


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
    cleared: ClassVar[tuple[str, ...]] = ()  # the fake's own collections that `reset` empties too

    def reset(self) -> None:
        self.calls.clear()
        self.script.clear()
        for name in self.cleared:
            getattr(self, name).clear()

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


@contextmanager
def serve(fake: FakePlatform) -> Iterator[str]:
    """Run the fake on a free port of 127.0.0.1 for the duration (`tests.fakes.server`); yields its base
    URL, also kept as `fake.base_url`."""
    with serve_app(fake.app()) as url:
        fake.base_url = url
        yield url


def served(fake: Fake) -> Iterator[Fake]:
    """The body of a fixture that serves `fake` for its scope: `yield from served(FakeXActions())`."""
    with serve(fake):
        yield fake
