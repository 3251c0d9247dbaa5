"""The Drafts page in a real browser (Debian chromium via Playwright): a moderator writes a patient story and
sees its findings highlighted with guidance and fixes; fixes most of it; a lead approves what is left; the
moderator publishes (a dry run through the actions path) and sees every step in the draft's audit trail.
No Content-Security-Policy violation on the way (the page's code is static/drafts.js)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from triage_api.actions import apply_completions
from triage_events import ActionCompleted, ActionKind, ActionStatus

from tests.browser.conftest import Server, sign_in

pytestmark = pytest.mark.integration

STORY = "Our patient in room 5, a 72-year-old grandmother, went home yesterday after heart surgery. <b>Thank you</b>!"
PARTLY_FIXED = "A 72-year-old patient of ours went home after heart surgery. Thank you, care team!"


def test_patient_story_checked_fixed_approved_published_and_audited(chromium: Any, server: Server) -> None:
    problems: list[str] = []
    page = sign_in(chromium, server, "moderator", problems, height=1000)
    page.click("nav.main a[href='/drafts']")
    page.wait_for_selector("#draft-text")
    page.fill("#draft-text", STORY)
    page.click("#save-draft")
    page.wait_for_selector("#findings li.finding-item")
    marks = page.locator("#preview-text mark.finding").all_inner_texts()
    assert {"room 5", "72-year-old", "yesterday"} <= set(marks)
    assert "<b>Thank you</b>" in page.inner_text("#preview-text")  # shown as text, never as markup
    assert page.locator("#preview-text b").count() == 0
    listed = page.inner_text("#findings")
    assert (
        "Identifies a patient" in listed
        and "HIPAA Privacy Rule (45 CFR 164.502)" in listed
        and "Fix:" in listed
    )
    assert "needs a lead's approval" in page.inner_text("#draft-approval")
    assert page.locator("#publish-draft").is_hidden()  # a moderator cannot publish it as it is

    page.fill("#draft-text", PARTLY_FIXED)
    page.click("#save-draft")
    expect(page.locator("#findings li.finding-item")).to_have_count(1)  # polled; no eval under the CSP
    assert page.locator("#preview-text mark.finding").all_inner_texts() == ["72-year-old"]
    url = page.url
    assert "/drafts?id=" in url

    lead = sign_in(chromium, server, "lead", problems, height=1000)
    lead.goto(url)
    lead.wait_for_selector("#approve-draft:visible")
    lead.click("#approve-draft")
    lead.wait_for_selector("#draft-approval:text('approved by lead-user')")

    page.reload()
    page.wait_for_selector("#publish-draft:visible")
    page.click("#publish-draft")
    page.wait_for_selector("#draft-status:text('publishing')")
    [event] = server.publisher.sent
    assert event.action is ActionKind.POST and event.text == PARTLY_FIXED
    done = ActionCompleted(
        request_id=event.event_id,
        action=ActionKind.POST,
        comment_key=event.comment_key,
        status=ActionStatus.DRY_RUN,
    )
    assert apply_completions(server.app.state.sessionmaker, [done]) == 1

    page.reload()
    page.wait_for_selector("#draft-status:text('dry run')")
    page.wait_for_selector("#draft-audit tr.audit-row[data-action='draft.post_dry_run']")
    actions = page.eval_on_selector_all(
        "#draft-audit tr.audit-row", "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == [
        "draft.saved",
        "draft.saved",
        "draft.approved",
        "draft.published",
        "draft.post_dry_run",
    ]
    published = page.inner_text("#draft-audit tr.audit-row[data-action='draft.published']")
    assert PARTLY_FIXED in published and "moderator-user" in published
    assert page.locator("#draft-actions").is_hidden()
    assert problems == []
