"""Hostile-input and authorisation tests of the API, in process against real databases.

- The authorisation matrix is built from `app.routes`: every `/api` route must declare a minimum role (through
  `deps.require`), and is called by every role, with no token, a wrong token, an expired token and an expired
  session. New routes are covered without touching this file.
- SQL-injection strings in every filter of `GET /api/flags` (and the dashboard's) give 422 or an empty
  result, never a 500, and leave the database intact.
- XSS and template-injection payloads in comment text, author handle and account handle are shown escaped
  (and never evaluated) in the dashboard's HTML.
- Every integer parameter of every route (query, path, JSON body), found from `app.routes`, refuses values
  beyond what the databases hold with a 422 at that parameter.
- Only http(s) permalinks are stored, returned by the API or linked on the flag page.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import UnionType
from typing import Any, Union, get_args, get_origin
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import func, select, update
from triage_api.config import ApiSettings
from triage_api.deps import SESSION_COOKIE
from triage_api.flags.models import Flag
from triage_api.flags.service import store_flags
from triage_api.main import create_app
from triage_api.staff.models import ApiToken, Role, StaffSession, User
from triage_api.staff.security import hash_token
from triage_api.staff.service import create_user, issue_token, now, start_session
from triage_events import Author, Evidence, Label

from tests.builders import make_account, make_comment, make_comment_body, make_flag, unique
from tests.integration.desk_support import running

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "security-bootstrap-token-5b1e0c"


def settings(database_url: str) -> ApiSettings:
    return ApiSettings(
        database_url=database_url,
        consumer_group=unique("api-security"),
        bootstrap_admin_token=ADMIN_TOKEN,
        bootstrap_admin_password="a long enough bootstrap password",
        consumer_enabled=False,
    )


# --- the authorisation matrix ---------------------------------------------------------------------------


def required_role(route: Any) -> Role | None:
    """The minimum role a route demands through `deps.require(role)`, found in its dependency tree."""
    pending = list(route.dependant.dependencies)
    roles: list[Role] = []
    while pending:
        dependant = pending.pop()
        call: Callable[..., Any] | None = dependant.call
        if call is not None and call.__qualname__ == "require.<locals>.dependency" and call.__closure__:
            roles += [c.cell_contents for c in call.__closure__ if isinstance(c.cell_contents, Role)]
        pending.extend(dependant.dependencies)
    return max(roles, key=lambda r: r.rank) if roles else None


def _flatten(routes: list[Any]) -> Iterator[Any]:
    """Routes with their full paths; FastAPI >= 0.160 keeps included routers as lazy `_IncludedRouter`s."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _flatten(route.effective_candidates())
        else:
            yield route


def api_routes(app: FastAPI) -> list[tuple[str, str, Role | None]]:
    found = []
    for route in _flatten(list(app.routes)):
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", "")
        if not isinstance(original, APIRoute) or not path.startswith("/api"):
            continue
        found += [(method, path, required_role(route)) for method in sorted(original.methods)]
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


STREAMING = 0  # the status given to a response that was still streaming after the timeout (an open stream)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> int:
    body = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    try:
        response = await asyncio.wait_for(client.request(method, concrete(path), **body, **kwargs), 1.5)
    except TimeoutError:
        return STREAMING  # e.g. an event stream: it was let in (auth errors answer at once)
    return response.status_code


def test_every_api_route_declares_a_minimum_role(tmp_path: Any) -> None:
    routes = api_routes(create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}")))
    assert routes, "no /api routes found"
    assert [(m, p) for m, p, role in routes if role is None] == []


async def test_authorisation_matrix_every_route_every_role(tmp_path: Any) -> None:
    app = create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}"))  # authorisation is database-agnostic
    routes = api_routes(app)
    async with running(app) as client:
        tokens: dict[Role, str] = {}
        with app.state.sessionmaker() as db:
            for role in Role:
                user = create_user(db, unique(f"u-{role.value}"), "a password of some length", role)
                tokens[role] = issue_token(db, user, "matrix")
            expired_user = create_user(db, unique("u-expired"), "a password of some length", Role.ADMIN)
            expired_token = issue_token(db, expired_user, "expired")
            expired_cookie, session = start_session(db, expired_user, hours=1)
            session.expires_at = now() - timedelta(minutes=1)
            db.flush()
            token_row = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(expired_token)))
            assert token_row is not None
            token_row.expires_at = now() - timedelta(minutes=1)
            db.commit()
        assert db_has(app, StaffSession) >= 1 and db_has(app, User) >= 6

        problems: list[str] = []
        for method, path, required in routes:
            assert required is not None
            unauthenticated = {
                "no token": {},
                "wrong token": {"headers": {"Authorization": "Bearer not-a-real-token"}},
                "malformed header": {"headers": {"Authorization": "Basic YWRtaW46YWRtaW4="}},
                "expired token": {"headers": {"Authorization": f"Bearer {expired_token}"}},
                "expired session": {"cookies": {SESSION_COOKIE: expired_cookie}},
            }
            for name, kwargs in unauthenticated.items():
                client.cookies.clear()
                code = await call(client, method, path, **kwargs)
                if code != 401:
                    problems.append(f"{method} {path} {name}: {code}, expected 401")
            client.cookies.clear()
            for role, token in tokens.items():
                code = await call(client, method, path, headers={"Authorization": f"Bearer {token}"})
                if role.allows(required):
                    # Allowed through: the handler answers (2xx, or 404/422 for the placeholder ids and
                    # bodies used here), never an auth error and never a server error.
                    if code in (401, 403) or code >= 500:
                        problems.append(f"{method} {path} as {role.value}: {code}, expected to be let in")
                elif code != 403:
                    problems.append(f"{method} {path} as {role.value}: {code}, expected 403")
        assert problems == []


