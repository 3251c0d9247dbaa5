"""Every comment visible, and a miss caught by a person, in a real browser (Debian chromium via Playwright):
an emergency the production classifier passed (judged benign by the bundled model) is on the All comments
page, close to a threshold; a comment judged while the page is open arrives live; a moderator flags the
emergency as urgent with a note, which pages on-call through a local webhook receiver at once, puts the flag
in the queue raised by that moderator, and shows in `triage feedback export`. Comment text stays inert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.pipeline import judge_batch
from triage_events import Label

from tests.browser.conftest import Server, serving, sign_in
from tests.browser.test_desk_browser import XSS
from tests.builders import make_comment, make_record
from tests.fakes.webhook import Receiver, receiving
from tests.integration.conftest import hybrid_classifier  # noqa: F401  (the bundled model, loaded once)
from tests.integration.desk_support import FakePublisher, desk_settings

pytestmark = pytest.mark.integration

# A farewell the bundled model scores far below every threshold: what a person on the desk has to catch.
MISSED = "nurses thank you for everything, tell my kids i loved them"
PAGE_DEADLINE = 10.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def paging_server(database_url: str, receiver: Receiver) -> Iterator[Server]:
    from triage_api.main import create_app
    from triage_api.oncall.config import OncallSettings, WebhookChannelConfig

    oncall = OncallSettings(
        channels=[WebhookChannelConfig(name="oncall-hook", url=f"http://127.0.0.1:{receiver.port}/page")],
        public_url="https://triage.example",
        poll_interval_s=0.5,
    )
    publisher = FakePublisher()
    app = create_app(desk_settings(database_url), action_publisher=publisher, oncall=oncall)
    with serving(app, publisher) as running:
        yield running


def judge_and_store(server: Server, model: HybridClassifier, text: str) -> Any:
    """What the classifier and the API's comment consumer do with a comment: judge it, store the verdict."""
    from triage_api.comments.consumer import write_verdicts

    comment = make_comment(text=text)
    result = judge_batch(model, [make_record(comment)])
    [verdict] = result.verdicts
    write_verdicts(server.app.state.sessionmaker, [verdict])
    return verdict


def test_a_missed_emergency_is_found_raised_paged_and_exported(
    chromium: Any,
    paging_server: Server,
    receiver: Receiver,
    hybrid_classifier: HybridClassifier,  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    server = paging_server
    missed = judge_and_store(server, hybrid_classifier, MISSED)
    assert missed.labels == [], "the bundled model now flags this text: pick another miss for this test"
    judge_and_store(server, hybrid_classifier, "What time does the Elm Street lab open on Saturdays?")

    viewer = sign_in(chromium, server, "viewer")
    viewer.goto(f"{server.url}/comments")
    viewer.wait_for_selector("#live:text-is('live')")
    assert viewer.locator(".flag-this").count() == 0  # viewers read, moderators flag

    page = sign_in(chromium, server, "moderator")
    page.click("nav.main >> text=All comments")
    page.wait_for_selector("#live:text-is('live')")
    page.evaluate("window.notReloaded = true")
    first = page.locator("#comment-rows tr").first
    assert MISSED in first.inner_text()  # the closest to a threshold comes first
    assert "urgent" in first.locator(".score").inner_text()

    arriving = judge_and_store(server, hybrid_classifier, XSS)  # judged while the page is open
    row = page.locator(f"tr[data-comment-id='{_row_id(server, arriving.comment_key)}']")
    row.wait_for()
    assert "<script>window.pwned=2</script>" in row.inner_text()  # shown as text, never run
    assert page.evaluate("window.pwned === undefined && window.notReloaded === true")

    page.select_option("select[name=band]", "near")
    page.click("#comment-filters button[type=submit]")
    page.wait_for_selector("#live:text-is('live')")
    target = page.locator("#comment-rows tr", has_text=MISSED)
    target.locator("summary:text('Flag this')").click()
    target.locator("input[value=urgent]").check()
    target.locator("textarea[name=note]").fill("farewell note, possible self-harm <b>call now</b>")
    started = time.monotonic()
    target.locator("button:text('Raise flag')").click()
    target.locator(".flag-link:text('on-call paged')").wait_for()

    deadline = started + PAGE_DEADLINE
    while not receiver.pages() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.pages(), f"on-call was not paged within {PAGE_DEADLINE:.0f} s"
    [paged] = receiver.pages()
    assert paged["kind"] == "urgent_comment" and MISSED not in json.dumps(paged)  # ids and counts, no text

    target.locator(".flag-link").click()
    page.wait_for_selector("#flag-status")
    assert "urgent" in page.inner_text("main")
    assert "flag.raised_by_person" in page.inner_text("#audit")
    assert "<b>call now</b>" in page.inner_text("#notes")
    page.goto(f"{server.url}/")
    assert MISSED in page.inner_text("#queue-rows")

    page.goto(f"{server.url}/comments")
    again = page.locator("#comment-rows tr", has_text=MISSED)
    again.locator("summary:text('Flag this')").click()
    again.locator("input[value=privacy]").check()
    again.locator("button:text('Raise flag')").click()
    again.locator(".flag-this-result:text('already flagged')").wait_for()

    exported = tmp_path / "feedback.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "triage_cli", "feedback", "export", "--database-url", database_url,
         "--output", str(exported)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    [item] = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert item["text"] == MISSED and item["labels"] == [Label.URGENT.value]
    assert item["source"] == "person_flag"
    assert exported.stat().st_mode & 0o077 == 0


def _row_id(server: Server, comment_key: str) -> str:
    from sqlalchemy import select
    from triage_api.comments.models import SeenComment

    with server.app.state.sessionmaker() as db:
        found = db.scalar(select(SeenComment.id).where(SeenComment.comment_key == comment_key))
    assert found is not None
    return found
