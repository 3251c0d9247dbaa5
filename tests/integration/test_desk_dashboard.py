"""The dashboard's flag page and queue over HTTP with a browser session: templates filled in with their
guidance, one-click actions behind a CSRF token, read-only viewers, escaped comment text, SLA timers, and
the Server-Sent Events stream of new flags."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from triage_api.dashboard.stream import flag_events
from triage_api.flags import relabel
from triage_events import Label, Severity

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import (
    PASSWORD,
    Desk,
    FakePublisher,
    desk_with_flag,
    make_app,
    running_desk,
)

pytestmark = pytest.mark.integration

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@contextlib.asynccontextmanager
async def sign_in(desk: Desk, who: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a browser session (the HttpOnly cookie) for `who`."""
    transport = httpx.ASGITransport(app=desk.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://triage.test") as client:
        r = await client.post("/login", data={"username": f"{who}-user", "password": PASSWORD})
        assert r.status_code == 303
        yield client


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def flag(text: str = "You are all useless clowns", **overrides: Any) -> Any:
    labels = overrides.pop("labels", [Label.HOSTILE])
    return make_flag(comment=make_comment(text=text), labels=labels, **overrides)


async def test_the_flag_page_shows_filled_templates_and_acts_with_a_csrf_token(database_url: str) -> None:
    f = flag()
    async with desk_with_flag(database_url, f) as (desk, publisher), sign_in(desk, "moderator") as browser:
        page = (await browser.get(f"/flags/{f.event_id}")).text
        assert "hostile.public" in page and "1-800-555-0199" in page
        assert "AMA Code of Medical Ethics Opinion 2.3.2" in page  # the guidance's source beside it
        token = csrf(page)
        act = f"/flags/{f.event_id}/act"
        assert (await browser.post(act, data={"op": "dismiss", "csrf_token": "forged"})).status_code == 403
        r = await browser.post(
            act, data={"op": "reply", "template_id": "hostile.public", "csrf_token": token}
        )
        assert r.status_code == 303
        [event] = publisher.sent
        assert event.text and "@river_w" in event.text
        r = await browser.post(act, data={"op": "note", "body": "Offered a call", "csrf_token": token})
        page = (await browser.get(r.headers["location"])).text
        assert "Offered a call" in page and "action.requested" in page and "flag.note" in page
        # The PHI guard's reasons appear on the page, and the draft is kept.
        r = await browser.post(
            act, data={"op": "reply", "text": "Sorry about your surgery", "csrf_token": token}
        )
        # After a redirect (post, redirect, get), from a cookie the page clears.
        assert r.status_code == 303 and r.headers["location"] == f"/flags/{f.event_id}"
        page = (await browser.get(r.headers["location"])).text
        assert "confirms a care relationship" in page and "Sorry about your surgery" in page
        assert "confirms a care relationship" not in (await browser.get(r.headers["location"])).text
        # A bearer token never authorises a form post.
        r = await desk.client.post(
            act, data={"op": "dismiss", "csrf_token": "guess"}, headers=desk.auth("admin")
        )
        assert r.status_code == 403


async def test_a_viewer_sees_the_page_but_cannot_act(database_url: str) -> None:
    f = flag()
    async with desk_with_flag(database_url, f) as (desk, publisher):
        async with sign_in(desk, "viewer") as browser:
            page = (await browser.get(f"/flags/{f.event_id}")).text
            assert "You have read-only access." in page and 'id="send-reply" disabled' in page
            r = await browser.post(f"/flags/{f.event_id}/act", data={"op": "hide", "csrf_token": csrf(page)})
            assert r.status_code == 303
            assert "requires the moderator role" in (await browser.get(r.headers["location"])).text
        assert publisher.sent == []


async def test_comment_text_is_escaped_everywhere(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        f = flag(text=XSS)
        desk.add_flags(f)
        async with sign_in(desk, "moderator") as browser:
            for path in ("/", f"/flags/{f.event_id}"):
                html = (await browser.get(path)).text
                assert "<script>window.pwned" not in html and "<img src=x" not in html
                assert "window.pwned=1&lt;/script&gt;&lt;img src=x" in html


async def test_the_queue_shows_sla_due_times_and_breaches(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        old = flag(severity=Severity.CRITICAL, occurred_at=datetime.now(UTC) - timedelta(minutes=10))
        fresh = flag(severity=Severity.LOW)
        desk.add_flags(old, fresh)
        async with sign_in(desk, "viewer") as browser:
            html = (await browser.get("/")).text
        assert html.count('class="sla overdue"') == 1 and html.count('class="sla"') == 1
        api = (await desk.client.get(f"/api/flags/{old.event_id}", headers=desk.auth("viewer"))).json()
        assert datetime.fromisoformat(api["due_at"]) == old.occurred_at + timedelta(minutes=5)


async def test_the_stream_pushes_flags_stored_after_it_opened(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        desk.add_flags(flag(text="before"))
        opened = datetime.now(UTC)
        await asyncio.sleep(0.01)
        stop = asyncio.Event()
        events = flag_events(desk.app.state.sessionmaker, opened, stop.is_set, interval=0.05, heartbeat=0.2)
        assert await anext(events) == "retry: 3000\n\n"
        new = flag(text=XSS)
        desk.add_flags(new)
        message = await asyncio.wait_for(anext(events), 5)
        assert message.startswith(f"id: {new.event_id}@")
        assert "\nevent: flag\ndata: " in message and '"change": "new"' in message
        assert '"text": "<script>' in message  # raw JSON: the browser inserts it with textContent
        assert await asyncio.wait_for(anext(events), 5) == ": keep-alive\n\n"  # nothing repeated
        stop.set()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), 5)
        r = await desk.client.get("/api/stream")
        assert r.status_code == 401


async def test_the_stream_resumes_after_the_last_event_id(database_url: str) -> None:
    from sqlalchemy import select
    from triage_api.flags.models import Flag

    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        first, second = flag(text="first"), flag(text="second")
        desk.add_flags(first)
        await asyncio.sleep(0.01)
        desk.add_flags(second)
        with desk.app.state.sessionmaker() as db:
            stored_first = db.scalar(select(Flag.stored_at).where(Flag.id == str(first.event_id)))
        assert stored_first is not None
        stop = asyncio.Event()
        events = flag_events(
            desk.app.state.sessionmaker, stored_first, stop.is_set, interval=0.05, seen={str(first.event_id)}
        )
        assert await anext(events) == "retry: 3000\n\n"
        message = await asyncio.wait_for(anext(events), 5)
        assert message.startswith(f"id: {second.event_id}@")
        stop.set()


def sse_data(message: str) -> dict[str, Any]:
    data = next(line for line in message.splitlines() if line.startswith("data: "))
    parsed: dict[str, Any] = json.loads(data[len("data: ") :])
    return parsed


async def test_a_relabel_and_a_raised_severity_reach_the_stream_with_the_restarted_due_time(
    database_url: str,
) -> None:
    """The queue's stream follows updates too: a flag relabelled by a newer verdict, or whose severity a
    moderator raised, is sent again (`change: updated`) with its new labels, severity and stored due time;
    a reconnect with the last message's id resumes after that update, not after the flag's first message."""
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        edited = flag(text="first words", severity=Severity.LOW)
        raised = flag(severity=Severity.HIGH, occurred_at=datetime.now(UTC) - timedelta(minutes=40))
        desk.add_flags(edited, raised)
        opened = datetime.now(UTC)
        stop = asyncio.Event()
        events = flag_events(desk.app.state.sessionmaker, opened, stop.is_set, interval=0.05, heartbeat=0.2)
        assert await anext(events) == "retry: 3000\n\n"
        assert await asyncio.wait_for(anext(events), 5) == ": keep-alive\n\n"  # stored before it opened

        worse = make_flag(
            comment=make_comment(comment=edited.comment.model_copy(update={"text": XSS})),
            labels=[Label.URGENT],
            severity=Severity.CRITICAL,
            occurred_at=datetime.now(UTC),
        )
        assert worse.comment_key == edited.comment_key
        with desk.app.state.sessionmaker() as db, db.begin():
            [result] = relabel.apply_all(db, desk.app.state.router, [worse])
            assert result.outcome is relabel.Outcome.RELABELLED
        relabelled = await asyncio.wait_for(anext(events), 5)
        assert relabelled.startswith(f"id: {edited.event_id}@")
        data = sse_data(relabelled)
        assert (data["change"], data["labels"], data["severity"], data["text"]) == (
            "updated",
            ["urgent"],
            "critical",
            XSS,  # raw JSON: the browser inserts it with textContent
        )
        due = datetime.fromisoformat(data["due_at"])
        assert opened + timedelta(minutes=5) < due <= datetime.now(UTC) + timedelta(minutes=5)

        moved = await desk.client.post(
            f"/api/flags/{raised.event_id}/severity",
            json={"severity": "critical"},
            headers=desk.auth("moderator"),
        )
        assert moved.status_code == 200, moved.text
        message = await asyncio.wait_for(anext(events), 5)
        data = sse_data(message)
        assert (data["id"], data["change"], data["severity"]) == (str(raised.event_id), "updated", "critical")
        assert datetime.fromisoformat(data["due_at"]) == datetime.fromisoformat(moved.json()["due_at"])
        assert await asyncio.wait_for(anext(events), 5) == ": keep-alive\n\n"  # each update once
        stop.set()

        # Resuming from the relabel's message id sends the later update only.
        last_id = relabelled.split("\n", 1)[0][len("id: ") :]
        flag_id, _, stamp = last_id.partition("@")
        resumed = flag_events(
            desk.app.state.sessionmaker,
            datetime.fromisoformat(stamp),
            asyncio.Event().is_set,
            interval=0.05,
            seen={flag_id},
        )
        assert await anext(resumed) == "retry: 3000\n\n"
        assert sse_data(await asyncio.wait_for(anext(resumed), 5))["id"] == str(raised.event_id)
        await resumed.aclose()


async def test_the_queue_and_the_breach_gauge_read_the_stored_due_time(database_url: str) -> None:
    """A raised severity restarts the clock: the queue page, /api/flags and the breach gauge follow the
    stored due time, not the flagged time plus the new severity's SLA (which would be 35 min overdue)."""
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        late = flag(severity=Severity.HIGH, occurred_at=datetime.now(UTC) - timedelta(minutes=40))
        desk.add_flags(late)

        def gauge(severity: str) -> float:
            desk.app.state.notifier.refresh_gauges()
            return REGISTRY.get_sample_value("triage_api_queue_sla_breaches", {"severity": severity}) or 0.0

        assert (gauge("high"), gauge("critical")) == (1.0, 0.0)
        async with sign_in(desk, "viewer") as browser:
            assert (await browser.get("/")).text.count('class="sla overdue"') == 1
        r = await desk.client.post(
            f"/api/flags/{late.event_id}/severity",
            json={"severity": "critical"},
            headers=desk.auth("moderator"),
        )
        assert r.status_code == 200 and r.json()["status"] == "new"  # the example's teams have nobody in them
        due = datetime.fromisoformat(r.json()["due_at"])
        assert (gauge("high"), gauge("critical")) == (0.0, 0.0)
        listed = (await desk.client.get("/api/flags", headers=desk.auth("viewer"))).json()["items"]
        assert [datetime.fromisoformat(item["due_at"]) for item in listed] == [due]
        async with sign_in(desk, "viewer") as browser:
            html = (await browser.get("/")).text
        assert 'class="sla overdue"' not in html and f'datetime="{due.isoformat()}"' in html
