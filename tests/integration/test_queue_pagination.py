"""The queue listing at scale (issue #7), on SQLite and PostgreSQL: keyset (cursor) pagination through the API
and the dashboard, with every filter; invalid and forged cursors; bounded counts; the queue indexes of
migration 0005, up and down, and that the listing's queries can use them; the due times migration 0006 stores."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, Result, Select, Table, inspect, select, text, update
from sqlalchemy.orm import Session
from triage_api import db as triage_db
from triage_api.flags import service, sla
from triage_api.flags.models import Flag
from triage_api.flags.service import (
    FlagPosition,
    FlagQuery,
    QueueOrder,
    count_flags,
    counts_by_status,
    encode_cursor,
)
from triage_bench.databases import alembic
from triage_events import Label, Platform, Severity

from tests.builders import make_account, make_comment, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ACCOUNTS = [("acct-1", "@northside"), ("acct-2", "@southside"), ("acct-3", "@eastside")]
TEXTS = ["The ER wait was awful", "50% off pills_now", "Useless clowns at the front desk", "wait times again"]


@dataclass
class Row:
    id: str
    flagged_at: datetime
    labels: list[str]
    status: str
    severity: str
    platform: str
    account_id: str
    account_handle: str
    assignee: str | None
    team: str | None
    text: str

    def key(self) -> tuple[datetime, str]:
        return (self.flagged_at, self.id)


def seed(desk: Desk, count: int, start: int = 0, base: datetime = T0) -> list[Row]:
    """`count` flags with varied filter values; every third shares its time with the one before (ties are
    broken by id)."""
    rows, events = [], []
    labels = [Label.HOSTILE, Label.SPAM, Label.URGENT, Label.MISINFORMATION]
    severities = list(Severity)
    platforms = [Platform.FACEBOOK, Platform.INSTAGRAM, Platform.LINKEDIN]
    for n in range(start, start + count):
        account_id, handle = ACCOUNTS[n % 3]
        at = base + timedelta(minutes=n - (n % 3 == 2))
        flag_labels = [labels[n % 4]] + ([Label.HOSTILE] if n % 5 == 0 and n % 4 else [])
        text_ = TEXTS[n % 4]
        event = make_flag(
            comment=make_comment(
                text=text_, platform=platforms[n % 3], account=make_account(id=account_id, handle=handle)
            ),
            labels=flag_labels,
            severity=severities[n % len(severities)],
            occurred_at=at,
        )
        events.append(event)
        rows.append(
            Row(
                id=str(event.event_id),
                flagged_at=at,
                labels=[label.value for label in flag_labels],
                status=["new", "assigned", "resolved"][n % 3 if n % 7 else 0],
                severity=severities[n % len(severities)].value,
                platform=platforms[n % 3].value,
                account_id=account_id,
                account_handle=handle,
                assignee="moderator-user" if n % 4 == 1 else None,
                team="care" if n % 3 else None,
                text=text_,
            )
        )
    desk.add_flags(*events)
    with desk.app.state.sessionmaker() as db, db.begin():
        for row in rows:
            db.execute(
                update(Flag)
                .where(Flag.id == row.id)
                .values(status=row.status, assignee=row.assignee, team=row.team)
            )
    return rows


FILTERS: list[dict[str, str]] = [
    {},
    {"label": "hostile"},
    {"label": "spam", "status": "new"},
    {"status": "resolved"},
    {"severity": "high"},
    {"platform": "instagram"},
    {"platform": "facebook", "account": "acct-1"},
    {"account": "@southside"},
    {"assignee": "moderator-user"},
    {"team": "care", "label": "urgent"},
    {"since": (T0 + timedelta(minutes=5)).isoformat(), "until": (T0 + timedelta(minutes=25)).isoformat()},
    {"q": "WAIT"},
    {"q": "50%"},
]


def matches(row: Row, f: dict[str, str]) -> bool:
    return (
        ("label" not in f or f["label"] in row.labels)
        and ("status" not in f or row.status == f["status"])
        and ("severity" not in f or row.severity == f["severity"])
        and ("platform" not in f or row.platform == f["platform"])
        and ("account" not in f or f["account"] in (row.account_id, row.account_handle))
        and ("assignee" not in f or row.assignee == f["assignee"])
        and ("team" not in f or row.team == f["team"])
        and ("since" not in f or row.flagged_at >= datetime.fromisoformat(f["since"]))
        and ("until" not in f or row.flagged_at < datetime.fromisoformat(f["until"]))
        and ("q" not in f or f["q"].lower() in row.text.lower())
    )


def expected(rows: list[Row], f: dict[str, str]) -> list[str]:
    return [r.id for r in sorted((r for r in rows if matches(r, f)), key=Row.key, reverse=True)]


async def get_page(desk: Desk, **params: Any) -> dict[str, Any]:
    r = await desk.client.get("/api/flags", params=params, headers=desk.auth("viewer"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_cursor_walks_every_filtered_set_once_in_order_while_flags_arrive(
    database_url: str,
) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 40)
        arrivals = 0
        for f in FILTERS:
            want = expected(rows, f)
            assert want, f  # every filter selects something
            seen: list[str] = []
            page = await get_page(desk, limit=3, **f)
            assert page["total"] == len(want) and page["total_capped"] is False, f
            pages = 1
            while True:
                seen += [item["id"] for item in page["items"]]
                assert page["next_offset"] is None or pages == 1
                if page["next_cursor"] is None:
                    break
                # New flags arrive between pages: newest of all, oldest of all, and one in the middle of
                # what is left, each matching every filter value they can.
                newer = T0 + timedelta(days=1, minutes=arrivals)
                older = T0 - timedelta(days=1, minutes=arrivals)
                middle = T0 + timedelta(minutes=20, seconds=arrivals + 1)
                for at in (newer, older, middle):
                    rows += seed(desk, 1, start=1000 + arrivals, base=at - timedelta(minutes=1000 + arrivals))
                    arrivals += 1
                page = await get_page(desk, limit=3, cursor=page["next_cursor"], **f)
                pages += 1
            assert len(seen) == len(set(seen)), f"duplicates with {f}"
            assert [i for i in seen if i in set(want)] == want, f"skipped or misordered with {f}"
            by_id = {r.id: r for r in rows}
            assert all(matches(by_id[i], f) for i in seen), f
            order = [by_id[i].key() for i in seen]
            assert order == sorted(order, reverse=True), f


async def test_offset_pages_still_work_and_lead_to_cursors(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 7)
        want = expected(rows, {})
        first = await get_page(desk, limit=3)
        second = await get_page(desk, limit=3, offset=first["next_offset"])
        assert [i["id"] for i in first["items"] + second["items"]] == want[:6]
        assert (first["next_offset"], second["next_offset"]) == (3, 6)
        via_cursor = await get_page(desk, limit=3, cursor=second["next_cursor"])
        assert [i["id"] for i in via_cursor["items"]] == want[6:]
        assert via_cursor["next_cursor"] is None and via_cursor["next_offset"] is None
        # The count rides with the page's rows; a page past the last match still counts every match.
        assert [p["total"] for p in (first, second, via_cursor)] == [7, 7, 7]
        assert (await get_page(desk, limit=3, offset=7)) | {"items": None} == {
            "items": None, "total": 7, "total_capped": False, "limit": 3, "offset": 7, "next_offset": None,
            "next_cursor": None,
        }  # fmt: skip
        assert (await get_page(desk, label="privacy"))["total"] == 0
        r = await desk.client.get("/api/flags", params={"limit": 3}, headers=desk.auth("viewer"))
        link = r.headers["link"]
        assert link.endswith('>; rel="next"') and f"cursor={r.json()['next_cursor']}" in link
        assert "limit=3" in link


def forge(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_an_invalid_or_foreign_cursor_is_422_with_a_clear_message(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 6)
        spam = (await get_page(desk, limit=1, label="spam"))["next_cursor"]
        real = (await get_page(desk, limit=1))["next_cursor"]
        fingerprint = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))["f"]
        good = {"v": 1, "t": T0.isoformat(), "i": rows[0].id, "f": fingerprint}
        cases: dict[str, tuple[dict[str, Any], str]] = {
            "garbage": ({"cursor": "not a cursor!"}, "string_pattern_mismatch"),
            "too long": ({"cursor": "A" * 301}, "string_too_long"),
            "not base64 json": ({"cursor": "abc"}, "not a cursor from this API"),
            "json list": ({"cursor": forge([1, 2])}, "not a cursor from this API"),
            "extra key": ({"cursor": forge({**good, "x": 1})}, "not a cursor from this API"),
            "other version": ({"cursor": forge({**good, "v": 2})}, "another version"),
            "naive time": ({"cursor": forge({**good, "t": "2026-11-22T09:00:00"})}, "time is malformed"),
            "bad time": ({"cursor": forge({**good, "t": "yesterday"})}, "time is malformed"),
            "numeric id": ({"cursor": forge({**good, "i": 7})}, "flag id is malformed"),
            "long id": ({"cursor": forge({**good, "i": "x" * 37})}, "flag id is malformed"),
            "other filters": ({"cursor": spam, "label": "urgent"}, "other filters"),
            "dropped filter": ({"cursor": spam}, "other filters"),
            "with offset": ({"cursor": real, "offset": 5}, "either cursor or offset"),
        }
        for name, (params, message) in cases.items():
            r = await desk.client.get("/api/flags", params=params, headers=desk.auth("viewer"))
            assert r.status_code == 422, name
            [error] = [e for e in r.json()["detail"] if e["loc"] == ["query", "cursor"]]
            assert message in error["msg"] or message == error["type"], (name, error)
        queue = await desk.client.get("/", params={"cursor": "abc"}, headers=desk.auth("viewer"))
        assert queue.status_code == 422 and "invalid cursor" in queue.json()["detail"]
        foreign = await desk.client.get("/", params={"cursor": spam}, headers=desk.auth("viewer"))
        assert foreign.status_code == 422


async def test_a_well_formed_cursor_with_sql_in_it_is_only_a_position(database_url: str) -> None:
    """Cursors are validated, not signed: a hand-made one only says where to resume, and its values are bound
    parameters."""
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 6)
        query = FlagQuery()
        at = T0 + timedelta(minutes=3)
        for flag_id in ("' OR '1'='1", "x'); DROP TABLE flags; --"):
            page = await get_page(desk, cursor=encode_cursor(FlagPosition(at, flag_id), query))
            # ids compare as plain strings: `'` before the hex digits, `x` after them
            assert [i["id"] for i in page["items"]] == [
                r.id for r in sorted(rows, key=Row.key, reverse=True) if r.key() < (at, flag_id)
            ]
            assert any(r.flagged_at == at for r in rows)
        assert len((await get_page(desk))["items"]) == 6


async def test_counts_stop_at_the_cap_and_say_so(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 12)
        by_status = {s: sum(r.status == s for r in rows) for s in {r.status for r in rows}}
        with desk.app.state.sessionmaker() as db:
            exact = counts_by_status(db)
            assert {s: (c.value, c.capped) for s, c in exact.items()} == {
                s: (n, False) for s, n in by_status.items()
            }
            capped = counts_by_status(db, cap=3)
            assert {s: (c.value, c.capped) for s, c in capped.items()} == {
                s: (min(n, 3), n > 3) for s, n in by_status.items()
            }
            assert count_flags(db, FlagQuery(label="hostile")).value == len(
                expected(rows, {"label": "hostile"})
            )
            assert str(count_flags(db, FlagQuery(), cap=11)) == "11+"
            assert str(count_flags(db, FlagQuery(), cap=12)) == "12"

        monkeypatch.setattr(service, "COUNT_CAP", 5)
        page = await get_page(desk, limit=2)
        assert (page["total"], page["total_capped"]) == (5, True)
        small = await get_page(desk, status="assigned")
        assert (small["total"], small["total_capped"]) == (by_status["assigned"], False)
        assert small["total"] <= 5
        html = (await desk.client.get("/", headers=desk.auth("viewer"))).text
        assert "5+ flags" in html and 'id="total"' not in html  # no live counter on an approximate count
        assert re.search(r"new: [0-9]\+?<", html)


async def test_the_dashboard_queue_pages_by_cursor_with_its_filters(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 120)
        for params in ({"order": "newest"}, {"label": "hostile", "status": "new", "order": "newest"}):
            seen: list[str] = []
            url: str | None = "/?" + "&".join(f"{k}={v}" for k, v in params.items())
            pages = 0
            while url is not None:
                r = await desk.client.get(url, headers=desk.auth("viewer"))
                assert r.status_code == 200
                seen += re.findall(r'data-flag-id="([^"]+)"', r.text)
                older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', r.text)
                url = "/" + older.group(1).replace("&amp;", "&") if older else None
                if pages:
                    assert ">Newest</a>" in r.text
                pages += 1
            assert seen == expected(rows, params)
            assert pages == -(-len(seen) // 50) and pages >= 1


# --- migration 0005 --------------------------------------------------------------------------------------

NEW_FLAG_INDEXES = {
    "ix_flags_flagged_at_id",
    "ix_flags_status_flagged_at_id",
    "ix_flags_severity_flagged_at_id",
    "ix_flags_platform_flagged_at_id",
    "ix_flags_account_id_flagged_at_id",
    "ix_flags_account_handle_flagged_at_id",
    "ix_flags_assignee_flagged_at_id",
    "ix_flags_team_flagged_at_id",
}


def query_plan(db: Session, statement: Select[Any], postgres: bool) -> str:
    """The database's plan for `statement`: PostgreSQL's EXPLAIN, or SQLite's EXPLAIN QUERY PLAN."""
    rows: Result[Any]
    if postgres:
        compiled = statement.compile(db.get_bind())
        rows = db.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    else:
        compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
        rows = db.execute(text("EXPLAIN QUERY PLAN " + str(compiled)))
    return "\n".join(str(r[-1]) for r in rows)


