"""A local HTTP endpoint standing in for the on-call webhook: it answers every POST with 202 and keeps what it
received, with the moment it arrived (a real server on 127.0.0.1, so the pager's HTTP client is the real one)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.server import serve_handler


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)

    def pages(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, for the length of the block."""
    requests: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            requests.append(Received(time.monotonic(), dict(self.headers), body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serve_handler(Handler, "oncall-webhook") as port:
        yield Receiver(port, requests)
