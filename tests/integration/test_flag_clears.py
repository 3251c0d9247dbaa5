"""`FlagCleared` through the real flag consumer, on SQLite and PostgreSQL: a deletion or an edit judged benign
resolves the comment's open flag with a `flag.cleared` audit entry by `system:classifier` and keeps its
history; changes older than what the flag shows (out of order, or a classifier replaying a batch) are
ignored, by the comment's change time; a clear with no flag stores nothing; a malformed one is dead-lettered;
a deleted comment can no longer be replied to, hidden or deleted from the desk."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from triage_api.flags.models import Flag
from triage_api.main import create_app
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import (
    DLQ,
    FLAGS,
    ClearReason,
    DeadLetter,
    FlagCleared,
    FlagRaised,
    Label,
    Severity,
    decode,
    encode,
)

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import AUTH
from tests.integration.helpers import all_committed, produce, read_all
from tests.integration.test_api_consumer import running, settings
from tests.integration.test_flag_edits import audit_of

pytestmark = pytest.mark.integration

WRITTEN = datetime.now(UTC) - timedelta(hours=1)  # when the comment was first written on the platform
RUDE = "You people at the front desk are useless"
WORSE = "You people at the front desk are useless and I am coming down there"
CALM = "Sorry, the front desk sorted it out, thank you"

Event = FlagRaised | FlagCleared


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counts() -> dict[str, float]:
    return {
        "deleted": metric("triage_api_flags_cleared_total", reason="deleted"),
        "edited_benign": metric("triage_api_flags_cleared_total", reason="edited_benign"),
        "missing": metric("triage_api_flag_clears_ignored_total", reason="missing"),
        "stale": metric("triage_api_flag_clears_ignored_total", reason="stale"),
        "duplicate": metric("triage_api_flag_clears_ignored_total", reason="duplicate"),
        "stale_verdict": metric("triage_api_flag_updates_ignored_total", reason="stale"),
        "reopened": metric("triage_api_flags_reopened_total"),
    }


def raised(text: str, changed: int, judged: int, **overrides: Any) -> FlagRaised:
    """A verdict on version `changed` (minutes after WRITTEN) of the comment, judged at minute `judged`."""
    comment = make_comment(text=text)
    return make_flag(
        comment=comment,
        changed_at=WRITTEN + timedelta(minutes=changed),
        occurred_at=WRITTEN + timedelta(minutes=judged),
        **overrides,
    )


def again(original: FlagRaised, text: str, changed: int, judged: int, **overrides: Any) -> FlagRaised:
    """Another verdict on `original`'s comment."""
    return make_flag(
        comment=make_comment(
            comment=original.comment.model_copy(update={"text": text}),
            platform=original.platform,
            account=original.account,
        ),
        changed_at=WRITTEN + timedelta(minutes=changed),
        occurred_at=WRITTEN + timedelta(minutes=judged),
        **overrides,
    )


def cleared(flag: FlagRaised, reason: ClearReason, changed: int, judged: int) -> FlagCleared:
    return FlagCleared(
        comment_key=flag.comment_key,
        platform=flag.platform,
        account=flag.account,
        reason=reason,
        changed_at=WRITTEN + timedelta(minutes=changed),
        occurred_at=WRITTEN + timedelta(minutes=judged),
        model_version=None if reason is ClearReason.DELETED else "rules-1",
    )


class Harness:
    def __init__(self, broker: EmbeddedBroker, database_url: str) -> None:
        self.broker = broker
        self.config = settings(database_url, consumer_enabled=True)
        self.app = create_app(self.config, BrokerProfile(broker.bootstrap_servers, embedded=True))
        self.sent = 0

    async def send(self, *messages: Event | tuple[bytes, bytes | None]) -> None:
        """Produce in order and wait until the consumer has committed every message sent so far."""
        pairs = [m if isinstance(m, tuple) else (m.comment_key.encode(), encode(m)) for m in messages]
        await produce(self.broker.bootstrap_servers, FLAGS.name, pairs)
        self.sent += len(pairs)

        await all_committed(
            self.broker.bootstrap_servers,
            self.config.consumer_group,
            FLAGS,
            self.sent,
            "the API consumer to commit every flag message",
        )

    def flag(self, comment_key: str) -> Flag:
        with self.app.state.sessionmaker() as db:
            found = db.scalar(select(Flag).where(Flag.comment_key == comment_key))
        assert found is not None
        return found