def index_names(database_url: str, table: str) -> set[str]:
    """The table's indexes (and, on PostgreSQL, its extended statistics, in this schema)."""
    engine = triage_db.make_engine(database_url)
    try:
        names = {str(i["name"]) for i in inspect(engine).get_indexes(table)}
        if database_url.startswith("postgresql"):
            with engine.connect() as connection:
                names |= set(
                    connection.scalars(
                        text(
                            "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = CAST(:table AS regclass)"
                        ),
                        {"table": table},
                    )
                )
        return names
    finally:
        engine.dispose()


def test_migration_0005_upgrades_and_downgrades(database_url: str) -> None:
    postgres = database_url.startswith("postgresql")
    alembic(database_url, "upgrade", "head")
    flags, labels = index_names(database_url, "flags"), index_names(database_url, "flag_labels")
    # 0005's (label, flag_id) is (label, flagged_at, flag_id) since migration 0014
    assert flags >= NEW_FLAG_INDEXES and "ix_flag_labels_label_flagged_at_flag_id" in labels
    assert ("ix_flags_text_trgm" in flags) is postgres
    assert ("st_flags_platform_account" in flags) is postgres
    assert not {"ix_flags_flagged_at", "ix_flags_status_flagged_at"} & flags

    alembic(database_url, "downgrade", "0004")
    flags, labels = index_names(database_url, "flags"), index_names(database_url, "flag_labels")
    assert not (NEW_FLAG_INDEXES | {"ix_flags_text_trgm", "st_flags_platform_account"}) & flags
    assert {"ix_flags_flagged_at", "ix_flags_status_flagged_at"} <= flags
    assert "ix_flag_labels_label" in labels and "ix_flag_labels_label_flag_id" not in labels

    alembic(database_url, "upgrade", "head")
    assert index_names(database_url, "flags") >= NEW_FLAG_INDEXES


