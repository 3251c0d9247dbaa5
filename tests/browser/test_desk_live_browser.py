"""The flag page updates live in a real browser (Debian chromium via Playwright): a moderator has a flag open
while a lead, in another browser context, adds a note (an XSS payload), escalates and hides it, and the
platform's answer arrives; the moderator's page shows each change without a reload, the payload inert.
A newer verdict that relabels a flag replaces its row in the open queue. The analytics page renders for a
viewer and is linked from the navigation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from triage_events import ActionCompleted, ActionKind, ActionStatus, Label, Severity

from tests.browser.conftest import Server, sign_in
from tests.browser.test_desk_browser import XSS, add_flag
from tests.builders import make_comment, make_flag

pytestmark = pytest.mark.integration


def complete(server: Server, flag_id: str, comment_key: str) -> None:
    """What the ActionCompleted consumer does when ingest answers the flag's request."""
    from triage_api.flags import platform_actions
    from triage_api.flags.models import FlagAction

    with server.app.state.sessionmaker() as db, db.begin():
        action_id = db.scalar(select(FlagAction.id).where(FlagAction.flag_id == flag_id))
        assert action_id is not None
        completed = ActionCompleted(
            request_id=UUID(action_id),
            action=ActionKind.HIDE,
            comment_key=comment_key,
            status=ActionStatus.DONE,
            platform_result_id="hidden-1",
        )
        assert platform_actions.record_completion(db, completed)


def test_an_open_flag_page_shows_changes_made_elsewhere(chromium: Any, server: Server) -> None:
    from triage_api.flags.models import Flag

    flag_id = add_flag(server, "You are all useless clowns", [Label.HOSTILE])
    with server.app.state.sessionmaker() as db:
        flag = db.get(Flag, flag_id)
        assert flag is not None
        comment_key = flag.comment_key

    watcher = sign_in(chromium, server, "moderator")
    watcher.goto(f"{server.url}/flags/{flag_id}")
    watcher.wait_for_selector("#flag-live:text('live')")
    watcher.evaluate("window.notReloaded = true")
    assert watcher.inner_text("#flag-status") == "new"
    assert watcher.inner_text("#team") == "none"

    lead = sign_in(chromium, server, "lead")  # a browser context of its own
    lead.goto(f"{server.url}/flags/{flag_id}")
    lead.fill("input[name=body]", f"Called them back {XSS}")
    lead.click("text=Add note")
    lead.wait_for_selector("#done")
    watcher.wait_for_selector("#notes li:has-text('Called them back')")
    assert "<script>window.pwned=2</script>" in watcher.inner_text("#notes")  # shown as text
    assert watcher.locator("#notes img, #notes script").count() == 0

    lead.click("button[data-key='e']")  # escalate: routed again (the bundled rules' escalation team)
    lead.wait_for_selector("#done")
    watcher.wait_for_selector("#flag-status:text('escalated')")
    assert watcher.inner_text("#team") in {"leads", "oncall"}  # oncall outside business hours
    assert "flag.rerouted" in watcher.inner_text("#audit")

    lead.click("button[data-key='h']")
    lead.wait_for_selector("#done")
    watcher.wait_for_selector("#last-action:text('hide: requested')")
    complete(server, flag_id, comment_key)
    watcher.wait_for_selector("#last-action:text('hide: done')")
    watcher.wait_for_selector("#flag-status:text('hidden')")
    assert "action.done" in watcher.inner_text("#audit")

    assert watcher.evaluate("window.notReloaded") is True
    assert watcher.evaluate("window.pwned") is None
    watcher.close()
    lead.close()


def test_a_viewer_opens_the_analytics_page_from_the_nav(chromium: Any, server: Server) -> None:
    add_flag(server, "Buy cheap followers at spam.example", [Label.SPAM])
    page = sign_in(chromium, server, "viewer")
    page.click("header nav.main a:text('Analytics')")
    page.wait_for_url("**/analytics")
    assert page.get_attribute("#total", "data-total") == "1"
    assert page.inner_text("#by-label li[data-key='spam'] .series-total") == "1"
    assert page.locator("#by-label svg.columns rect.fill-spam").count() == 1
    assert page.is_visible("#sla-table") and page.is_visible("#first-action-label")
    page.close()


def test_the_queue_replaces_a_row_when_a_newer_verdict_relabels_its_flag(
    chromium: Any, server: Server
) -> None:
    """A comment edited into something urgent: the queue's row changes in place (severity, labels, text,
    restarted due time), shown once, the total unchanged, the new text inert."""
    from triage_api.flags import relabel
    from triage_api.flags.models import Flag
    from triage_api.flags.service import store_flags

    original = make_flag(
        comment=make_comment(text="You are all useless clowns"), labels=[Label.HOSTILE], severity=Severity.LOW
    )
    flag_id = str(original.event_id)
    with server.app.state.sessionmaker() as db, db.begin():
        store_flags(db, [original])
        flag = db.get(Flag, flag_id)
        assert flag is not None
        due_before = flag.due_at
    page = sign_in(chromium, server, "moderator")
    page.wait_for_selector("#live:text('live')")
    row = f"tr[data-flag-id='{flag_id}']"
    assert page.text_content(f"{row} .sev") == "low"
    total = page.get_attribute("#total", "data-total")

    edited = original.comment.model_copy(update={"text": XSS})
    worse = make_flag(
        comment=make_comment(comment=edited, platform=original.platform, account=original.account),
        labels=[Label.URGENT],
        severity=Severity.CRITICAL,
    )
    assert worse.comment_key == original.comment_key
    with server.app.state.sessionmaker() as db, db.begin():
        [result] = relabel.apply_all(db, server.app.state.router, [worse])
        assert result.outcome is relabel.Outcome.RELABELLED
        relabelled = db.get(Flag, flag_id)
        assert relabelled is not None and relabelled.due_at < due_before  # 5 min from now, not a day
        due_after = relabelled.due_at
    page.wait_for_selector(f"{row} .sev:text('critical')")
    assert page.locator(row).count() == 1
    assert page.text_content(f"{row} .label") == "urgent"
    assert "<script>window.pwned=2</script>" in (page.text_content(f"{row} td.text") or "")  # shown as text
    assert page.locator(f"{row} img, {row} script").count() == 0
    shown_due = page.get_attribute(f"{row} time.sla", "datetime")
    assert shown_due is not None and datetime.fromisoformat(shown_due) == due_after
    assert page.get_attribute("#total", "data-total") == total
    assert page.evaluate("window.pwned") is None
    page.close()
