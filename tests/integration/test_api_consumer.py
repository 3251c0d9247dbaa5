"""The API service against real brokers (embedded and Apache Kafka) and real databases: flags consumed
idempotently, bad messages dead-lettered, the REST listing, and sign-in."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from triage_api.config import ApiSettings
from triage_api.flags.models import Flag, FlagLabel
from triage_api.flags.service import store_flags
from triage_api.main import create_app
from triage_events import (
    DLQ,
    FLAGS,
    DeadLetter,
    Evidence,
    FlagRaised,
    Label,
    Platform,
    Severity,
    decode,
    encode,
)

from tests.builders import make_comment, make_comment_body, make_flag, unique
from tests.integration.desk_support import AUTH, PASSWORD, TOKEN, desk_settings, running
from tests.integration.helpers import all_committed, produce, read_all
from tests.kafka.fixtures import Bus, bus_profile

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def settings(database_url: str, **overrides: Any) -> ApiSettings:
    """The desk's test settings, with a bootstrap admin token and a consumer group of this file's own."""
    fields: dict[str, Any] = {"consumer_group": unique("api-test"), "bootstrap_admin_token": TOKEN}
    return desk_settings(database_url, **{**fields, **overrides})


@contextlib.asynccontextmanager
async def consuming(
    database_url: str, bus: Bus, messages: list[tuple[bytes | None, bytes | None]]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its flags consumer on, once it has committed every one of `messages` sent to the flags topic."""
    config = settings(database_url, consumer_enabled=True)
    app = create_app(config, bus_profile(bus))
    async with running(app) as client:
        await produce(bus.bootstrap_servers, FLAGS.name, messages)
        await all_committed(
            bus.bootstrap_servers,
            config.consumer_group,
            FLAGS,
            len(messages),
            "the API consumer to commit every message",
        )
        yield app, client


def flag_at(minutes: int, labels: list[Label], **overrides: Any) -> FlagRaised:
    comment = make_comment(text=f"comment {minutes}", platform=overrides.pop("platform", Platform.FACEBOOK))
    return make_flag(comment=comment, labels=labels, occurred_at=T0 + timedelta(minutes=minutes), **overrides)


def keys_of(page: dict[str, Any]) -> list[str]:
    return [item["comment_key"] for item in page["items"]]


# --- the consumer ---------------------------------------------------------------------------------------


