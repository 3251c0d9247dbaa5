"""The queue listing read as rows (issue #23): `GET /api/flags` answers, byte for byte, what the page built from
whole `Flag` objects and validated by `FlagPage` answers, whatever is stored (times SQLite hands back naive, an
unsafe permalink stored before links were checked, a due time from before migration 0006, whole-number
scores); the JSON columns decoded by pydantic's parser; and the caller's stored queue order comes with the
token's lookup, not from a query of its own. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update
from triage_api import db as triage_db
from triage_api.flags.models import Flag
from triage_api.flags.schemas import FlagOut, FlagPage
from triage_api.flags.service import FlagQuery, QueueOrder, after_cursor, list_flags, set_preferred_order
from triage_api.staff.models import User
from triage_events import Label, Platform, Severity

from tests.builders import make_account, make_comment, make_comment_body, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def seed(desk: Desk, count: int = 12) -> list[str]:
    """`count` flags of every shape a listing may meet; returns their ids."""
    labels = [[Label.HOSTILE], [Label.SPAM, Label.HOSTILE], [Label.URGENT], [Label.PRIVACY]]
    events = [
        make_flag(
            comment=make_comment(
                comment=make_comment_body(
                    text=f"comment {n} ünïcode \u2028 <b>&", permalink=f"https://example.org/p/{n}"
                ),
                platform=[Platform.FACEBOOK, Platform.INSTAGRAM][n % 2],
                account=make_account(id=f"acct-{n % 3}", handle=f"@h{n % 3}"),
            ),
            labels=labels[n % 4],
            severity=list(Severity)[n % 4],
            occurred_at=T0 + timedelta(minutes=n, microseconds=n * 137),
        )
        for n in range(count)
    ]
    desk.add_flags(*events)
    ids = [str(e.event_id) for e in events]
    with desk.app.state.sessionmaker() as db, db.begin():
        # Stored shapes the validation path converted: an unsafe link, no stored due time, whole-number
        # scores, claims and deletions with times, no text (purged), a status, an assignee.
        db.execute(update(Flag).where(Flag.id == ids[0]).values(permalink="javascript:alert(1)"))
        db.execute(update(Flag).where(Flag.id == ids[1]).values(sla_due_at=None, text=None))
        db.execute(update(Flag).where(Flag.id == ids[2]).values(scores={"hostile": 1, "spam": 0}))
        db.execute(
            update(Flag)
            .where(Flag.id == ids[3])
            .values(
                claimed_by="moderator-user",
                claimed_until=T0 + timedelta(hours=1),
                comment_deleted_at=T0 + timedelta(minutes=5),
                status="in_review",
                assignee="moderator-user",
                team="care",
                last_action="hide",
                language="es",
            )
        )
        db.execute(update(Flag).where(Flag.id.in_(ids[4:8])).values(status="resolved"))
    return ids


def reference(desk: Desk, query: FlagQuery, *, cursor: str | None = None) -> bytes:
    """The page as it was built before rows: whole flags, each validated by `FlagOut`, the page by `FlagPage`."""
    with desk.app.state.sessionmaker() as db:
        if cursor:
            query = after_cursor(query, cursor)
        listing = list_flags(db, query)
        page = FlagPage(
            items=[FlagOut.model_validate(flag) for flag in listing.rows],
            total=listing.total.value,
            total_capped=listing.total.capped,
            limit=query.limit,
            offset=query.offset,
            next_offset=query.offset + len(listing.rows) if listing.has_more and cursor is None else None,
            next_cursor=listing.next_cursor,
        )
        return page.model_dump_json().encode()


CASES: list[dict[str, Any]] = [
    {},
    {"limit": 5},
    {"limit": 5, "offset": 5},
    {"label": "hostile", "limit": 3},
    {"status": "resolved"},
    {"order": "priority", "limit": 4},
    {"order": "due", "limit": 4},
    {"order": "oldest", "limit": 4},
    {"label": "urgent", "status": "new"},
]


async def test_the_listing_answers_what_the_validated_page_answers(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        ids = seed(desk)
        for params in CASES:
            query = FlagQuery(
                label=params.get("label"),
                status=params.get("status"),
                limit=params.get("limit", 50),
                offset=params.get("offset", 0),
                order=QueueOrder(params.get("order", "newest")),
            )
            r = await desk.client.get("/api/flags", params=params, headers=desk.auth("viewer"))
            assert r.status_code == 200, r.text
            assert r.content == reference(desk, query), params
            assert FlagPage.model_validate_json(r.content).items or params.get("status")
            cursor = r.json()["next_cursor"]
            if cursor:  # the next page by cursor too
                following = {k: v for k, v in params.items() if k != "offset"}
                r = await desk.client.get(
                    "/api/flags", params={**following, "cursor": cursor}, headers=desk.auth("viewer")
                )
                assert r.status_code == 200, r.text
                assert r.content == reference(desk, replace(query, offset=0), cursor=cursor)
        links = {i.id: i.permalink for i in FlagPage.model_validate_json(reference(desk, FlagQuery())).items}
        assert links[ids[0]] is None and all(links[i] for i in ids[1:])  # the case the seed set up is there


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_json_columns_are_decoded_by_the_engines_deserializer(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[object] = []
    decode = triage_db.JSON_DESERIALIZER

    def counting(raw: str | bytes) -> object:
        value = decode(raw)
        decoded.append(value)
        return value

    monkeypatch.setattr(triage_db, "JSON_DESERIALIZER", counting)
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk)
        decoded.clear()
        r = await desk.client.get("/api/flags", params={"limit": 5}, headers=desk.auth("viewer"))
        items = r.json()["items"]
        # four JSON columns a flag (labels, scores, evidence, suggested templates), of the page's six rows
        assert len(items) == 5 and len(decoded) == 4 * 6
        assert all(item["labels"] in decoded and item["evidence"] in decoded for item in items)


def assert_one_lookup(seen: list[str]) -> None:
    """The request looked the caller up once, their stored queue order with the token, and read one page (the
    app's background tasks run their own statements meanwhile: those are not counted)."""
    users = [s for s in seen if "users" in s]
    assert len(users) == 1 and "api_tokens" in users[0] and "users.queue_order" in users[0], users
    pages = [s for s in seen if "FROM flags" in s and "ORDER BY" in s]
    assert len(pages) == 1, pages


async def test_a_listing_reads_the_stored_order_with_the_token(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk)
        engine = desk.app.state.engine
        with desk.app.state.sessionmaker() as db:
            newest = [f.id for f in list_flags(db, FlagQuery(limit=50)).rows]
            due_first = [f.id for f in list_flags(db, FlagQuery(limit=50, order=QueueOrder.DUE)).rows]
        assert newest != due_first
        with statements(engine) as seen:
            r = await desk.client.get("/api/flags", headers=desk.auth("viewer"))
        assert [i["id"] for i in r.json()["items"]] == newest
        assert_one_lookup(seen)
        with desk.app.state.sessionmaker() as db, db.begin():
            user_id = db.scalar(select(User.id).where(User.username == "viewer-user"))
            assert user_id is not None
            set_preferred_order(db, user_id, QueueOrder.DUE)
        with statements(engine) as seen:
            r = await desk.client.get("/api/flags", headers=desk.auth("viewer"))
        assert [i["id"] for i in r.json()["items"]] == due_first
        assert_one_lookup(seen)
