"""Migration 0013 (issue #23): every label row carries its flag's status, kept by the database's triggers
whatever writes it (new flags, status changes, relabelling), so a label + status listing and its capped count
read `flag_labels` alone; the migration backfills, and its downgrade removes column, index and triggers.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, inspect, select, text, update
from triage_api import db as triage_db
from triage_api.flags.models import Flag, FlagLabel
from triage_api.flags.service import FlagQuery, count_flags, list_flags
from triage_bench.api import seed
from triage_bench.databases import alembic
from triage_events import Label

from tests.builders import make_flag
from tests.integration.desk_support import FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def read(database_url: str, statement: Any) -> list[Any]:
    engine = triage_db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())
    finally:
        engine.dispose()


def label_statuses(database_url: str) -> dict[tuple[str, str], str | None]:
    rows = read(database_url, select(FlagLabel.flag_id, FlagLabel.label, FlagLabel.status))
    return {(flag_id, label): status for flag_id, label, status in rows}


def flag_statuses(database_url: str) -> dict[str, str]:
    return dict(read(database_url, select(Flag.id, Flag.status)))


def label_times(database_url: str) -> dict[tuple[str, str], datetime | None]:
    rows = read(database_url, select(FlagLabel.flag_id, FlagLabel.label, FlagLabel.flagged_at))
    return {(flag_id, label): at and triage_db.as_utc(at) for flag_id, label, at in rows}


def flag_times(database_url: str) -> dict[str, datetime]:
    return {i: triage_db.as_utc(at) for i, at in read(database_url, select(Flag.id, Flag.flagged_at))}


def in_step(database_url: str) -> None:
    """Every label row has its flag's status (migration 0013) and flagged time (0014)."""
    flags = flag_statuses(database_url)
    labels = label_statuses(database_url)
    assert labels and all(status == flags[flag_id] for (flag_id, _), status in labels.items()), labels
    times = flag_times(database_url)
    assert all(at == times[flag_id] for (flag_id, _), at in label_times(database_url).items())


async def test_label_rows_follow_their_flags_status_and_serve_the_count(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        labels = [[Label.HOSTILE], [Label.SPAM, Label.HOSTILE], [Label.URGENT]]
        events = [make_flag(labels=labels[n % 3], occurred_at=T0 + timedelta(minutes=n)) for n in range(30)]
        desk.add_flags(*events)
        ids = [str(e.event_id) for e in events]
        in_step(database_url)  # new flags: their label rows say "new"
        statuses = ["new", "resolved", "in_review", "dismissed"]
        with desk.app.state.sessionmaker() as db, db.begin():
            for n, flag_id in enumerate(ids):
                db.execute(update(Flag).where(Flag.id == flag_id).values(status=statuses[n % 4]))
            flag = db.get(Flag, ids[0])
            assert flag is not None
            flag.status = "escalated"  # through the ORM too
            # relabelled as `relabel.apply` does: the new label rows are given no status
            db.execute(delete(FlagLabel).where(FlagLabel.flag_id == ids[1]))
            db.execute(insert(FlagLabel), [{"flag_id": ids[1], "label": "privacy"}])
        in_step(database_url)
        want_status = {i: ("escalated" if n == 0 else statuses[n % 4]) for n, i in enumerate(ids)}
        want_labels = {
            i: ["privacy"] if n == 1 else [x.value for x in labels[n % 3]] for n, i in enumerate(ids)
        }
        with desk.app.state.sessionmaker() as db:
            for label in ("hostile", "spam", "urgent", "privacy"):
                for status in (None, "new", "resolved", "in_review", "escalated"):
                    query = FlagQuery(label=label, status=status, limit=200)
                    want = {i for i in ids if label in want_labels[i] and status in (None, want_status[i])}
                    assert count_flags(db, query).value == len(want), (label, status)
                    assert {f.id for f in list_flags(db, query).rows} == want, (label, status)
                    assert count_flags(db, query, cap=2).capped is (len(want) > 2)


def test_migration_0013_backfills_and_downgrades(database_url: str) -> None:
    alembic(database_url, "upgrade", "0012")
    engine = triage_db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            for n, status in enumerate(["new", "resolved", "escalated"]):
                # `flags` is the same at 0012 as at head (0013 changes only `flag_labels`)
                connection.execute(
                    insert(Flag.__table__),
                    {
                        "id": f"flag-{n}", "comment_key": f"k-{n}", "platform": "facebook", "account_id": "a",
                        "account_handle": "@a", "platform_comment_id": f"c-{n}", "kind": "comment",
                        "author_id": "u", "author_handle": "u", "commented_at": T0, "flagged_at": T0,
                        "stored_at": T0, "labels": ["spam"], "primary_label": "spam", "scores": {},
                        "severity": "low", "severity_rank": 0, "evidence": [], "model_version": "m",
                        "suggested_templates": [], "status": status,
                    },
                )  # fmt: skip
                connection.execute(
                    text("INSERT INTO flag_labels (flag_id, label) VALUES (:i, 'spam')"), {"i": f"flag-{n}"}
                )
    finally:
        engine.dispose()
    alembic(database_url, "upgrade", "head")
    assert label_statuses(database_url) == {
        ("flag-0", "spam"): "new", ("flag-1", "spam"): "resolved", ("flag-2", "spam"): "escalated"
    }  # fmt: skip
    engine = triage_db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(Flag).where(Flag.id == "flag-0").values(status="dismissed"))
        assert label_statuses(database_url)[("flag-0", "spam")] == "dismissed"
        alembic(database_url, "downgrade", "0012")
        assert "status" not in {c["name"] for c in inspect(engine).get_columns("flag_labels")}
        # without the column, the triggers must be gone too: a status change and a new label row still work
        with engine.begin() as connection:
            connection.execute(update(Flag).where(Flag.id == "flag-1").values(status="new"))
            connection.execute(text("INSERT INTO flag_labels (flag_id, label) VALUES ('flag-1', 'hostile')"))
            assert connection.scalar(select(Flag.status).where(Flag.id == "flag-1")) == "new"
        alembic(database_url, "upgrade", "head")
        assert label_statuses(database_url)[("flag-1", "hostile")] == "new"
    finally:
        engine.dispose()