async def test_a_deleted_comment_resolves_its_open_flag_and_the_desk_stops_offering_actions(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    original = raised(RUDE, 0, 1, labels=[Label.HOSTILE])
    before = counts()
    h = Harness(fresh_broker, database_url)
    async with running(h.app) as client:
        await h.send(original)
        flag_id = str(original.event_id)
        assert (await client.post(f"/api/flags/{flag_id}/claim", headers=AUTH)).status_code == 200
        moved = await client.post(f"/api/flags/{flag_id}/status", json={"status": "in_review"}, headers=AUTH)
        assert moved.status_code == 200, moved.text
        note = await client.post(f"/api/flags/{flag_id}/notes", json={"body": "calling them"}, headers=AUTH)
        assert note.status_code == 201, note.text

        deletion = cleared(original, ClearReason.DELETED, 20, 21)
        newer_edit = again(original, WORSE, 25, 26, labels=[Label.URGENT], severity=Severity.CRITICAL)
        # The deletion, then the deletion again (redelivered), then a verdict arriving after it.
        await h.send(deletion, deletion, newer_edit)

        flag = h.flag(original.comment_key)
        assert flag.status == "resolved"
        assert flag.comment_deleted_at is not None
        assert flag.comment_deleted_at.replace(tzinfo=UTC) == WRITTEN + timedelta(minutes=20)
        # The flag keeps what it was raised for and its history: nothing is newer than a deletion.
        assert (flag.labels, flag.severity, flag.text, flag.claimed_by) == (
            ["hostile"],
            "medium",
            RUDE,
            "admin",
        )

        trail = await audit_of(client, flag_id)
        [entry] = [e for e in trail if e["action"] == "flag.cleared"]
        assert (entry["actor"], entry["role"]) == ("system:classifier", "system")
        detail = entry["detail"]
        assert (detail["reason"], detail["previous"], detail["status"], detail["resolved"]) == (
            "deleted",
            "in_review",
            "resolved",
            True,
        )
        assert detail["event_id"] == str(deletion.event_id)
        assert detail["summary"] == "comment deleted on the platform → resolved"
        assert {"flag.claimed", "flag.status", "flag.note"} <= {e["action"] for e in trail}
        assert not [e for e in trail if e["action"] == "flag.relabelled"]
        assert "useless" not in json.dumps(trail)

        shown = (await client.get(f"/api/flags/{flag_id}", headers=AUTH)).json()
        assert shown["status"] == "resolved" and shown["comment_deleted_at"] is not None
        for action in ("hide", "delete"):
            refused = await client.post(f"/api/flags/{flag_id}/{action}", headers=AUTH)
            assert refused.status_code == 409, refused.text
            assert "deleted on the platform" in refused.text
        reply = await client.post(
            f"/api/flags/{flag_id}/reply", json={"text": "Please call us"}, headers=AUTH
        )
        assert reply.status_code == 409, reply.text
        page = await client.get(f"/flags/{flag_id}", headers=AUTH)
        assert page.status_code == 200, page.text
        assert 'id="comment-deleted"' in page.text
        assert 'id="reply-form"' not in page.text and 'value="hide"' not in page.text

    after = counts()
    assert after["deleted"] == before["deleted"] + 1
    assert after["duplicate"] == before["duplicate"] + 1
    assert after["stale_verdict"] == before["stale_verdict"] + 1  # the verdict after the deletion


async def test_an_edit_to_benign_resolves_and_older_changes_never_win(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    """Ordering is by the comment's own change time: a verdict on older text judged later (a classifier
    replaying a batch after a crash) and a clear about an older edit are ignored; a newer harmful edit
    reopens a flag that a benign edit resolved."""
    original = raised(RUDE, 0, 1, labels=[Label.HOSTILE])
    calmed = cleared(original, ClearReason.EDITED_BENIGN, 10, 11)
    replayed = again(original, RUDE, 0, 30, labels=[Label.HOSTILE], model_version="test-2")
    other = raised(RUDE, 20, 21, labels=[Label.HOSTILE])  # a second comment, last changed at minute 20
    older_clear = cleared(other, ClearReason.EDITED_BENIGN, 15, 40)  # about an edit before minute 20
    before = counts()
    h = Harness(fresh_broker, database_url)
    async with running(h.app) as client:
        await h.send(original, other)
        flag_id = str(original.event_id)
        assigned = await client.post(
            f"/api/flags/{flag_id}/status", json={"status": "assigned"}, headers=AUTH
        )
        assert assigned.status_code == 200, assigned.text

        await h.send(calmed, replayed, older_clear)

        flag = h.flag(original.comment_key)
        assert (flag.status, flag.comment_deleted_at, flag.model_version) == ("resolved", None, "test-1")
        assert flag.comment_changed_at is not None
        assert flag.comment_changed_at.replace(tzinfo=UTC) == WRITTEN + timedelta(minutes=10)
        [entry] = [e for e in await audit_of(client, flag_id) if e["action"] == "flag.cleared"]
        assert (entry["detail"]["reason"], entry["detail"]["previous"], entry["detail"]["model_version"]) == (
            "edited_benign",
            "assigned",
            "rules-1",
        )
        untouched = h.flag(other.comment_key)
        assert untouched.status == "new"
        assert not [e for e in await audit_of(client, str(other.event_id)) if e["action"] == "flag.cleared"]

        # Edited again into something that needs a human: relabelled and reopened where it was.
        worse = again(original, WORSE, 50, 51, labels=[Label.HOSTILE, Label.URGENT], severity=Severity.HIGH)
        await h.send(worse)
        flag = h.flag(original.comment_key)
        assert (flag.status, flag.labels, flag.text) == ("assigned", ["hostile", "urgent"], WORSE)
        trail = await audit_of(client, flag_id)
        [reopened] = [e for e in trail if e["action"] == "flag.reopened"]
        assert (reopened["actor"], reopened["detail"]["status"]) == ("system:classifier", "assigned")

    after = counts()
    assert after["edited_benign"] == before["edited_benign"] + 1
    assert after["stale"] == before["stale"] + 1  # the older clear on the second comment
    assert after["stale_verdict"] == before["stale_verdict"] + 1  # the replayed verdict on the old text
    assert after["reopened"] == before["reopened"] + 1


async def test_a_clear_on_a_closed_flag_keeps_its_status_and_is_recorded(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    original = raised(RUDE, 0, 1)
    h = Harness(fresh_broker, database_url)
    async with running(h.app) as client:
        await h.send(original)
        flag_id = str(original.event_id)
        dismissed = await client.post(f"/api/flags/{flag_id}/dismiss", headers=AUTH)
        assert dismissed.status_code == 200, dismissed.text

        await h.send(cleared(original, ClearReason.DELETED, 5, 6))

        flag = h.flag(original.comment_key)
        assert flag.status == "dismissed" and flag.comment_deleted_at is not None
        [entry] = [e for e in await audit_of(client, flag_id) if e["action"] == "flag.cleared"]
        assert (entry["detail"]["resolved"], entry["detail"]["status"]) == (False, "dismissed")


async def test_a_clear_without_a_flag_stores_nothing_and_malformed_ones_are_dead_lettered(
    database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    never_flagged = cleared(raised(CALM, 0, 1), ClearReason.EDITED_BENIGN, 3, 4)
    bad_reason = json.loads(encode(never_flagged))
    bad_reason["reason"] = "Rosa Delgado has HIV"
    unknown_type = {**json.loads(encode(never_flagged)), "type": "flag_withdrawn"}
    later = raised(RUDE, 0, 1)  # the stream goes on after them
    malformed = [json.dumps(bad_reason).encode(), json.dumps(unknown_type).encode()]
    before = counts()
    h = Harness(fresh_broker, database_url)
    async with running(h.app):
        key = never_flagged.comment_key.encode()
        await h.send(never_flagged, *((key, value) for value in malformed), later)

        with h.app.state.sessionmaker() as db:
            rows = db.scalar(select(func.count()).select_from(Flag).where(Flag.comment_key == key.decode()))
        assert rows == 0
        assert h.flag(later.comment_key).status == "new"

    assert counts()["missing"] == before["missing"] + 1
    letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_broker.bootstrap_servers, DLQ.name)]
    mine = sorted((d for d in letters if d.service == "api"), key=lambda d: d.offset or 0)
    assert [(d.topic, d.reason) for d in mine] == [(FLAGS.name, "schema"), (FLAGS.name, "unknown_type")]
    assert [base64.b64decode(d.value_b64 or "") for d in mine] == malformed
    assert all("Rosa" not in d.error and "HIV" not in d.error for d in mine)
