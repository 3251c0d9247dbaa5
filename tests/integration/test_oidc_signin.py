"""OIDC sign-in through the API against a fake provider (a real HTTP server with discovery, authorize, token
and JWKS endpoints and an RSA key), on SQLite and PostgreSQL: the code flow with PKCE, state and nonce ends
in the ordinary session cookie and a linked or created staff account; every broken answer (state, nonce,
expiry, audience, signature, domain) is a clear 4xx with no session and no account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from sqlalchemy import func, select
from triage_api.audit.models import AuditEvent
from triage_api.deps import SESSION_COOKIE
from triage_api.staff.models import Role, StaffSession, User
from triage_api.staff.oidc import FLOW_COOKIE
from triage_api.staff.service import create_user

from tests.integration.desk_support import PASSWORD, Desk, make_app, running_desk
from tests.integration.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeProvider

pytestmark = pytest.mark.integration

EMAIL = "dana.reyes@example-health.org"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider().serving() as fake:
        yield fake


def sso_app(database_url: str, provider: FakeProvider, **overrides: Any) -> Any:
    settings = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_allowed_domains": ["example-health.org"],
        "oidc_role_claims": {"groups=triage-leads": "lead"},
        **overrides,
    }
    return make_app(database_url, **settings)


async def sign_in(desk: Desk, provider: FakeProvider, state: str | None = None) -> httpx.Response:
    """Start at /login/sso, let the provider sign the person in (real HTTP), and come back to the callback."""
    start = await desk.client.get("/login/sso")
    assert start.status_code == 303 and FLOW_COOKIE in start.cookies
    authorize = start.headers["location"]
    assert authorize.startswith(f"{provider.issuer}/authorize?")
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://triage.test/login/sso/callback"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize)
    assert answer.status_code == 302
    callback = urlparse(answer.headers["location"])
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    if state is not None:
        params["state"] = state
    return await desk.client.get(f"{callback.path}?{urlencode(params)}")


def count(desk: Desk, model: Any) -> int:
    with desk.app.state.sessionmaker() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def user_by_email(desk: Desk, email: str) -> User | None:
    with desk.app.state.sessionmaker() as db:
        return db.scalar(select(User).where(User.email == email))


async def test_the_code_flow_creates_a_viewer_and_signs_them_in(
    database_url: str, provider: FakeProvider
) -> None:
    async with running_desk(sso_app(database_url, provider)) as desk:
        page = await desk.client.get("/login")
        assert 'href="/login/sso"' in page.text and "Sign in with SSO" in page.text
        users_before = count(desk, User)

        done = await sign_in(desk, provider)
        assert done.status_code == 200, done.text
        assert SESSION_COOKIE in done.cookies and 'url=/"' in done.text
        assert provider.token_requests == 1
        user = user_by_email(desk, EMAIL)
        assert user is not None and user.username == EMAIL and user.display_name == "Dana Reyes"
        assert user.role == Role.VIEWER.value and user.password_hash is None
        assert count(desk, User) == users_before + 1 and count(desk, StaffSession) == 1

        # The session cookie is the ordinary one: the API knows who this is, with the viewer role.
        assert (await desk.client.get("/api/flags")).status_code == 200
        assert (await desk.client.get("/api/users")).status_code == 403
        # No password was set, so the password form can't be used for this account.
        form = {"username": EMAIL, "password": ""}
        assert (await desk.client.post("/login", data=form)).status_code in (401, 422)

        # A second sign-in finds the same account.
        assert (await sign_in(desk, provider)).status_code == 200
        assert count(desk, User) == users_before + 1 and count(desk, StaffSession) == 2
        with desk.app.state.sessionmaker() as db:
            created = db.scalars(select(AuditEvent.action).where(AuditEvent.actor == EMAIL)).all()
        assert created == ["staff.sso_created"]


async def test_an_existing_local_account_is_linked_by_email_and_keeps_its_role(
    database_url: str, provider: FakeProvider
) -> None:
    async with running_desk(sso_app(database_url, provider)) as desk:
        with desk.app.state.sessionmaker() as db:
            create_user(db, EMAIL, PASSWORD, Role.LEAD)
            db.commit()
        users_before = count(desk, User)
        assert (await sign_in(desk, provider)).status_code == 200
        linked = user_by_email(desk, EMAIL)
        assert linked is not None and linked.role == Role.LEAD.value and linked.password_hash
        assert count(desk, User) == users_before
        assert (await desk.client.get("/api/flags")).status_code == 200


async def test_a_claim_mapping_admits_another_domain_with_the_mapped_role(
    database_url: str, provider: FakeProvider
) -> None:
    provider.claims = {
        "sub": "contractor-7",
        "email": "sam@agency.example",
        "email_verified": True,
        "groups": ["staff", "triage-leads"],
    }
    async with running_desk(sso_app(database_url, provider)) as desk:
        assert (await sign_in(desk, provider)).status_code == 200
        user = user_by_email(desk, "sam@agency.example")
        assert user is not None and user.role == Role.LEAD.value and user.display_name == "sam@agency.example"


FAILURES = {
    "wrong state": ({}, "x" * 43, 400, "state"),
    "wrong nonce": ({"nonce": "someone-elses-nonce"}, None, 401, "nonce"),
    "expired token": ({"exp_in": -3600}, None, 401, "expired"),
    "wrong audience": ({"aud": "another-app"}, None, 401, "another application"),
    "bad signature": ({"bad_signature": True}, None, 401, "signature"),
    "disallowed domain": ({"email": "eve@elsewhere.example"}, None, 403, "not allowed"),
    "unverified email": ({"email_verified": False}, None, 403, "not verified"),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_a_broken_answer_is_a_clear_4xx_without_a_session(
    database_url: str, provider: FakeProvider, case: str
) -> None:
    tamper, state, status, message = FAILURES[case]
    tamper = dict(tamper)
    for claim in ("email", "email_verified"):
        if claim in tamper:
            provider.claims = {**provider.claims, claim: tamper.pop(claim)}
    provider.tamper = tamper
    async with running_desk(sso_app(database_url, provider)) as desk:
        users_before = count(desk, User)
        r = await sign_in(desk, provider, state=state)
        assert r.status_code == status, r.text
        assert re.search(message, r.text), r.text
        assert "Single sign-on failed" in r.text
        assert SESSION_COOKIE not in r.cookies and count(desk, StaffSession) == 0
        assert count(desk, User) == users_before and user_by_email(desk, EMAIL) is None
        assert (await desk.client.get("/api/flags")).status_code == 401


async def test_a_callback_without_the_flow_cookie_is_refused(
    database_url: str, provider: FakeProvider
) -> None:
    async with running_desk(sso_app(database_url, provider)) as desk:
        r = await desk.client.get("/login/sso/callback", params={"code": "stolen", "state": "guessed"})
        assert r.status_code == 400 and SESSION_COOKIE not in r.cookies
        assert provider.token_requests == 0 and count(desk, StaffSession) == 0


async def test_sso_is_off_by_default(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        page = await desk.client.get("/login")
        assert page.status_code == 200 and "/login/sso" not in page.text
        assert (await desk.client.get("/login/sso")).status_code == 404
        assert (await desk.client.get("/login/sso/callback?code=a&state=b")).status_code == 404