async def test_flags_are_stored_once_each_and_bad_messages_are_dead_lettered(
    database_url: str, fresh_bus: Bus
) -> None:
    hostile = flag_at(0, [Label.HOSTILE])
    urgent = flag_at(1, [Label.URGENT], severity=Severity.CRITICAL, platform=Platform.INSTAGRAM)
    private_spam = flag_at(2, [Label.PRIVACY, Label.SPAM], severity=Severity.HIGH)
    spam = flag_at(3, [Label.SPAM], severity=Severity.LOW)
    misinfo = flag_at(4, [Label.MISINFORMATION])
    # The same comment judged again later (a replayed batch): a new event, the same comment_key.
    urgent_again = make_flag(
        comment=make_comment(comment=urgent.comment, platform=urgent.platform),
        labels=[Label.URGENT, Label.HOSTILE],
        severity=Severity.CRITICAL,
        occurred_at=T0 + timedelta(minutes=9),
    )
    assert urgent_again.comment_key == urgent.comment_key
    not_json = b'{"comment_key": "facebook:1:2", "text": "Rosa Delgado has HIV"'
    wrong_schema = b'{"comment_key": "facebook:1:3", "labels": ["urgent"]}'
    messages: list[tuple[bytes | None, bytes | None]] = [
        (f.comment_key.encode(), encode(f)) for f in (hostile, urgent, private_spam, spam, misinfo)
    ]
    messages += [
        (urgent.comment_key.encode(), encode(urgent)),  # delivered twice
        (b"facebook:1:2", not_json),
        (urgent_again.comment_key.encode(), encode(urgent_again)),
        (b"facebook:1:3", wrong_schema),
    ]
    async with consuming(database_url, fresh_bus, messages) as (app, client):
        with app.state.sessionmaker() as db:
            per_key = dict(
                db.execute(select(Flag.comment_key, func.count()).group_by(Flag.comment_key)).all()
            )
            stored_urgent = db.scalar(select(Flag).where(Flag.comment_key == urgent.comment_key))
            urgent_labels = db.scalars(
                select(FlagLabel.label).where(FlagLabel.flag_id == stored_urgent.id)
            ).all()
        assert per_key == {f.comment_key: 1 for f in (hostile, urgent, private_spam, spam, misinfo)}
        assert stored_urgent.id == str(urgent.event_id)  # one flag per comment, named by its first verdict
        # The later verdict is newer and says more: it relabels the flag (tests/integration/test_flag_edits.py).
        assert stored_urgent.labels == ["urgent", "hostile"]
        assert set(urgent_labels) == {"urgent", "hostile"}

        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["problems"] == []

        newest_first = (await client.get("/api/flags", headers=AUTH)).json()
        assert keys_of(newest_first) == [
            f.comment_key for f in (misinfo, spam, private_spam, urgent, hostile)
        ]
        assert (newest_first["total"], newest_first["next_offset"]) == (5, None)
        first = newest_first["items"][-1]
        assert first["id"] == str(hostile.event_id)
        assert first["labels"] == ["hostile"] and first["status"] == "new"
        assert first["text"] == hostile.comment.text
        assert first["evidence"] == [e.model_dump(mode="json") for e in hostile.evidence]

        async def listing(**params: Any) -> dict[str, Any]:
            response = await client.get("/api/flags", params=params, headers=AUTH)
            assert response.status_code == 200, response.text
            return response.json()

        assert keys_of(await listing(label="urgent")) == [urgent.comment_key]
        assert keys_of(await listing(label="spam")) == [spam.comment_key, private_spam.comment_key]
        assert keys_of(await listing(label="clinical_advice")) == []
        assert (await listing(status="new"))["total"] == 5
        assert (await listing(status="dismissed"))["total"] == 0
        assert keys_of(await listing(severity="critical")) == [urgent.comment_key]
        assert keys_of(await listing(platform="instagram")) == [urgent.comment_key]
        assert keys_of(await listing(label="spam", severity="low")) == [spam.comment_key]

        pages = [await listing(limit=2, offset=offset) for offset in (0, 2, 4)]
        assert [keys_of(p) for p in pages] == [keys_of(newest_first)[i : i + 2] for i in (0, 2, 4)]
        assert [p["next_offset"] for p in pages] == [2, 4, None]
        assert all(p["total"] == 5 and p["limit"] == 2 for p in pages)
        assert (await listing(offset=10))["items"] == []

        one = await client.get(f"/api/flags/{urgent.event_id}", headers=AUTH)
        assert one.status_code == 200 and one.json()["comment_key"] == urgent.comment_key
        missing = await client.get("/api/flags/00000000-0000-4000-8000-000000000000", headers=AUTH)
        assert missing.status_code == 404

    letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_bus.bootstrap_servers, DLQ.name)]
    by_value = {
        base64.b64decode(letter.value_b64 or ""): letter for letter in letters if letter.service == "api"
    }
    assert set(by_value) == {not_json, wrong_schema}
    assert by_value[not_json].reason == "not_json"
    assert by_value[wrong_schema].reason == "schema"
    for letter in by_value.values():
        assert letter.topic == FLAGS.name
        assert letter.partition is not None and letter.offset is not None
        assert "Rosa" not in letter.error and "HIV" not in letter.error
    assert base64.b64decode(by_value[not_json].key_b64 or "") == b"facebook:1:2"


async def test_a_flag_the_database_refuses_does_not_stop_the_stream(
    database_url: str, fresh_bus: Bus
) -> None:
    # PostgreSQL text cannot hold NUL; SQLite can. Either way the flags after it must be stored.
    odd = make_flag(comment=make_comment(text="you useless clowns\x00"))
    later = [make_flag() for _ in range(3)]
    key = b"same-partition"
    messages: list[tuple[bytes | None, bytes | None]] = [(key, encode(f)) for f in (odd, *later)]
    async with consuming(database_url, fresh_bus, messages) as (_, client):
        stored = set(keys_of((await client.get("/api/flags", headers=AUTH)).json()))

    assert {f.comment_key for f in later} <= stored
    letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_bus.bootstrap_servers, DLQ.name)]
    if database_url.startswith("postgresql"):
        assert odd.comment_key not in stored
        [letter] = letters
        assert (letter.service, letter.reason, letter.error) == ("api", "rejected_by_database", "DataError")
        assert base64.b64decode(letter.value_b64 or "") == encode(odd)
    else:
        assert odd.comment_key in stored
        assert letters == []


# --- the REST API and sign-in (no consumer needed) ------------------------------------------------------


async def test_listing_requires_a_valid_token(database_url: str) -> None:
    async with running(create_app(settings(database_url))) as client:
        anonymous = await client.get("/api/flags")
        wrong = await client.get("/api/flags", headers={"Authorization": "Bearer not-the-token"})
        right = await client.get("/api/flags", headers=AUTH)
        one = await client.get("/api/flags/whatever")

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert one.status_code == 401
    assert right.status_code == 200
    assert right.json() == {
        "items": [],
        "total": 0,
        "total_capped": False,
        "limit": 50,
        "offset": 0,
        "next_offset": None,
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"label": "banana"},
        {"status": "archived"},
        {"severity": "apocalyptic"},
        {"platform": "myspace"},
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"offset": -1},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
async def test_a_bad_filter_value_is_422(params: dict[str, Any], tmp_path: Any) -> None:
    async with running(create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}"))) as client:
        response = await client.get("/api/flags", params=params, headers=AUTH)

    assert response.status_code == 422
    [name] = params
    assert any(error["loc"] == ["query", name] for error in response.json()["detail"])


