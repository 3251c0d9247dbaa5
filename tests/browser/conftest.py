"""Browser fixtures: the API served by uvicorn on a free port, with staff of every role, and Debian's
chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.conftest import database_url  # noqa: F401  (the SQLite/PostgreSQL fixture)
from tests.integration.desk_support import PASSWORD, FakePublisher, desk_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Server:
    url: str
    app: Any
    publisher: FakePublisher
    users: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any, publisher: FakePublisher) -> Iterator[Server]:
    """`app` served by uvicorn on a free port, with a viewer, a moderator and a lead."""
    import uvicorn
    from triage_api.staff.models import Role
    from triage_api.staff.service import create_user

    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    running = Server(f"http://127.0.0.1:{port}", app, publisher)
    with app.state.sessionmaker() as db:
        for role in ("viewer", "moderator", "lead"):
            create_user(db, f"{role}-user", PASSWORD, Role(role))
            running.users[role] = f"{role}-user"
        db.commit()
    try:
        yield running
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:  # noqa: F811
    from triage_api.main import create_app

    publisher = FakePublisher()
    with serving(create_app(desk_settings(database_url), action_publisher=publisher), publisher) as running:
        yield running


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
# open, which would break every asyncio test collected after these.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright import sync_api

    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian chromium is not installed (apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
