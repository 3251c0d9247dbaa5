"""Serve an app on a free port of 127.0.0.1 in a thread, for the length of a test: a Starlette app under uvicorn
(`serve`), or a standard-library request handler (`serve_handler`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import uvicorn
from starlette.applications import Starlette

START_TIMEOUT = 30.0


@contextmanager
def serve(
    app: Starlette, lifespan: Literal["on", "off"] = "off", name: str = "fake-platform"
) -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:<port>`) while the server runs. `lifespan="on"` runs the app's
    start-up and shut-down (the API's migrations and consumers); the platform fakes have none."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        sock.close()


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler], name: str) -> Iterator[int]:
    """Yields the port of 127.0.0.1 on which a standard-library `handler` answers while the block runs."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