def test_migration_0014_backfills_fills_and_downgrades(database_url: str) -> None:
    alembic(database_url, "upgrade", "0013")
    engine = triage_db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            for n in range(3):
                # `flags` is the same at 0013 as at head (0014 changes only `flag_labels`)
                connection.execute(
                    insert(Flag.__table__),
                    {
                        "id": f"flag-{n}", "comment_key": f"k-{n}", "platform": "facebook", "account_id": "a",
                        "account_handle": "@a", "platform_comment_id": f"c-{n}", "kind": "comment",
                        "author_id": "u", "author_handle": "u", "commented_at": T0,
                        "flagged_at": T0 + timedelta(minutes=n), "stored_at": T0, "labels": ["spam"],
                        "primary_label": "spam", "scores": {}, "severity": "low", "severity_rank": 0,
                        "evidence": [], "model_version": "m", "suggested_templates": [], "status": "new",
                    },
                )  # fmt: skip
                connection.execute(
                    text("INSERT INTO flag_labels (flag_id, label) VALUES (:i, 'spam')"), {"i": f"flag-{n}"}
                )
        alembic(database_url, "upgrade", "head")
        in_step(database_url)  # backfilled
        with engine.begin() as connection:  # a writer that gives no time: the trigger fills it
            connection.execute(text("INSERT INTO flag_labels (flag_id, label) VALUES ('flag-2', 'hostile')"))
        in_step(database_url)
        assert label_times(database_url)[("flag-2", "hostile")] == T0 + timedelta(minutes=2)
        indexes = {str(i["name"]) for i in inspect(engine).get_indexes("flag_labels")}
        assert {
            "ix_flag_labels_label_flagged_at_flag_id",
            "ix_flag_labels_label_status_flagged_at_flag_id",
        } <= indexes
        alembic(database_url, "downgrade", "0013")
        assert "flagged_at" not in {c["name"] for c in inspect(engine).get_columns("flag_labels")}
        indexes = {str(i["name"]) for i in inspect(engine).get_indexes("flag_labels")}
        assert {"ix_flag_labels_label_flag_id", "ix_flag_labels_label_status_flag_id"} <= indexes
        with engine.begin() as connection:  # without the column, its trigger must be gone too
            connection.execute(text("INSERT INTO flag_labels (flag_id, label) VALUES ('flag-1', 'urgent')"))
        alembic(database_url, "upgrade", "head")
        assert label_times(database_url)[("flag-1", "urgent")] == T0 + timedelta(minutes=1)
    finally:
        engine.dispose()


def test_the_bench_loads_label_rows_with_their_flags_status(database_url: str) -> None:
    alembic(database_url, "upgrade", "head")
    seed(database_url, 300)  # PostgreSQL: COPY with the status given; SQLite: INSERTs
    in_step(database_url)
    assert len(set(label_statuses(database_url).values())) > 2
