"""Retention on SQLite and PostgreSQL: comment text older than the retention period is purged, the flag's
metadata stays, and the purge is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from triage_api.audit.models import AuditEvent
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.flags.models import Flag
from triage_api.flags.retention import purge_text
from triage_api.flags.service import store_flags
from triage_events import Label

from tests.builders import make_comment, make_flag

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_old_comment_text_is_purged_and_metadata_kept(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    old = make_flag(
        comment=make_comment(text="My MRN is 12345678"),
        labels=[Label.PRIVACY],
        occurred_at=NOW - timedelta(days=91),
    )
    recent = make_flag(comment=make_comment(text="still here"), occurred_at=NOW - timedelta(days=89))
    try:
        with factory() as db, db.begin():
            store_flags(db, [old, recent])
        with factory() as db, db.begin():
            assert purge_text(db, 90, at=NOW) == 1
        with factory() as db, db.begin():
            assert purge_text(db, 90, at=NOW) == 0  # idempotent
        with factory() as db:
            rows = {f.id: f for f in db.scalars(select(Flag)).all()}
            audit = db.scalars(select(AuditEvent.action)).all()
        purged, kept = rows[str(old.event_id)], rows[str(recent.event_id)]
        assert purged.text is None and purged.labels == ["privacy"] and purged.evidence and purged.scores
        assert kept.text == "still here"
        assert audit == ["retention.purged"]
    finally:
        engine.dispose()


def test_old_drafts_are_deleted_except_one_being_published(database_url: str) -> None:
    from triage_api.drafts import service as drafts
    from triage_api.drafts.findings import Draft
    from triage_api.drafts.models import DraftRow, DraftStatus
    from triage_api.replies.accounts import AccountBook
    from triage_api.staff.models import Role
    from triage_api.staff.service import Principal

    engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    author = Principal(1, "mod", Role.MODERATOR)
    accounts = AccountBook.load(None)
    try:
        with factory() as db, db.begin():
            ids = {
                name: drafts.save(db, None, Draft(text), "*", author, accounts).id
                for name, text in [
                    ("old", "Our patient in room 5 turned 90 today!"),
                    ("sending", "Flu shots at the Oak Street clinic this Saturday."),
                    ("recent", "Visiting hours change on Monday."),
                ]
            }
            rows = {row.id: row for row in db.scalars(select(DraftRow)).all()}
            for name in ("old", "sending"):
                rows[ids[name]].updated_at = NOW - timedelta(days=91)
            rows[ids["sending"]].status = DraftStatus.PUBLISHING.value
            rows[ids["recent"]].updated_at = NOW - timedelta(days=89)
        with factory() as db, db.begin():
            assert drafts.purge_old(db, 90, at=NOW) == 1
        with factory() as db, db.begin():
            assert drafts.purge_old(db, 90, at=NOW) == 0  # idempotent
        with factory() as db:
            left = set(db.scalars(select(DraftRow.id)).all())
            audit = db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("retention.%"))).all()
        assert left == {ids["sending"], ids["recent"]}
        assert audit == ["retention.drafts_purged"]
    finally:
        engine.dispose()