async def test_the_listing_queries_can_use_the_queue_indexes(database_url: str) -> None:
    """The plans, not timings: with sequential scans priced out, each filtered page is an index scan of the
    index made for it (and the text search the trigram index, on PostgreSQL)."""
    postgres = database_url.startswith("postgresql")
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk, 30)
        after = FlagPosition(T0 + timedelta(minutes=20), "f" * 36)
        cases = {
            "ix_flags_status_flagged_at_id": FlagQuery(status="new", after=after),
            "ix_flags_assignee_flagged_at_id": FlagQuery(assignee="moderator-user", after=after),
            "ix_flags_flagged_at_id": FlagQuery(after=after),
            # a label's page walks its label rows in flagged time (migration 0014), not every flag of a status
            "ix_flag_labels_label_status_flagged_at_flag_id": FlagQuery(
                label="spam", status="new", after=after
            ),
            "ix_flag_labels_label_flagged_at_flag_id": FlagQuery(label="urgent", order=QueueOrder.OLDEST),
        }
        if postgres:
            cases["ix_flags_text_trgm"] = FlagQuery(text="useless clowns")
        with desk.app.state.sessionmaker() as db:
            if postgres:
                db.execute(text("ANALYZE flags"))
                db.execute(text("ANALYZE flag_labels"))
                db.execute(text("SET enable_seqscan = off"))
            for index, query in cases.items():
                if index == "ix_flags_text_trgm":  # GIN gives bitmaps only: price out the ordered walk too
                    db.execute(text("SET enable_indexscan = off"))
                plan = query_plan(db, service.page_statement(query), postgres)
                assert index in plan, (index, plan)


