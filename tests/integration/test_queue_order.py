"""The queue's orders (issue #20), on SQLite and PostgreSQL: needs-a-human-first (open flags, severity, due
time, id), newest, oldest and due soonest, each paged by cursor through `GET /api/flags` without skipping or
repeating a flag; a person's chosen order sticks (the desk's form) and becomes their API default; cursors of
one order are refused in another; the listing's sort can use the indexes of migration 0009, which goes down
and up again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from triage_api import db as triage_db
from triage_api.flags import service, sla
from triage_api.flags.models import Flag
from triage_api.flags.service import FlagPosition, FlagQuery, QueueOrder
from triage_bench.databases import alembic
from triage_events import Label, Severity

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk
from tests.integration.test_queue_pagination import index_names, query_plan

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SEVERITIES = list(Severity)
STATUSES = ["new", "resolved", "in_review", "dismissed", "escalated"]


def seed(desk: Desk, count: int) -> dict[str, dict[str, Any]]:
    """`count` flags of every severity and several statuses, flagged a minute apart (every fourth in the same
    minute as the one before) with due times that tie now and then (ties are broken by id)."""
    events, rows = [], {}
    for n in range(count):
        severity = SEVERITIES[n % 4]
        at = T0 + timedelta(minutes=n - (n % 4 == 3))
        event = make_flag(
            comment=make_comment(text=f"comment {n}"), labels=[Label.HOSTILE], severity=severity
        )
        event = event.model_copy(update={"occurred_at": at})
        events.append(event)
        rows[str(event.event_id)] = {
            "flagged_at": at,
            "severity": severity,
            "status": STATUSES[n % len(STATUSES)],
            "due": T0 + timedelta(hours=5) - timedelta(minutes=(n * 7) % 11),
        }
    desk.add_flags(*events)
    with desk.app.state.sessionmaker() as db, db.begin():
        for flag_id, row in rows.items():
            db.execute(
                update(Flag).where(Flag.id == flag_id).values(status=row["status"], sla_due_at=row["due"])
            )
    return rows


def expected(rows: dict[str, dict[str, Any]], order: QueueOrder) -> list[str]:
    def is_open(r: dict[str, Any]) -> int:
        return int(r["status"] in sla.OPEN_STATUSES)

    keys = {
        QueueOrder.PRIORITY: lambda i: (-is_open(rows[i]), -rows[i]["severity"].rank, rows[i]["due"], i),
        QueueOrder.DUE: lambda i: (-is_open(rows[i]), rows[i]["due"], i),
        QueueOrder.OLDEST: lambda i: (rows[i]["flagged_at"], i),
    }
    if order is QueueOrder.NEWEST:
        return sorted(rows, key=lambda i: (rows[i]["flagged_at"], i), reverse=True)
    return sorted(rows, key=keys[order])


async def walk(desk: Desk, who: str, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page by cursor; the ids in the order served, and the pages."""
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await desk.client.get("/api/flags", params=query, headers=desk.auth(who))
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(page)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


async def test_each_order_pages_through_every_flag_once_in_its_order(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 23)
        for order in QueueOrder:
            seen, pages = await walk(desk, "viewer", order=order.value, limit=4)
            assert seen == expected(rows, order), order
            assert len(pages) == 6
        # Filtered too: open flags of one severity, by due time.
        seen, _ = await walk(desk, "viewer", order="priority", status="new", limit=2)
        assert seen == [i for i in expected(rows, QueueOrder.PRIORITY) if rows[i]["status"] == "new"]
        # The first rows of the default desk order are open critical flags, soonest due first.
        first = expected(rows, QueueOrder.PRIORITY)[:3]
        assert all(
            rows[i]["severity"] is Severity.CRITICAL and rows[i]["status"] in sla.OPEN_STATUSES for i in first
        )


