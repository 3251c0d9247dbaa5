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

from tests.browser.conftest import Server, sign_in

pytestmark = pytest.mark.integration


def store(server: Server, text: str, labels: list[Label], severity: Severity, **comment: Any) -> str:
    from triage_api.flags.service import store_flags

    from tests.builders import make_comment, make_comment_body, make_flag

    evidence = comment.pop("evidence", None)
    at = comment.pop("at", None) or datetime.now(UTC).replace(second=0, microsecond=0)
    body = make_comment_body(text=text, **comment)
    extra = {"evidence": evidence} if evidence else {}
    flag = make_flag(comment=make_comment(comment=body), labels=labels, severity=severity, **extra)
    flag = flag.model_copy(update={"occurred_at": at})
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
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    spam = store(server, "Cheap pills at pills-now.example", [Label.SPAM], Severity.LOW, at=minute)
    page = sign_in(chromium, server, "moderator")
    page.wait_for_selector("#live:text('live')")
    assert page.get_attribute("#queue-rows", "data-order") == "priority"
    # Stored after the spam flag, in the same minute: newest first would put it below the spam.
    critical = store(
        server, "My son is not breathing, what do we do", [Label.URGENT], Severity.CRITICAL, at=minute
    )
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


def test_templates_follow_the_language_selector_and_the_kind_of_emergency(
    chromium: Any, server: Server
) -> None:
    from triage_events import Evidence

    from tests.builders import make_author

    medical = [Evidence(label=Label.URGENT, source="rule", rule_id="urgent.emergency_now", start=6, end=19)]
    stroke = store(
        server,
        "My dad's face is drooping and his words are slurred",
        [Label.URGENT],
        Severity.CRITICAL,
        evidence=medical,
        author=make_author(id="anon-1", handle="", display_name=""),
    )
    page = sign_in(chromium, server, "moderator")
    page.goto(f"{server.url}/flags/{stroke}")
    headings = page.eval_on_selector_all(".template h3", "hs => hs.map(h => h.textContent.trim())")
    assert headings == ["Medical emergency: public reply", "Medical emergency: private message"]
    assert not any("urgent." in h for h in headings)
    shown = page.inner_text(
        ".template[data-template-id='urgent.medical.public'] .template-body:not([hidden])"
    )
    assert "911" in shown and "988" not in shown  # a stroke is not a crisis-line matter
    assert shown.startswith("Please call 911") and "there" not in shown  # no author: no "there, …"
    sources = page.inner_text(".template[data-template-id='urgent.medical.public'] .sources")
    assert "AMA Code of Medical Ethics Opinion 2.3.2" in sources and ".md" not in sources
    assert page.input_value("#reply-language") == "en"

    page.select_option("#reply-language", "es")
    shown = page.inner_text(
        ".template[data-template-id='urgent.medical.public'] .template-body:not([hidden])"
    )
    assert shown.startswith("Por favor llame al 911")
    page.click(".use-template[data-template-id='urgent.medical.public']")
    assert page.input_value("#reply-text") == shown
    page.close()


def test_a_reply_shows_in_the_history_and_a_refusal_redirects_with_the_draft(
    chromium: Any, server: Server
) -> None:
    flag_id = store(server, "You are all useless, nobody answers", [Label.HOSTILE], Severity.MEDIUM)
    page = sign_in(chromium, server, "moderator")
    page.goto(f"{server.url}/flags/{flag_id}")
    page.fill("#reply-text", "Sorry about your surgery last week")
    page.click("#send-reply")
    page.wait_for_selector("#error")
    assert page.url == f"{server.url}/flags/{flag_id}"  # redirected: a reload does not post again
    assert "PHI guard" in page.inner_text("#error") and "care relationship" in page.inner_text("#error")
    assert page.input_value("#reply-text") == "Sorry about your surgery last week"
    page.reload()
    assert page.locator("#error").count() == 0 and server.publisher.sent == []

    page.click(".use-template[data-template-id='hostile.public']")
    sent = page.input_value("#reply-text")
    page.click("#send-reply")
    page.wait_for_selector("#done.banner")
    assert "Reply sent" in page.inner_text("#done") and page.is_visible("#done")
    assert page.inner_text("#replies .reply-text") == sent
    assert "moderator-user" in page.inner_text("#replies") and server.publisher.sent[0].text == sent
    page.close()


def test_the_flag_page_shows_the_conversation_and_the_authors_earlier_flags(
    chromium: Any, server: Server
) -> None:
    from tests.builders import make_author

    author = make_author(id="author-77", handle="pat_q")
    store(server, "Billing never called me back", [Label.HOSTILE], Severity.MEDIUM, author=author)
    parent = store(
        server,
        "Is the ER open during the storm?",
        [Label.CLINICAL_ADVICE],
        Severity.MEDIUM,
        platform_comment_id="c-parent-1",
        thread_id="post-9",
    )
    reply = store(
        server,
        "You people are useless, answer the question",
        [Label.HOSTILE],
        Severity.MEDIUM,
        author=author,
        platform_comment_id="c-reply-1",
        parent_id="c-parent-1",
        thread_id="post-9",
    )
    page = sign_in(chromium, server, "moderator")
    page.goto(f"{server.url}/flags/{reply}")
    assert page.inner_text("#parent-comment") == "Is the ER open during the storm?"
    assert page.get_attribute("#context a[href='/flags/" + parent + "']", "href") == f"/flags/{parent}"
    assert page.get_attribute("#post-link", "href") == "https://www.facebook.com/post-9"
    assert page.get_attribute("#author-history", "data-count") == "1"
    assert "hostile" in page.inner_text("#author-flags")
    assert "language" in page.inner_text("#comment-language")
    page.close()


def test_the_smaller_things(chromium: Any, server: Server) -> None:
    flag_id = store(server, "Nobody answers the phone, useless", [Label.HOSTILE], Severity.HIGH)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/Chicago")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/")
    page.fill("input[name=username]", server.users["moderator"])
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-rows")
    flagged = page.locator(f"tr[data-flag-id='{flag_id}'] time.local")
    assert flagged.get_attribute("title").endswith(" UTC")  # UTC on hover
    assert flagged.inner_text().endswith(("CST", "CDT")) and "UTC" not in flagged.inner_text()
    # r opens the flag with the reply box focused.
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_url(f"**/flags/{flag_id}#reply-form")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'reply-text'")
    # Feedback buttons only for the labels flagged or scored above zero.
    rows = page.eval_on_selector_all(
        "table.scores tr",
        "trs => trs.slice(1).map(tr => [tr.cells[0].textContent, tr.querySelectorAll('button').length])",
    )
    assert dict(rows) == {"hostile": 2}
    icon = page.request.get(server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert page.get_attribute("link[rel=icon]", "href") == "/favicon.ico"
    context.close()


def test_the_analytics_page_over_a_week_has_a_bar_per_day(chromium: Any, server: Server) -> None:
    store(server, "Nobody answers the phone, useless", [Label.HOSTILE], Severity.MEDIUM)
    page = sign_in(chromium, server, "viewer")
    page.goto(server.url + "/analytics")
    days = page.eval_on_selector_all("#by-label g.day", "gs => gs.map(g => Number(g.dataset.total))")
    assert len(days) == 7 and days[-1] == 1 and sum(days) == 1
    ticks = page.eval_on_selector_all("#by-label .tick", "ts => ts.map(t => t.textContent)")
    assert len(ticks) == 7 and ticks[-1].endswith("1")
    assert page.locator("#by-label rect.empty-bar").count() == 6  # an empty day shows as a stub, not nothing
    page.close()