# --- migration 0006 --------------------------------------------------------------------------------------


def test_migration_0006_stores_due_times_backfilled_from_the_severity_or_the_last_escalation(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up from 0005 with flags in the table: each gets its flagged time plus its severity's SLA (the targets
    set in the environment, else the defaults), or the due time of its last escalation re-route from the
    audit log; `updated_at` is its stored time. Down again drops the columns and their indexes."""
    monkeypatch.setenv("TRIAGE_API_SLA_CRITICAL_S", "120")
    monkeypatch.delenv("TRIAGE_API_SLA_LOW_S", raising=False)
    alembic(database_url, "upgrade", "0005")
    flagged = T0.replace(microsecond=123456)
    escalated_due = datetime(2026, 11, 22, 13, 30, 1, 500, tzinfo=UTC)
    events = {
        "critical": make_flag(severity=Severity.CRITICAL, occurred_at=flagged),
        "low": make_flag(severity=Severity.LOW, occurred_at=flagged),
        "escalated": make_flag(severity=Severity.MEDIUM, occurred_at=flagged),
    }
    engine = triage_db.make_engine(database_url)
    try:
        flags = Table("flags", MetaData(), autoload_with=engine)
        audit = Table("audit_events", MetaData(), autoload_with=engine)
        assert "sla_due_at" not in flags.c and "updated_at" not in flags.c
        with engine.begin() as connection:
            for event in events.values():
                row = {k: v for k, v in service.flag_row(event, sla.DEFAULT).items() if k in flags.c}
                connection.execute(flags.insert().values(**row))
            escalated = str(events["escalated"].event_id)
            for due in (
                "2026-11-22T10:00:00+00:00",
                escalated_due.isoformat(),
                None,
            ):  # the last one with one
                detail = {"reason": "escalated" if due else "manual", "team": "leads", "due_at": due}
                connection.execute(
                    audit.insert().values(
                        at=flagged, actor="lead-user", role="lead", action="flag.rerouted", flag_id=escalated,
                        detail=detail,
                    )
                )  # fmt: skip
    finally:
        engine.dispose()

    alembic(database_url, "upgrade", "0006")
    assert {"ix_flags_status_sla_due_at", "ix_flags_updated_at_id"} <= index_names(database_url, "flags")
    engine = triage_db.make_engine(database_url)
    try:
        flags = Table("flags", MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            rows = {r.id: r for r in connection.execute(select(flags))}
    finally:
        engine.dispose()

    def utc(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    due = {name: utc(rows[str(e.event_id)].sla_due_at) for name, e in events.items()}
    assert due == {
        "critical": flagged + timedelta(seconds=120),  # the environment's target, to the microsecond
        "low": flagged + timedelta(hours=24),  # the default
        "escalated": escalated_due,  # the last escalation's restarted clock
    }
    assert all(utc(r.updated_at) == utc(r.stored_at) for r in rows.values())

    alembic(database_url, "downgrade", "0005")
    engine = triage_db.make_engine(database_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("flags")}
    finally:
        engine.dispose()
    assert not {"sla_due_at", "updated_at"} & columns
    assert not {"ix_flags_status_sla_due_at", "ix_flags_updated_at_id"} & index_names(database_url, "flags")
    alembic(database_url, "upgrade", "head")
    assert {"ix_flags_status_sla_due_at", "ix_flags_updated_at_id"} <= index_names(database_url, "flags")
