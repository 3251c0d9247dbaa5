"""Security headers on every kind of answer of the API (pages, JSON, errors, redirects, static files, the
OpenAPI pages, health and metrics, a refused body) and of the ingest webhook app; HSTS only when the API is
served over HTTPS (`secure_cookies`)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from triage_api.config import ApiSettings
from triage_api.main import create_app
from triage_bus.profile import BrokerProfile
from triage_ingest.main import create_app as create_ingest_app

from tests.builders import make_flag
from tests.ingest_support import accounts
from tests.ingest_support import settings as ingest_settings
from tests.integration.desk_support import make_app, running_desk
from tests.integration.test_desk_dashboard import sign_in

pytestmark = pytest.mark.integration

EVERYWHERE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


async def test_every_kind_of_answer_has_the_security_headers(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        f = make_flag()
        desk.add_flags(f)
        client, admin = desk.client, desk.auth("admin")
        answers = {
            "sign-in page": await client.get("/login"),
            "redirect to sign-in": await client.get("/"),
            "api json": await client.get("/api/flags", headers=admin),
            "api 401": await client.get("/api/flags"),
            "api 404": await client.get("/api/flags/nope", headers=admin),
            "api 422": await client.get("/api/flags", params={"limit": "0"}, headers=admin),
            "refused NUL": await client.get("/api/flags", params={"q": "\x00"}, headers=admin),
            "unknown path": await client.get("/no/such/page"),
            "static script": await client.get("/static/queue.js"),
            "static css": await client.get("/static/triage.css"),
            "openapi.json": await client.get("/openapi.json"),
            "healthz": await client.get("/healthz"),
            "metrics": await client.get("/metrics"),
            "too large": await client.post("/api/flags/bulk-status", content=b"x" * (2 * 1024 * 1024)),
        }
        async with sign_in(desk, "moderator") as browser:
            answers["queue page"] = await browser.get("/")
            answers["flag page"] = await browser.get(f"/flags/{f.event_id}")
            answers["analytics page"] = await browser.get("/analytics")
        docs = {"swagger": await client.get("/docs"), "redoc": await client.get("/redoc")}

    assert answers["too large"].status_code == 413
    assert answers["queue page"].status_code == answers["flag page"].status_code == 200
    for name, response in {**answers, **docs}.items():
        for header, value in EVERYWHERE.items():
            assert response.headers.get(header) == value, (name, header, response.headers.get(header))
        assert "strict-transport-security" not in response.headers, name  # plain HTTP here
        csp = directives(response.headers["content-security-policy"])
        assert csp["frame-ancestors"] == ["'none'"], name
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], name
    for name, response in answers.items():
        csp = directives(response.headers["content-security-policy"])
        assert csp["script-src"] == ["'self'"], name  # no inline script, no other origin
        assert csp["script-src-attr"] == ["'none'"], name  # no on* handlers
        assert csp["style-src"] == ["'self'"], name
    for name, response in docs.items():
        assert response.status_code == 200
        csp = directives(response.headers["content-security-policy"])
        assert "https://cdn.jsdelivr.net" in csp["script-src"], name  # the docs' relaxed policy


async def test_the_pages_have_no_inline_script_or_style(database_url: str) -> None:
    """What the CSP forbids is not in the pages (the browser test also watches for violations)."""
    async with running_desk(make_app(database_url)) as desk:
        f = make_flag()
        desk.add_flags(f)
        async with sign_in(desk, "lead") as browser:
            pages = [(await browser.get(p)).text for p in ("/", f"/flags/{f.event_id}", "/analytics")]
        pages.append((await desk.client.get("/login")).text)
    assert all('<script src="/static/' in html for html in pages[:2])  # the queue's and flag's code
    for html in pages:
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert " onclick=" not in html and " onload=" not in html and "javascript:" not in html


async def test_hsts_when_secure_cookies_are_on(tmp_path: Path) -> None:
    settings = ApiSettings(database_url=f"sqlite:///{tmp_path / 'triage.db'}", consumer_enabled=False)
    secure = settings.model_copy(update={"secure_cookies": True})
    for app, expected in ((create_app(settings), None), (create_app(secure), "max-age=31536000")):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://triage.test") as client:
            for path in ("/healthz", "/login", "/docs"):
                assert (await client.get(path)).headers.get("strict-transport-security") == expected, path


async def test_the_ingest_webhook_app_sends_nosniff_and_frame_headers() -> None:
    app = create_ingest_app(ingest_settings(), BrokerProfile("127.0.0.1:9", embedded=True), accounts())
    transport = httpx.ASGITransport(app=app)  # no lifespan: these answers need no broker
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        answers = [
            await client.get("/healthz"),
            await client.get("/webhooks/meta", params={"hub.mode": "subscribe"}),
            await client.post("/webhooks/meta", content=b"{}"),
        ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
