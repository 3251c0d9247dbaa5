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
