"""The desk's browser defences in a real browser (Debian chromium via Playwright): a page on another port of
the same host (same-site, so the SameSite=Strict session cookie goes along) auto-submits forms to the API
for a signed-in moderator, and nothing changes; the queue and flag pages run under the Content Security
Policy without a single violation; a `javascript:` or `data:` permalink is never a link."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from sqlalchemy import update
from triage_events import Label, Severity

from tests.browser.conftest import Server, sign_in
from tests.browser.test_desk_browser import add_flag
from tests.fakes.server import serve_handler
from tests.integration.desk_support import PASSWORD

pytestmark = pytest.mark.integration

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def attacker(server: Server) -> Iterator[tuple[str, dict[str, str]]]:
    """A site on another port of the same host; `pages[name]` is the HTML it serves at `/name`."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.lstrip("/"), "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serve_handler(Handler, "attacker-site") as port:
        yield f"http://127.0.0.1:{port}", pages


def auto_submit(action: str) -> str:
    return (
        "<!doctype html><html><body>"
        f'<form id="f" method="post" action="{action}"><input name="csrf_token" value="guess"></form>'
        "<script>document.getElementById('f').submit()</script></body></html>"
    )


def flag_status(server: Server, flag_id: str) -> tuple[str, str | None]:
    from triage_api.flags.models import Flag

    with server.app.state.sessionmaker() as db:
        flag = db.get(Flag, flag_id)
        assert flag is not None
        return flag.status, flag.last_action


def test_a_form_auto_submitted_from_another_port_changes_nothing(
    chromium: Any, server: Server, attacker: tuple[str, dict[str, str]]
) -> None:
    site, pages = attacker
    flag_id = add_flag(server, "I can't do this anymore", [Label.URGENT], Severity.CRITICAL)
    before = flag_status(server, flag_id)
    page = sign_in(chromium, server, "moderator")
    for op in ("escalate", "hide"):
        pages[op] = auto_submit(f"{server.url}/api/flags/{flag_id}/{op}")
        page.goto(f"{site}/{op}")
        page.wait_for_url(f"{server.url}/api/flags/{flag_id}/{op}")
        answer = page.inner_text("body")
        # The session cookie went along (a 401 would mean the attack never reached the check) and was refused.
        assert "CSRF token missing or wrong" in answer, answer
    pages["form"] = auto_submit(f"{server.url}/flags/{flag_id}/act").replace(
        'value="guess">', 'value="guess"><input name="op" value="escalate">'
    )
    page.goto(f"{site}/form")
    page.wait_for_url(f"{server.url}/flags/{flag_id}/act")
    assert "invalid or missing CSRF token" in page.inner_text("body")
    assert flag_status(server, flag_id) == before
    assert server.publisher.sent == []
    # The desk itself still works: its own buttons carry the token.
    page.goto(f"{server.url}/flags/{flag_id}")
    page.click("button[data-key='e']")
    page.wait_for_selector("#done")
    assert flag_status(server, flag_id)[0] == "escalated"
    page.close()


def test_no_content_security_policy_violation_on_the_queue_and_flag_pages(
    chromium: Any, server: Server
) -> None:
    flag_id = add_flag(server, "Is the flu shot safe while pregnant?", [Label.CLINICAL_ADVICE])
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(server.url + "/")
    page.fill("input[name=username]", server.users["lead"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live:text('live')")  # queue.js ran and its stream connected
    page.keyboard.press("j")
    assert page.locator("tr.current").count() == 1  # the keyboard script works
    assert page.evaluate("window.__violations") == []
    page.goto(f"{server.url}/flags/{flag_id}")
    page.wait_for_selector("#flag-live:text('live')")  # flag.js ran and its stream connected
    page.click(".use-template")
    assert page.input_value("#reply-text") != ""
    page.goto(f"{server.url}/analytics")
    page.wait_for_selector("#total")
    page.goto(f"{server.url}/flags/{flag_id}")
    page.wait_for_selector("#flag-live:text('live')")
    assert page.evaluate("window.__violations") == []
    assert [m for m in console if "Content Security Policy" in m] == []

    # The policy is in force and the watch sees it: an inline script is refused and reported.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__violations"))
    page.close()


@pytest.mark.parametrize(
    "permalink",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(document.cookie)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
    ],
)
def test_an_unsafe_permalink_is_never_a_link(chromium: Any, server: Server, permalink: str) -> None:
    from triage_api.flags.models import Flag

    flag_id = add_flag(server, "Your nurses were rude", [Label.HOSTILE])
    # stored as is, as a row from before links were checked would be: the page must not link it either
    with server.app.state.sessionmaker() as db, db.begin():
        db.execute(update(Flag).where(Flag.id == flag_id).values(permalink=permalink))
    page = sign_in(chromium, server, "moderator")
    page.goto(f"{server.url}/flags/{flag_id}")
    page.wait_for_selector("#flag-live:text('live')")
    assert page.locator("#permalink").count() == 0
    assert page.locator("a[href^='javascript' i], a[href^='data' i], a[href^='vbscript' i]").count() == 0
    assert page.locator("a[href*='script' i]").count() == 0
    page.close()


def test_an_https_permalink_is_a_link(chromium: Any, server: Server) -> None:
    from triage_api.flags.models import Flag

    flag_id = add_flag(server, "Your nurses were rude", [Label.HOSTILE])
    with server.app.state.sessionmaker() as db, db.begin():
        db.execute(update(Flag).where(Flag.id == flag_id).values(permalink="https://facebook.com/1_2"))
    page = sign_in(chromium, server, "moderator")
    page.goto(f"{server.url}/flags/{flag_id}")
    assert page.get_attribute("#permalink", "href") == "https://facebook.com/1_2"
    page.close()
