"""Shared set-up for the moderation-desk tests: an app with staff of every role, and a fake publisher."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from triage_api.config import ApiSettings
from triage_api.flags.service import store_flags
from triage_api.main import create_app
from triage_api.staff.models import Role
from triage_api.staff.service import create_user, issue_token
from triage_events import ActionRequested, FlagRaised

from tests.builders import unique

PASSWORD = "correct horse battery staple"
# The bootstrap admin's API token (`bootstrap_admin_token`, TRIAGE_BOOTSTRAP_ADMIN_TOKEN) and its header.
TOKEN = "test-bootstrap-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROLES = ("viewer", "moderator", "moderator2", "lead", "admin")


class FakePublisher:
    """Keeps published requests in memory; `fail` makes the next publish raise like a broker outage."""

    def __init__(self) -> None:
        self.sent: list[ActionRequested] = []
        self.fail = False

    async def publish(self, event: ActionRequested) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append(event)


@dataclass
class Desk:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def add_flags(self, *flags: FlagRaised) -> None:
        with self.app.state.sessionmaker() as db, db.begin():
            store_flags(db, list(flags), targets=self.app.state.sla)

    async def suggestions(self, flag_id: str) -> list[dict[str, Any]]:
        """The reply templates suggested for the flag, filled in, as a viewer reads them."""
        r = await self.client.get(f"/api/flags/{flag_id}/templates", headers=self.auth("viewer"))
        assert r.status_code == 200, r.text
        return list(r.json())

    async def reply(self, flag_id: str, body: dict[str, str], who: str = "moderator") -> httpx.Response:
        """Asks, as `who`, to reply to the flag's comment (`body`: a `template_id` or a `text`)."""
        return await self.client.post(f"/api/flags/{flag_id}/reply", json=body, headers=self.auth(who))


def desk_settings(database_url: str, **overrides: Any) -> ApiSettings:
    fields: dict[str, Any] = {
        "database_url": database_url,
        "consumer_group": unique("desk-test"),
        "bootstrap_admin_password": PASSWORD,
        "consumer_enabled": False,
    }
    return ApiSettings(**{**fields, **overrides})


@contextlib.asynccontextmanager
async def running(app: FastAPI, headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (migrations, bootstrap admin, consumers) and an HTTP client on it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://triage.test", headers=headers
        ) as client:
            yield client


@contextlib.asynccontextmanager
async def running_desk(app: FastAPI) -> AsyncIterator[Desk]:
    """The app started (migrations, bootstrap admin), with a user and a token for each role."""
    async with app.router.lifespan_context(app):
        desk = Desk(
            app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://triage.test")
        )
        with app.state.sessionmaker() as db:
            for name in ROLES:
                role = Role(name.rstrip("2"))
                user = create_user(db, f"{name}-user", PASSWORD, role)
                desk.tokens[name] = issue_token(db, user, "test")
            db.commit()
        async with desk.client:
            yield desk


def make_app(database_url: str, publisher: FakePublisher | None = None, **overrides: Any) -> FastAPI:
    return create_app(desk_settings(database_url, **overrides), action_publisher=publisher)


@contextlib.asynccontextmanager
async def desk_with_flag(database_url: str, flag: FlagRaised) -> AsyncIterator[tuple[Desk, FakePublisher]]:
    """A started desk (`running_desk`) with `flag` stored, and the fake publisher its actions go to."""
    publisher = FakePublisher()
    async with running_desk(make_app(database_url, publisher)) as desk:
        desk.add_flags(flag)
        yield desk, publisher


__all__ = [
    "AUTH",
    "PASSWORD",
    "TOKEN",
    "Desk",
    "FakePublisher",
    "FlagRaised",
    "desk_with_flag",
    "make_app",
    "running_desk",
]
