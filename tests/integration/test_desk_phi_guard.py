"""The PHI guard through the desk's API (SQLite and PostgreSQL): replies that hide a leak behind a homoglyph,
a zero-width space, a non-breaking hyphen, spelled-out digits or a synonym are refused with reasons and
nothing is published or audited; a clean reply with the account's own line in another format goes out."""

from __future__ import annotations

import pytest
from triage_events import FlagRaised, Label

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import desk_with_flag

pytestmark = pytest.mark.integration

COMMENT = "My mom Ana had chemo on Monday and is diabetic, nobody called back"


HIDDEN_LEAKS = [
    (
        "We hope the ch\u0435motherapy went well.",
        "repeats health details from the comment: ch\u0435motherapy",
    ),
    ("Sorry about her dia\u200bbetes care.", "repeats health details from the comment: diabetes"),
    (
        "Call us back on 312\u2011555\u20110148.",
        "contains a phone number that is not one of the account's lines",
    ),
    (
        "Call five five five zero one four eight.",
        "contains a phone number that is not one of the account's lines",
    ),
    ("She was our patient, we treated her.", "confirms a care relationship"),
    ("Nurse Lopez will call.", "names a member of staff: Nurse Lopez"),
    ("Your lupus matters to us.", "ties a health detail to the reader or someone close: lupus"),
]


def privacy_flag() -> FlagRaised:
    return make_flag(comment=make_comment(text=COMMENT), labels=[Label.PRIVACY])


async def test_a_hidden_leak_is_refused_with_its_reason(database_url: str) -> None:
    flag = privacy_flag()
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        for reply, reason in HIDDEN_LEAKS:
            r = await desk.reply(fid, {"text": reply})
            assert r.status_code == 422, r.text
            assert any(found.startswith(reason) for found in r.json()["reasons"]), (reply, r.json())
        assert publisher.sent == []
        audit = await desk.client.get("/api/audit", params={"flag_id": fid}, headers=desk.auth("viewer"))
        assert audit.status_code == 200 and audit.json()["items"] == []


async def test_a_clean_reply_with_the_accounts_line_goes_out(database_url: str) -> None:
    flag = privacy_flag()
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        suggestions = await desk.suggestions(fid)
        assert suggestions and all(not s["blocked"] for s in suggestions)
        text = "We can't discuss health details here; please call (800) 555\u20110199 or text 988."
        r = await desk.reply(fid, {"text": text})
        assert r.status_code == 202, r.text
        [event] = publisher.sent
        assert event.text == text