def db_has(app: FastAPI, model: type[Any]) -> int:
    with app.state.sessionmaker() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


# --- SQL injection in every filter ----------------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "urgent' OR 1=1 --",
    "urgent'; DROP TABLE flags; --",
    "1; DELETE FROM flags",
    '" OR ""="',
    "') UNION SELECT username, password_hash FROM users --",
    "urgent%' --",
    "%",
    "_",
    "\\",
    "\x00",
    "1 OR 1=1",
    "-1 UNION SELECT 1",
]
HUGE = "9" * 40  # an integer beyond 64 bits


def flag_filters(app: FastAPI) -> list[str]:
    """Every query parameter of GET /api/flags, from the OpenAPI schema (new filters are covered too)."""
    parameters = app.openapi()["paths"]["/api/flags"]["get"]["parameters"]
    return [p["name"] for p in parameters if p["in"] == "query"]


async def test_sql_injection_in_every_filter_is_refused_and_the_database_is_intact(database_url: str) -> None:
    app = create_app(settings(database_url))
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with running(app) as client:
        with app.state.sessionmaker() as db:
            store_flags(db, [make_flag(labels=[Label.HOSTILE]), make_flag(labels=[Label.URGENT])])
            db.commit()
        before = (await client.get("/api/flags", headers=auth)).json()
        assert before["total"] == 2

        problems: list[str] = []
        filters = flag_filters(app)
        assert {"label", "status", "severity", "platform", "limit", "offset"} <= set(filters)
        for name in filters:
            for payload in [p for p in INJECTIONS if p != "\x00"]:
                response = await client.get("/api/flags", params={name: payload}, headers=auth)
                ok = response.status_code == 422 or (
                    response.status_code == 200 and response.json()["total"] == 0
                )
                if not ok:
                    problems.append(f"api {name}={payload!r}: {response.status_code}")
        for name in ("label", "status", "page"):
            for payload in INJECTIONS:
                response = await client.get("/", params={name: payload}, headers=auth)
                if response.status_code not in (200, 422):  # the dashboard may show an empty queue
                    problems.append(f"dashboard {name}={payload!r}: {response.status_code}")
                if (
                    response.status_code == 200
                    and "users" in response.text
                    and "password_hash" in response.text
                ):
                    problems.append(f"dashboard {name}={payload!r}: leaked a column")
        for payload in [p for p in INJECTIONS if p != "\x00"]:  # the flag id in the path reaches a query too
            response = await client.get(f"/api/flags/{quote(payload, safe='')}", headers=auth)
            if response.status_code not in (404, 422, 307, 405):
                problems.append(f"flag id {payload!r}: {response.status_code}")
        assert problems == []

        after = (await client.get("/api/flags", headers=auth)).json()
        assert after == before
        assert db_has(app, Flag) == 2
        assert db_has(app, User) >= 1


# --- XSS and template injection in the dashboard --------------------------------------------------------

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
TEMPLATE = "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}${7*7}"


async def test_hostile_markup_in_comments_and_names_is_escaped_in_the_dashboard(tmp_path: Any) -> None:
    app = create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}"))
    text = f"You are all useless clowns {SCRIPT} {IMG} {TEMPLATE}"
    start = text.index("<script>")
    body = make_comment_body(
        text=text,
        author=Author(id="evil-1", handle=f"evil{SCRIPT}", display_name=f"Evil {IMG} {TEMPLATE}"),
    )
    comment = make_comment(comment=body, account=make_account(handle=f"@acct{IMG}"))
    flag = make_flag(
        comment=comment,
        labels=[Label.HOSTILE],
        # evidence spans that cut through the markup, so the highlighter splits it into pieces
        evidence=[
            Evidence(label=Label.HOSTILE, source="rule", rule_id="hostile.insult", start=0, end=start + 3),
            Evidence(label=Label.HOSTILE, source="model", start=start + 10, end=start + 20),
        ],
    )
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with running(app) as client:
        with app.state.sessionmaker() as db:
            store_flags(db, [flag])
            db.commit()
        pages = {
            "queue": await client.get("/", headers=auth),
            "flag": await client.get(f"/flags/{flag.event_id}", headers=auth),
        }
    for name, page in pages.items():
        assert page.status_code == 200, name
        html = page.text
        assert "useless clowns" in html, name
        for raw in ("<script>alert", "<img src=x", 'onerror="alert'):
            assert raw not in html, f"{name} page contains raw {raw!r}"
        assert "evil&lt;script&gt;alert(" in html, name  # the author handle, escaped
        assert "{{ 7*7 }}" in html, name  # shown as typed, not evaluated
        assert "looplooploop" not in html, name


