"""CSRF: a browser session's unsafe requests (POST, PUT, PATCH, DELETE) need the session's token in the
`X-CSRF-Token` header on `/api` and in the `csrf_token` field of the dashboard's forms. Without it: 403 with a
clear message, and nothing changes; with it: the request runs; a bearer token needs none.

The route walk covers every unsafe `/api` route, new ones included (the browser attack itself, a form
auto-submitted from another port of the same host, is in `tests/browser/test_desk_security_browser.py`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from triage_api.deps import CSRF_HEADER
from triage_api.flags.models import Flag

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, make_app, running_desk
from tests.integration.test_api_security_matrix import api_routes, concrete
from tests.integration.test_desk_dashboard import sign_in

pytestmark = pytest.mark.integration

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def page_token(html: str) -> str:
    """The session's CSRF token from the page's meta tag (where the dashboard's scripts read it)."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the page carries no csrf-token meta tag"
    return match.group(1)


def flag_row(desk: Desk, flag_id: str) -> dict[str, Any]:
    with desk.app.state.sessionmaker() as db:
        flag = db.get(Flag, flag_id)
        assert flag is not None
        return {"status": flag.status, "claimed_by": flag.claimed_by, "last_action": flag.last_action}


async def test_a_session_post_without_the_token_is_refused_and_changes_nothing(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        f = make_flag(comment=make_comment(text="You are all useless clowns"))
        desk.add_flags(f)
        flag_id = str(f.event_id)
        before = flag_row(desk, flag_id)
        async with sign_in(desk, "moderator") as browser:
            token = page_token((await browser.get("/")).text)
            for op in ("escalate", "hide", "claim", "dismiss"):
                for headers in ({}, {CSRF_HEADER: "forged"}, {CSRF_HEADER: ""}):
                    r = await browser.post(f"/api/flags/{flag_id}/{op}", headers=headers)
                    assert r.status_code == 403, (op, headers, r.text)
                    assert "CSRF token missing or wrong" in r.json()["detail"]
                    assert CSRF_HEADER in r.json()["detail"]  # says where the token goes
            # a form post, as a page on another port would send it, carries no header either
            r = await browser.post(f"/api/flags/{flag_id}/escalate", data={"csrf_token": token})
            assert r.status_code == 403
            assert flag_row(desk, flag_id) == before

            r = await browser.post(f"/api/flags/{flag_id}/escalate", headers={CSRF_HEADER: token})
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "escalated"
            r = await browser.post(f"/api/flags/{flag_id}/hide", headers={CSRF_HEADER: token})
            assert r.status_code == 202, r.text
            # safe methods need no token
            assert (await browser.get(f"/api/flags/{flag_id}")).status_code == 200
        assert flag_row(desk, flag_id)["status"] == "escalated"


async def test_a_bearer_token_needs_no_csrf_token(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        f = make_flag()
        desk.add_flags(f)
        r = await desk.client.post(f"/api/flags/{f.event_id}/escalate", headers=desk.auth("moderator"))
        assert r.status_code == 200 and r.json()["status"] == "escalated"


async def test_every_unsafe_api_route_refuses_a_session_without_its_token(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        routes = [(m, p) for m, p, _ in api_routes(desk.app) if m in UNSAFE]
        assert len(routes) >= 15
        async with sign_in(desk, "admin") as browser:
            token = page_token((await browser.get("/")).text)
            problems = []
            for method, path in routes:
                r = await browser.request(method, concrete(path), json={})
                if r.status_code != 403 or "CSRF" not in r.text:
                    problems.append(f"{method} {path} without the token: {r.status_code}")
                r = await browser.request(method, concrete(path), json={}, headers={CSRF_HEADER: token})
                if r.status_code in (401, 403) or r.status_code >= 500:  # 404/422: placeholder ids, bodies
                    problems.append(f"{method} {path} with the token: {r.status_code}")
        assert problems == []


async def test_the_dashboard_forms_need_the_token_and_the_page_carries_it(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        f = make_flag()
        desk.add_flags(f)
        flag_id = str(f.event_id)
        async with sign_in(desk, "moderator") as browser:
            page = (await browser.get(f"/flags/{flag_id}")).text
            token = page_token(page)
            assert f'name="csrf_token" value="{token}"' in page  # the forms carry the same token
            act = f"/flags/{flag_id}/act"
            r = await browser.post(act, data={"op": "escalate", "csrf_token": "forged"})
            assert r.status_code == 403
            assert flag_row(desk, flag_id)["status"] == "new"
            r = await browser.post(act, data={"op": "escalate", "csrf_token": token})
            assert r.status_code == 303
            assert flag_row(desk, flag_id)["status"] == "escalated"

            r = await browser.post("/logout", data={"csrf_token": "forged"})
            assert r.status_code == 403
            assert (await browser.get("/api/flags")).status_code == 200  # still signed in
            r = await browser.post("/logout", data={"csrf_token": token})
            assert r.status_code == 303
            assert (await browser.get("/api/flags")).status_code == 401
