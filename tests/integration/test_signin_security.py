"""Sign-in hardening on SQLite and PostgreSQL, through the real app: throttling per account and per address
with a growing back-off that holds across app instances, the same scrypt work for unknown and known users,
the password policy on every new password, and sessions and tokens ended by a password reset, a
deactivation (for good: reactivating brings none back) and a role change."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from triage_api.staff.models import ApiToken, Role, SigninCounter, StaffSession, User
from triage_api.staff.passwords import WeakPassword
from triage_api.staff.service import create_user, ensure_bootstrap_admin
from triage_api.staff.throttle import SigninThrottle, ThrottlePolicy

from tests.integration.desk_support import PASSWORD, Desk, FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)


class Clock:
    """The throttle's time source, moved forward by the test instead of sleeping."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def throttled(app: FastAPI, clock: Clock, **policy: Any) -> FastAPI:
    app.state.signin_throttle = SigninThrottle(ThrottlePolicy(**policy), clock=clock)
    return app


@contextlib.asynccontextmanager
async def browser(app: FastAPI, address: str = "198.51.100.7") -> AsyncIterator[httpx.AsyncClient]:
    """A client that comes from `address` (the throttle counts per client address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://triage.test") as client:
        yield client


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"username": username, "password": password})


# --- throttling ---------------------------------------------------------------------------------------------


async def test_fifty_wrong_passwords_lock_the_account_until_the_back_off_has_passed(
    database_url: str,
) -> None:
    clock = Clock()
    app = throttled(make_app(database_url, FakePublisher()), clock, lockout_seconds=60)
    async with running_desk(app), browser(app) as client:
        answers = [
            (await sign_in(client, "moderator-user", f"guess number {i}")).status_code for i in range(50)
        ]
        assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}

        locked = await sign_in(client, "moderator-user", PASSWORD)  # the right password, while locked
        assert locked.status_code == 429 and "set-cookie" not in locked.headers
        assert "Too many sign-in attempts" in locked.text
        assert locked.headers["retry-after"] == "60"

        clock.advance(30)
        assert (await sign_in(client, "moderator-user", PASSWORD)).headers["retry-after"] == "30"
        clock.advance(30)
        signed_in = await sign_in(client, "moderator-user", PASSWORD)
        assert signed_in.status_code == 303 and signed_in.headers["set-cookie"].startswith("triage_session=")

        # The success reset the account: five more tries before the next lock, which starts at 60 s again.
        answers = [(await sign_in(client, "moderator-user", "wrong again")).status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]
        assert (await sign_in(client, "moderator-user", PASSWORD)).headers["retry-after"] == "60"


async def test_the_back_off_doubles_with_each_lock_in_a_row_up_to_its_cap(database_url: str) -> None:
    clock = Clock()
    policy = {"account_failures": 2, "lockout_seconds": 10, "lockout_max_seconds": 35}
    app = throttled(make_app(database_url, FakePublisher()), clock, **policy)
    async with running_desk(app), browser(app) as client:
        waits = []
        for _ in range(4):
            assert [(await sign_in(client, "lead-user", "not it at all")).status_code for _ in range(2)] == [
                401
            ] * 2
            refused = await sign_in(client, "lead-user", PASSWORD)
            assert refused.status_code == 429
            waits.append(int(refused.headers["retry-after"]))
            clock.advance(waits[-1])
    assert waits == [10, 20, 35, 35]


async def test_a_lock_holds_in_another_app_instance_sharing_the_database(database_url: str) -> None:
    clock = Clock()
    first = throttled(make_app(database_url, FakePublisher()), clock)
    async with running_desk(first), browser(first) as client:
        for _ in range(5):
            assert (await sign_in(client, "viewer-user", "wrong password here")).status_code == 401
    second = throttled(make_app(database_url, FakePublisher()), clock)  # another worker, or after a restart
    async with second.router.lifespan_context(second), browser(second) as client:
        refused = await sign_in(client, "viewer-user", PASSWORD)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"


async def test_an_address_trying_many_accounts_is_locked_out_of_all_of_them(database_url: str) -> None:
    clock = Clock()
    app = throttled(make_app(database_url, FakePublisher()), clock, address_failures=8, lockout_seconds=120)
    async with running_desk(app):
        async with browser(app, "203.0.113.9") as attacker:
            for i in range(8):  # one or two guesses per account: no account reaches its own limit
                answer = await sign_in(attacker, f"user-{i % 4}", "Winter2026!")
                assert answer.status_code == 401
            for username in ("admin-user", "user-0", "somebody-new"):
                refused = await sign_in(attacker, username, PASSWORD)
                assert refused.status_code == 429 and refused.headers["retry-after"] == "120"
        async with browser(app, "198.51.100.20") as colleague:  # another address is not affected
            assert (await sign_in(colleague, "admin-user", PASSWORD)).status_code == 303
        clock.advance(120)
        async with browser(app, "203.0.113.9") as attacker:
            assert (await sign_in(attacker, "admin-user", PASSWORD)).status_code == 303


async def test_successful_sign_ins_do_not_use_up_the_address_allowance(database_url: str) -> None:
    app = throttled(make_app(database_url, FakePublisher()), Clock(), address_failures=3)
    async with running_desk(app), browser(app, "192.0.2.50") as office:
        for who in ("viewer", "moderator", "moderator2", "lead", "admin", "viewer", "lead"):
            assert (await sign_in(office, f"{who}-user", PASSWORD)).status_code == 303


async def test_an_unknown_username_is_throttled_like_a_real_one(database_url: str) -> None:
    app = throttled(make_app(database_url, FakePublisher()), Clock())
    async with running_desk(app), browser(app) as client:
        real = [(await sign_in(client, "admin-user", "no such password")).status_code for _ in range(6)]
        unknown = [(await sign_in(client, "no-such-user", "no such password")).status_code for _ in range(6)]
    assert real == unknown == [401] * 5 + [429]


async def test_throttle_rows_are_forgotten_once_idle(database_url: str) -> None:
    clock = Clock()
    app = throttled(make_app(database_url, FakePublisher()), clock, window_seconds=600)
    async with running_desk(app), browser(app) as client:
        for i in range(3):
            await sign_in(client, f"stranger-{i}", "a wrong password")
        with app.state.sessionmaker() as db:
            assert db.scalar(select(func.count()).select_from(SigninCounter)) == 4  # 3 accounts, 1 address
        clock.advance(601)
        await sign_in(client, "viewer-user", PASSWORD)  # any attempt prunes what has been idle a window
        with app.state.sessionmaker() as db:
            assert db.scalar(select(func.count()).select_from(SigninCounter)) == 1  # the address, in use


# --- the same work for every username -------------------------------------------------------------------------


async def test_unknown_inactive_and_password_less_users_cost_the_same_scrypt_work(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int, int, int]] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password: bytes, *, salt: bytes, n: int, r: int, p: int, **kw: Any) -> bytes:
        calls.append((n, r, p, kw.get("dklen", 64)))
        return real_scrypt(password, salt=salt, n=n, r=r, p=p, **kw)

    app = throttled(
        make_app(database_url, FakePublisher()), Clock(), account_failures=50, address_failures=50
    )
    async with running_desk(app):
        with app.state.sessionmaker() as db:
            create_user(db, "gone-user", PASSWORD, Role.VIEWER).active = False
            create_user(db, "sso-user", None, Role.VIEWER)
            db.commit()
        monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
        work = {}
        async with browser(app) as client:
            for username in ("moderator-user", "nobody-at-all", "gone-user", "sso-user"):
                calls.clear()
                answer = await sign_in(client, username, "a wrong password")
                assert answer.status_code == 401
                work[username] = list(calls)
    assert work["moderator-user"] == [(2**14, 8, 1, 32)]
    assert work["nobody-at-all"] == work["gone-user"] == work["sso-user"] == work["moderator-user"]


# --- the password policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaaaa", "different characters"),
        ("password1234", "too easy to guess"),
        ("abcdefghijklmn", "sequence"),
        ("nina2026nina2026", "repeated"),
        ("Nina.Okafor-1987!", "username"),
        ("qwertyuiop12", "too easy to guess"),
    ],
)
async def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str, tmp_path: Any) -> None:
    async with running_desk(make_app(f"sqlite:///{tmp_path / 'triage.db'}", FakePublisher())) as desk:
        admin = desk.auth("admin")
        body = {"username": "nina.okafor", "password": password, "role": "moderator"}
        created = await desk.client.post("/api/users", json=body, headers=admin)
        assert created.status_code == 422 and reason in created.json()["detail"]
        assert password not in created.text
        body["password"] = "tulip orbit cobalt 88"
        assert (await desk.client.post("/api/users", json=body, headers=admin)).status_code == 201
        reset = await desk.client.patch("/api/users/nina.okafor", json={"password": password}, headers=admin)
        assert reset.status_code == 422 and reason in reset.json()["detail"]
        async with browser(desk.app) as client:  # the refused reset changed nothing
            assert (await sign_in(client, "nina.okafor", password)).status_code == 401
            assert (await sign_in(client, "nina.okafor", "tulip orbit cobalt 88")).status_code == 303


async def test_weak_policy_applies_to_the_bootstrap_password_from_the_environment(tmp_path: Any) -> None:
    app = make_app(
        f"sqlite:///{tmp_path / 'triage.db'}", FakePublisher(), bootstrap_admin_password="password1234"
    )
    with pytest.raises(
        WeakPassword, match="TRIAGE_BOOTSTRAP_ADMIN_PASSWORD: the password is too easy to guess"
    ):
        async with app.router.lifespan_context(app):
            pass
    with app.state.sessionmaker() as db, pytest.raises(WeakPassword, match="username"):
        ensure_bootstrap_admin(db, "admin", "my admin password 2026", None)


# --- sessions and tokens end with a password reset, a deactivation or a role change -----------------------------


@contextlib.asynccontextmanager
async def signed_in_and_token(
    desk: Desk, username: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A browser session of `username` and a new API token of theirs."""
    async with browser(desk.app) as client:
        assert (await sign_in(client, username, PASSWORD)).status_code == 303
        issued = await desk.client.post(
            "/api/tokens", json={"username": username, "name": "script"}, headers=desk.auth("admin")
        )
        yield client, {"Authorization": f"Bearer {issued.json()['token']}"}


