"""The moderation desk in a real browser (Debian chromium via Playwright): sign in, a new flag arrives live
in the queue, open it, pick a template, send the reply, see the audit entry; an XSS payload stays inert;
a viewer cannot act. Screenshots of the queue and the flag page (docs/screenshots/ with UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from triage_events import Label, Severity

from tests.browser.conftest import Server, sign_in
from tests.builders import make_comment, make_flag

pytestmark = pytest.mark.integration

# The README's screenshots are refreshed with `UPDATE_SCREENSHOTS=1 pytest tests/browser`; otherwise they go to
# the test's temporary directory, so an ordinary test run leaves the working tree alone.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> you are all clowns'


def add_flag(server: Server, text: str, labels: list[Label], severity: Severity = Severity.MEDIUM) -> str:
    from triage_api.flags.service import store_flags

    flag = make_flag(comment=make_comment(text=text), labels=labels, severity=severity)
    with server.app.state.sessionmaker() as db, db.begin():
        store_flags(db, [flag])
    return str(flag.event_id)


def test_moderator_handles_a_flag_from_queue_to_sent_reply(
    chromium: Any, server: Server, database_url: str, tmp_path: Path
) -> None:
    shots = (
        DOCS_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") and "sqlite" in database_url else tmp_path
    )
    page = sign_in(chromium, server, "moderator")
    page.wait_for_selector("#live:text('live')")
    add_flag(server, "I can't do this anymore, tonight is the night", [Label.URGENT], Severity.CRITICAL)
    add_flag(server, "Is the flu shot safe while pregnant? Asking for my sister", [Label.CLINICAL_ADVICE])
    flag_id = add_flag(server, "You are all useless clowns and nobody answers the phone", [Label.HOSTILE])
    row = page.wait_for_selector(f"tr[data-flag-id='{flag_id}']")  # arrived over SSE, no reload
    assert "useless clowns" in row.inner_text()
    shots.mkdir(parents=True, exist_ok=True)
    # Fixed sizes (the README's layout): the queue's first screen, and the top 1,500 pixels of the flag page.
    page.screenshot(path=str(shots / "queue.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
    assert (shots / "queue.png").stat().st_size > 0

    # What needs a human first: the critical flag, then the two medium ones by due time (the hostile one last).
    assert page.get_attribute("#queue-rows", "data-order") == "priority"
    for _ in range(3):
        page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/flags/{flag_id}")
    page.click(".use-template[data-template-id='hostile.public']")
    reply = page.input_value("#reply-text")
    assert "@river_w" in reply and "1-800-555-0199" in reply
    page.screenshot(
        path=str(shots / "flag.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1500}
    )
    page.click("#send-reply")
    page.wait_for_selector("#done")
    assert page.inner_text("#last-action") == "reply: requested"
    assert "action.requested" in page.inner_text("#audit")
    [event] = server.publisher.sent
    assert event.text == reply and event.requested_by == "moderator-user"

    # Back in the queue, j selects the hostile flag (third) and d dismisses it (a CSRF-protected form post).
    page.goto(server.url + "/")
    for _ in range(3):
        page.keyboard.press("j")
    page.keyboard.press("d")
    page.wait_for_selector(f"tr[data-flag-id='{flag_id}'] td.status:text('dismissed')")
    page.close()


def test_an_xss_payload_stays_inert(chromium: Any, server: Server) -> None:
    page = sign_in(chromium, server, "moderator")
    page.wait_for_selector("#live:text('live')")
    flag_id = add_flag(server, XSS, [Label.HOSTILE])
    live_row = page.wait_for_selector(f"tr[data-flag-id='{flag_id}']")
    assert "<script>" in live_row.inner_text()  # shown as text
    page.reload()
    page.goto(f"{server.url}/flags/{flag_id}")
    assert "<img src=x" in page.inner_text("#comment")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#comment img, #comment script").count() == 0
    page.close()


def test_a_flag_stored_while_the_queue_loads_still_arrives_live(chromium: Any, server: Server) -> None:
    """The flag is stored after the page's listing was taken and before its live stream connects."""
    page = sign_in(chromium, server, "moderator")
    stored: list[str] = []

    def store_first(route: Any) -> None:
        if not stored:
            stored.append(add_flag(server, "Nobody at this clinic ever answers, useless", [Label.HOSTILE]))
        route.continue_()

    page.route("**/api/stream*", store_first)
    page.reload()
    deadline = time.monotonic() + 15
    while not stored and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # Playwright runs the route handler while the test waits on the page
    assert stored, "the queue opened no live stream"
    row = page.wait_for_selector(f"tr[data-flag-id='{stored[0]}']")
    assert "ever answers" in row.inner_text()
    assert page.locator(f"tr[data-flag-id='{stored[0]}']").count() == 1
    page.close()


def test_a_viewer_cannot_act(chromium: Any, server: Server) -> None:
    flag_id = add_flag(server, "Vaccines cause autism", [Label.MISINFORMATION])
    page = sign_in(chromium, server, "viewer")
    page.goto(f"{server.url}/flags/{flag_id}")
    assert page.is_visible("#read-only")
    assert page.is_disabled("#send-reply") and page.is_disabled("button[data-key='h']")
    # Even a forged submit (the button re-enabled by hand) is refused server-side.
    page.evaluate("document.querySelector(\"button[data-key='h']\").disabled = false")
    page.click("button[data-key='h']")
    assert "requires the moderator role" in page.inner_text("#error")
    assert server.publisher.sent == []
    page.close()