async def test_sign_in_with_the_bootstrap_password_sets_a_safe_session_cookie(database_url: str) -> None:
    async with running(create_app(settings(database_url))) as client:
        page = await client.get("/login")
        assert page.status_code == 200
        assert 'name="username"' in page.text and 'name="password"' in page.text

        assert (await client.get("/")).headers["location"] == "/login"

        response = await client.post("/login", data={"username": "admin", "password": PASSWORD})

        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert cookie.startswith("triage_session=")
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "path=/" in attributes
        assert "secure" not in attributes  # off by default for http://127.0.0.1

        queue = await client.get("/")  # the client keeps the cookie
        assert queue.status_code == 200
        assert "Sign in to Triage" not in queue.text
        assert (await client.get("/api/flags")).status_code == 200  # the session works for the API too

        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', queue.text)
        assert token, "the queue page carries the session's CSRF token"
        logout = await client.post("/logout", data={"csrf_token": token.group(1)})
        assert logout.status_code == 303
        assert (await client.get("/api/flags")).status_code == 401


async def test_sign_in_with_a_wrong_password_is_refused(database_url: str) -> None:
    async with running(create_app(settings(database_url))) as client:
        wrong = await client.post("/login", data={"username": "admin", "password": "guess"})
        unknown = await client.post("/login", data={"username": "nobody", "password": PASSWORD})

    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert "Unknown user or wrong password." in response.text


async def test_cookies_are_secure_when_configured(tmp_path: Any) -> None:
    app = create_app(settings(f"sqlite:///{tmp_path / 'triage.db'}", secure_cookies=True))
    async with running(app) as client:
        response = await client.post("/login", data={"username": "admin", "password": PASSWORD})

    assert "secure" in [part.strip().lower() for part in response.headers["set-cookie"].split(";")]


async def test_the_flag_page_escapes_comment_text(database_url: str) -> None:
    text = "<script>alert('x')</script> you idiots"
    span = Evidence(
        label=Label.HOSTILE, source="rule", rule_id="hostile.insult", start=text.index("you"), end=len(text)
    )
    flag = make_flag(comment=make_comment(text=text), labels=[Label.HOSTILE], evidence=[span])
    app = create_app(settings(database_url))
    async with running(app) as client:
        with app.state.sessionmaker() as db, db.begin():
            assert store_flags(db, [flag, flag]) == 1
        await client.post("/login", data={"username": "admin", "password": PASSWORD})

        page = await client.get(f"/flags/{flag.event_id}")
        queue = await client.get("/")

    assert page.status_code == 200 and queue.status_code == 200
    for html in (page.text, queue.text):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(" in html
        assert "you idiots</mark>" in html


async def test_times_with_offsets_are_stored_as_instants(database_url: str) -> None:
    eastern = timezone(timedelta(hours=-5))
    later_in_eastern = make_flag(
        comment=make_comment(
            comment=make_comment_body(created_at=datetime(2026, 3, 3, 9, 0, tzinfo=eastern))
        ),
        occurred_at=datetime(2026, 3, 3, 10, 0, tzinfo=eastern),  # 15:00 UTC
    )
    earlier_in_utc = make_flag(occurred_at=datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    app = create_app(settings(database_url))
    async with running(app) as client:
        with app.state.sessionmaker() as db, db.begin():
            store_flags(db, [earlier_in_utc, later_in_eastern])
        items = (await client.get("/api/flags", headers=AUTH)).json()["items"]

    def instant(value: str) -> datetime:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    assert [i["comment_key"] for i in items] == [later_in_eastern.comment_key, earlier_in_utc.comment_key]
    assert instant(items[0]["flagged_at"]) == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert instant(items[0]["commented_at"]) == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


async def test_restarting_keeps_data_and_the_bootstrap_admin(database_url: str) -> None:
    flag = make_flag()
    first = create_app(settings(database_url))
    async with running(first):
        with first.state.sessionmaker() as db, db.begin():
            store_flags(db, [flag])
    first.state.engine.dispose()

    async with running(create_app(settings(database_url))) as client:
        listing = (await client.get("/api/flags", headers=AUTH)).json()
        login = await client.post("/login", data={"username": "admin", "password": PASSWORD})

    assert keys_of(listing) == [flag.comment_key]
    assert login.status_code == 303