async def test_a_chosen_order_sticks_on_the_desk_and_becomes_the_api_default(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 9)
        # Without a choice the API keeps its historical order (newest first) and the desk lists what needs a
        # human first.
        seen, _ = await walk(desk, "moderator")
        assert seen == expected(rows, QueueOrder.NEWEST)
        with desk.app.state.sessionmaker() as db:
            user_id = db.scalar(text("SELECT id FROM users WHERE username = 'moderator-user'"))
            stored = text("SELECT queue_order FROM users WHERE id = :id").bindparams(id=user_id)
            assert service.known_order(db.scalar(stored)) is None
            service.set_preferred_order(db, user_id, QueueOrder.DUE)
            db.commit()
            assert service.known_order(db.scalar(stored)) is QueueOrder.DUE
        seen, _ = await walk(desk, "moderator", limit=4)
        assert seen == expected(rows, QueueOrder.DUE)
        # A cursor keeps the order it was issued for, whatever the preference; another order is refused.
        first = (
            await desk.client.get(
                "/api/flags", params={"limit": 2, "order": "oldest"}, headers=desk.auth("moderator")
            )
        ).json()
        again = await desk.client.get(
            "/api/flags", params={"limit": 2, "cursor": first["next_cursor"]}, headers=desk.auth("moderator")
        )
        assert [i["id"] for i in again.json()["items"]] == expected(rows, QueueOrder.OLDEST)[2:4]
        mixed = await desk.client.get(
            "/api/flags",
            params={"cursor": first["next_cursor"], "order": "newest"},
            headers=desk.auth("moderator"),
        )
        assert mixed.status_code == 422 and "belongs to the oldest order" in mixed.text
        bad = await desk.client.get("/api/flags", params={"order": "loudest"}, headers=desk.auth("moderator"))
        assert bad.status_code == 422 and "order" in bad.text


async def test_the_desk_form_stores_the_order_for_the_person(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        rows = seed(desk, 6)
        login = await desk.client.post(
            "/login", data={"username": "lead-user", "password": "correct horse battery staple"}
        )
        assert login.status_code == 303
        page = (await desk.client.get("/")).text
        assert re.findall(r'data-flag-id="([^"]+)"', page) == expected(rows, QueueOrder.PRIORITY)
        assert 'aria-pressed="true">Needs a human first' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        refused = await desk.client.post("/queue/order", data={"csrf_token": "nope", "order": "oldest"})
        assert refused.status_code == 403
        chosen = await desk.client.post(
            "/queue/order", data={"csrf_token": token.group(1), "order": "oldest", "label": "hostile"}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/?label=hostile"
        page = (await desk.client.get("/")).text
        assert re.findall(r'data-flag-id="([^"]+)"', page) == expected(rows, QueueOrder.OLDEST)
        assert 'aria-pressed="true">Oldest first' in page
        # The URL may show another order once without changing the choice.
        page = (await desk.client.get("/", params={"order": "newest"})).text
        assert re.findall(r'data-flag-id="([^"]+)"', page) == expected(rows, QueueOrder.NEWEST)
        page = (await desk.client.get("/")).text
        assert re.findall(r'data-flag-id="([^"]+)"', page) == expected(rows, QueueOrder.OLDEST)
        bad = await desk.client.post("/queue/order", data={"csrf_token": token.group(1), "order": "loudest"})
        assert bad.status_code == 422


async def test_the_orders_can_use_the_indexes_of_migration_0009(database_url: str) -> None:
    """The plans: with sequential scans priced out, a page in needs-a-human-first or due-soonest order, from a
    cursor, is a scan of the expression index made for it."""
    postgres = database_url.startswith("postgresql")
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk, 30)
        due = T0 + timedelta(hours=4)
        cases = {
            "ix_flags_priority": FlagQuery(
                order=QueueOrder.PRIORITY, after=FlagPosition(T0, "f" * 36, QueueOrder.PRIORITY, 1, 2, due)
            ),
            "ix_flags_due": FlagQuery(order=QueueOrder.DUE),
        }
        with desk.app.state.sessionmaker() as db:
            if postgres:
                db.execute(text("ANALYZE flags"))
                db.execute(text("SET enable_seqscan = off"))
                db.execute(text("SET enable_sort = off"))
            for index, query in cases.items():
                plan = query_plan(db, service.page_statement(query), postgres)
                assert index in plan, (index, plan)


def all_indexes(database_url: str) -> set[str]:
    """The flags table's indexes from the catalogue (reflection skips expression indexes on SQLite)."""
    engine = triage_db.make_engine(database_url)
    sql = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'flags' AND schemaname = current_schema()"
        if database_url.startswith("postgresql")
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'flags'"
    )
    try:
        with engine.connect() as connection:
            return {str(name) for name in connection.scalars(text(sql))}
    finally:
        engine.dispose()


def test_migration_0009_upgrades_and_downgrades(database_url: str) -> None:
    new = {"ix_flags_priority", "ix_flags_due", "ix_flags_account_id_thread_id"}
    alembic(database_url, "upgrade", "head")
    assert new <= all_indexes(database_url) and new - {"ix_flags_priority", "ix_flags_due"} <= index_names(
        database_url, "flags"
    )
    alembic(database_url, "downgrade", "0008")
    assert not new & all_indexes(database_url)
    alembic(database_url, "upgrade", "head")
    assert new <= all_indexes(database_url)