async def test_a_huge_offset_is_422_not_500(database_url: str) -> None:
    app = create_app(settings(database_url))
    async with running(app) as client:
        response = await client.get(
            "/api/flags", params={"offset": HUGE}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert response.status_code == 422


async def test_a_nul_character_in_the_flag_id_or_a_filter_is_a_clear_4xx(database_url: str) -> None:
    app = create_app(settings(database_url))
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with running(app) as client:
        codes = {"id": (await client.get("/api/flags/%00", headers=auth)).status_code}
        for name in flag_filters(app):
            codes[name] = (await client.get("/api/flags", params={name: "\x00"}, headers=auth)).status_code
    assert codes.pop("id") == 404
    assert set(codes.values()) == {422}


# --- integers beyond what the databases hold --------------------------------------------------------------


def _is_int(annotation: Any) -> bool:
    return annotation is int or (get_origin(annotation) in (Union, UnionType) and int in get_args(annotation))


def integer_parameters(app: FastAPI) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) for every integer parameter of every route: query, path, and the fields
    of JSON bodies, found from the routes themselves (new ones are covered without touching this file)."""
    found = []
    for route in _flatten(list(app.routes)):
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            continue
        dependants, params, bodies = [route.dependant], [], []
        while dependants:  # the route's own parameters and those of its dependencies
            dependant = dependants.pop()
            params += [("query", f) for f in dependant.query_params]
            params += [("path", f) for f in dependant.path_params]
            bodies += dependant.body_params
            dependants.extend(dependant.dependencies)
        for where, field in params:
            if _is_int(field.field_info.annotation):
                found += [(m, route.path, where, field.alias) for m in sorted(original.methods)]
        for body in bodies:
            model = body.field_info.annotation
            for name, info in getattr(model, "model_fields", {}).items():
                if _is_int(info.annotation):
                    found += [(m, route.path, "body", info.alias or name) for m in sorted(original.methods)]
    return found


async def test_every_integer_parameter_refuses_values_beyond_64_bits(tmp_path: Any) -> None:
    app = create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}"))
    found = integer_parameters(app)
    names = {(path, where, name) for _, path, where, name in found}
    assert {
        ("/api/flags", "query", "offset"),
        ("/api/audit", "query", "offset"),
        ("/api/tokens/{token_id}", "path", "token_id"),
        ("/api/tokens", "body", "expires_days"),
    } <= names
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    problems = []
    async with running(app) as client:
        for method, path, where, name in found:
            for value in (2**63, -(2**63) - 1, 2**31):
                url, kwargs = concrete(path), {}
                if where == "path":
                    url = concrete(path.replace("{" + name + "}", str(value)))
                elif where == "query":
                    kwargs["params"] = {name: str(value)}
                else:
                    kwargs["json"] = {name: value}
                response = await client.request(method, url, headers=auth, **kwargs)
                detail = response.json().get("detail") if response.status_code == 422 else None
                refused_here = isinstance(detail, list) and any(
                    issue["loc"][-1] == name for issue in detail if issue["loc"][0] == where
                )
                if not refused_here:
                    problems.append(f"{method} {path} {where} {name}={value}: {response.status_code}")
    assert problems == []


async def test_a_huge_audit_offset_is_422_not_500(database_url: str) -> None:
    app = create_app(settings(database_url))
    async with running(app) as client:
        response = await client.get(
            "/api/audit",
            params={"offset": "9223372036854775808"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


# --- links from platforms ---------------------------------------------------------------------------------

UNSAFE_LINKS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
]


async def test_only_http_permalinks_are_stored_returned_or_linked(database_url: str) -> None:
    app = create_app(settings(database_url))
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with running(app) as client:
        for link in UNSAFE_LINKS:
            flag = make_flag(comment=make_comment(comment=make_comment_body(permalink=link)))
            with app.state.sessionmaker() as db, db.begin():
                store_flags(db, [flag])
                assert db.get(Flag, str(flag.event_id)).permalink is None, link  # not stored
                # a row from before links were checked: neither the API nor the page may link it
                db.execute(update(Flag).where(Flag.id == str(flag.event_id)).values(permalink=link))
            assert (await client.get(f"/api/flags/{flag.event_id}", headers=auth)).json()["permalink"] is None
            page = (await client.get(f"/flags/{flag.event_id}", headers=auth)).text
            assert 'id="permalink"' not in page and "script:" not in page.lower(), link
        good = make_flag(
            comment=make_comment(comment=make_comment_body(permalink="https://facebook.com/1_2"))
        )
        with app.state.sessionmaker() as db, db.begin():
            store_flags(db, [good])
        assert (await client.get(f"/api/flags/{good.event_id}", headers=auth)).json()["permalink"] == (
            "https://facebook.com/1_2"
        )
        page = (await client.get(f"/flags/{good.event_id}", headers=auth)).text
        assert 'href="https://facebook.com/1_2"' in page
