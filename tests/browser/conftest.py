"""Browser fixtures: the API served by uvicorn on a free port, with staff of every role, and Debian's
chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.server import serve
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


@contextlib.contextmanager
def serving(app: Any, publisher: FakePublisher) -> Iterator[Server]:
    """`app` served by uvicorn on a free port, with a viewer, a moderator and a lead."""
    from triage_api.staff.models import Role
    from triage_api.staff.service import create_user

    with serve(app, lifespan="on", name="uvicorn-browser-test") as url:
        running = Server(url, app, publisher)
        with app.state.sessionmaker() as db:
            for role in ("viewer", "moderator", "lead"):
                create_user(db, f"{role}-user", PASSWORD, Role(role))
                running.users[role] = f"{role}-user"
            db.commit()
        yield running


def sign_in(
    chromium: Any, server: Server, role: str, problems: list[str] | None = None, height: int = 900
) -> Any:
    """A new page signed in as `role` and showing the queue; `problems` collects its console errors and
    uncaught exceptions."""
    page = chromium.new_page(viewport={"width": 1280, "height": height})
    page.set_default_timeout(15_000)
    if problems is not None:
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/")
    page.fill("input[name=username]", server.users[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-rows")
    return page


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