async def stored_access(desk: Desk, username: str) -> tuple[int, int]:
    with desk.app.state.sessionmaker() as db:
        user_id = db.scalar(select(User.id).where(User.username == username))
        sessions = db.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user_id)
        )
        tokens = db.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id))
    return sessions or 0, tokens or 0


@pytest.mark.parametrize(
    "change",
    [
        {"password": "a brand new passphrase 42"},
        {"role": "viewer"},
        {"active": False},
    ],
    ids=["password reset", "role change", "deactivation"],
)
async def test_a_change_of_password_role_or_activity_ends_sessions_and_tokens(
    database_url: str, change: dict[str, Any]
) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        admin = desk.auth("admin")
        async with signed_in_and_token(desk, "moderator-user") as (session, token):
            assert (await session.get("/api/flags")).status_code == 200
            assert (await desk.client.get("/api/flags", headers=token)).status_code == 200
            assert await stored_access(desk, "moderator-user") == (1, 2)  # the desk's own token too

            r = await desk.client.patch("/api/users/moderator-user", json=change, headers=admin)
            assert r.status_code == 200

            assert (await session.get("/api/flags")).status_code == 401
            assert (await desk.client.get("/api/flags", headers=token)).status_code == 401
            assert await stored_access(desk, "moderator-user") == (0, 0)  # deleted, not hidden
            if change.get("active") is False:
                await desk.client.patch("/api/users/moderator-user", json={"active": True}, headers=admin)
                assert (await session.get("/api/flags")).status_code == 401
                assert (await desk.client.get("/api/flags", headers=token)).status_code == 401

        audit = (await desk.client.get("/api/audit", params={"actor": "admin-user"}, headers=admin)).json()
        update = [e for e in audit["items"] if e["action"] == "user.updated"][-1]  # newest first
        assert update["detail"]["sessions_ended"] == 1 and update["detail"]["tokens_revoked"] == 2


async def test_a_change_that_changes_nothing_keeps_sessions(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        admin = desk.auth("admin")
        async with signed_in_and_token(desk, "lead-user") as (session, token):
            same = {"role": "lead", "active": True}
            assert (
                await desk.client.patch("/api/users/lead-user", json=same, headers=admin)
            ).status_code == 200
            assert (await session.get("/api/flags")).status_code == 200
            assert (await desk.client.get("/api/flags", headers=token)).status_code == 200
