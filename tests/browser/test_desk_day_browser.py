"""The desk a social team keeps open all day (issue #20), in a real browser (Debian chromium via Playwright):
the queue lists what needs a human first, a live flag lands at its place in the order, and the chosen order
sticks; the flag page's templates follow the language selector and the kind of emergency; after a reply the
sent text is in the history and a PHI guard refusal redirects with the draft kept; the conversation around a
comment; the smaller things (focus on `r`, local times, feedback buttons, favicon)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from triage_events import Label, Severity

from tests.browser.conftest import Server
from tests.browser.test_desk_browser import sign_in

pytestmark = pytest.mark.integration


def store(server: Server, text: str, labels: list[Label], severity: Severity, **comment: Any) -> str:
    from triage_api.flags.service import store_flags

    from tests.builders import make_comment, make_comment_body, make_flag

    body = make_comment_body(text=text, **comment)
    flag = make_flag(comment=make_comment(comment=body), labels=labels, severity=severity)
    flag = flag.model_copy(update={"occurred_at": datetime.now(UTC).replace(second=0, microsecond=0)})
    with server.app.state.sessionmaker() as db, db.begin():
        store_flags(db, [flag])
    return str(flag.event_id)


def queue_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#queue-rows tr[data-flag-id]", "rows => rows.map(r => r.dataset.flagId)")
    )


def test_a_critical_flag_arriving_live_lands_above_spam_and_the_chosen_order_sticks(
    chromium: Any, server: Server
) -> None:
    spam = store(server, "Cheap pills at pills-now.example", [Label.SPAM], Severity.LOW)
    page = sign_in(chromium, server, "moderator")
    page.wait_for_selector("#live:text('live')")
    assert page.get_attribute("#queue-rows", "data-order") == "priority"
    # Stored after the spam flag, in the same minute: newest first would put it below the spam.
    critical = store(server, "My son is not breathing, what do we do", [Label.URGENT], Severity.CRITICAL)
    page.wait_for_selector(f"tr[data-flag-id='{critical}']")
    assert queue_ids(page) == [critical, spam]
    page.reload()
    assert queue_ids(page) == [critical, spam]

    page.click("#order-form button[value='newest']")
    page.wait_for_selector("#order-form button[value='newest'][aria-pressed='true']")
    assert page.get_attribute("#queue-rows", "data-order") == "newest"
    # The same minute: newest first ties on time and then goes by id.
    assert queue_ids(page) == sorted([critical, spam], reverse=True)
    page.reload()
    assert page.get_attribute("#queue-rows", "data-order") == "newest"
    # It sticks for the person, not the browser: a new sign-in (a fresh context) finds it too.
    page.close()
    again = sign_in(chromium, server, "moderator")
    assert again.get_attribute("#queue-rows", "data-order") == "newest"
    again.click("#order-form button[value='priority']")
    again.wait_for_selector("#order-form button[value='priority'][aria-pressed='true']")
    assert queue_ids(again) == [critical, spam]
    again.close()
