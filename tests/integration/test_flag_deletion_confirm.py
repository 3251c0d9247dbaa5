"""A reported deletion of an open urgent or privacy flag's comment waits for a person (issue #17): through the
real flag consumer, on SQLite and PostgreSQL, the flag stays open with everything the desk offers, a
`flag.comment_deleted` audit entry says the platform reports it deleted, and the flag page asks for a
confirmation; a flag with other labels is still resolved by the deletion, as before."""

from __future__ import annotations

import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_events import ClearReason, Label, Severity

from tests.integration.desk_support import AUTH
from tests.integration.test_api_consumer import running
from tests.integration.test_flag_clears import RUDE, Harness, cleared, counts, metric, raised
from tests.integration.test_flag_edits import audit_of

pytestmark = pytest.mark.integration

CRISIS = "I want to kill myself tonight"
EXPOSED = "My MRN is 77712345, please check my chart"


def needs_confirmation() -> float:
    return metric("triage_api_flag_clears_ignored_total", reason="needs_confirmation")


async def test_a_deletion_of_an_open_urgent_or_privacy_flag_leaves_it_open_for_a_person(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    urgent = raised(CRISIS, 0, 1, labels=[Label.URGENT], severity=Severity.CRITICAL)
    privacy = raised(EXPOSED, 0, 1, labels=[Label.PRIVACY, Label.CLINICAL_ADVICE], severity=Severity.HIGH)
    hostile = raised(RUDE, 0, 1, labels=[Label.HOSTILE])
    before, held_before = counts(), needs_confirmation()
    h = Harness(fresh_broker, database_url)
    async with running(h.app) as client:
        await h.send(urgent, privacy, hostile)
        urgent_deleted = cleared(urgent, ClearReason.DELETED, 5, 6)
        # The urgent flag's deletion twice (redelivered), then a second report of it (another event).
        await h.send(
            urgent_deleted,
            cleared(privacy, ClearReason.DELETED, 5, 6),
            cleared(hostile, ClearReason.DELETED, 5, 6),
            urgent_deleted,
            cleared(urgent, ClearReason.DELETED, 7, 8),
        )

        for event in (urgent, privacy):
            flag = h.flag(event.comment_key)
            assert (flag.status, flag.comment_deleted_at) == ("new", None), event.labels
            trail = await audit_of(client, str(event.event_id))
            assert not [e for e in trail if e["action"] == "flag.cleared"]
            [entry] = [e for e in trail if e["action"] == "flag.comment_deleted"]
            assert (entry["actor"], entry["role"]) == ("system:classifier", "system")
            assert entry["detail"]["summary"] == "the platform reports this comment deleted — confirm"
            assert (entry["detail"]["reason"], entry["detail"]["status"]) == ("deleted", "new")
        [first] = [
            e for e in await audit_of(client, str(urgent.event_id)) if e["action"] == "flag.comment_deleted"
        ]
        assert first["detail"]["event_id"] == str(urgent_deleted.event_id)

        # Other labels keep the existing behaviour: the deletion resolves the flag.
        gone = h.flag(hostile.comment_key)
        assert gone.status == "resolved" and gone.comment_deleted_at is not None

        # The desk asks a person to confirm, and still offers everything (the comment may well be there).
        flag_id = str(urgent.event_id)
        page = await client.get(f"/flags/{flag_id}", headers=AUTH)
        assert page.status_code == 200, page.text
        assert 'id="comment-reported-deleted"' in page.text
        assert "The platform reports this comment deleted — confirm" in page.text
        assert 'id="comment-deleted"' not in page.text
        assert 'id="reply-form"' in page.text and 'value="hide"' in page.text
        shown = (await client.get(f"/api/flags/{flag_id}", headers=AUTH)).json()
        assert shown["status"] == "new" and shown["comment_deleted_at"] is None

        # A person checks and resolves it; the page stops asking.
        for status in ("in_review", "resolved"):
            moved = await client.post(f"/api/flags/{flag_id}/status", json={"status": status}, headers=AUTH)
            assert moved.status_code == 200, moved.text
        page = await client.get(f"/flags/{flag_id}", headers=AUTH)
        assert 'id="comment-reported-deleted"' not in page.text

    after = counts()
    assert needs_confirmation() == held_before + 2
    assert after["deleted"] == before["deleted"] + 1  # the hostile flag only
    assert after["duplicate"] == before["duplicate"] + 2  # the redelivery and the second report
