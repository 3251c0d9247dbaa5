"""Request bodies are capped before anything reads them, authentication included, against a real server
(uvicorn on a free port, raw sockets): a declared `Content-Length` over the cap is answered 413 while most of
the body has not even been sent, and a chunked body is refused once it passes the cap, long before its end."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from triage_api.config import ApiSettings
from triage_api.main import create_app

from tests.builders import unique

pytestmark = pytest.mark.integration

CAP = 64 * 1024
TOKEN = "body-limit-token-3c9a71"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'triage.db'}",
        consumer_enabled=False,
        consumer_group=unique("body-limit"),
        bootstrap_admin_token=TOKEN,
        bootstrap_admin_password="a long enough bootstrap password",
        max_body_bytes=CAP,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    uv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uv.run, name="uvicorn-body-limit", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


def head(path: str, port: int, extra: str, auth: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json", extra]
    if auth:
        lines.append(f"Authorization: Bearer {TOKEN}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket) -> bytes:
    """The status line and headers the server sends back (the body may never be complete)."""
    sock.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        part = sock.recv(65536)
        if not part:
            break
        received += part
    return received


def test_a_declared_length_over_the_cap_is_413_before_the_body_is_read(server: int) -> None:
    declared = 60 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", server)) as sock:
        # unauthenticated, to a route with a JSON body: FastAPI would read it all before answering 401
        sock.sendall(head("/api/flags/bulk-status", server, f"Content-Length: {declared}"))
        sock.sendall(b"[" * 1024)  # and no more: the answer must come without the other 60 MB
        received = answer(sock)
    status, _, rest = received.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large", received[:200]
    assert f"at most {CAP} bytes".encode() in rest
    assert b"x-content-type-options: nosniff" in rest.lower()  # the 413 has the security headers too


def test_a_chunked_body_is_refused_once_it_passes_the_cap(server: int) -> None:
    piece = b'{"ids": [' + b'"x",' * 4000  # 16 KB a chunk
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head("/api/flags/bulk-status", server, "Transfer-Encoding: chunked", auth=True))
        for _ in range(CAP // len(piece) + 2):  # just past the cap; the body's last chunk never comes
            sock.sendall(chunk)
        received = answer(sock)
    # Answered while the body is still open: the server did not wait for (or read) the rest.
    assert received.startswith(b"HTTP/1.1 413"), received[:200]


def test_a_body_under_the_cap_is_read_as_usual(server: int) -> None:
    body = b'{"ids": ["00000000-0000-0000-0000-000000000000"], "status": "dismissed"}'
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head("/api/flags/bulk-status", server, f"Content-Length: {len(body)}", auth=True) + body)
        received = answer(sock)
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
