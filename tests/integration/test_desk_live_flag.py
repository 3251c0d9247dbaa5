"""The flag page's live updates on SQLite and PostgreSQL: `/api/stream/flags/{id}` sends the flag's state
whenever it changes (status, notes, an action result arriving as ActionCompleted, a claim, a re-route), not
when it doesn't, never the comment text, and note text as raw JSON for the browser's textContent."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from triage_api.dashboard.stream import flag_updates
from triage_api.flags import platform_actions
from triage_events import ActionCompleted, ActionKind, ActionStatus, Label

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import FakePublisher, make_app, running_desk
from tests.integration.test_desk_dashboard import sign_in

pytestmark = pytest.mark.integration

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


async def next_update(events: AsyncIterator[str]) -> dict[str, Any]:
    """The next `flag-update` message's data (heartbeats in between are skipped)."""
    while True:
        message = await asyncio.wait_for(anext(events), 10)
        if message.startswith(": keep-alive"):
            continue
        match = re.fullmatch(r"id: (\w+)\nevent: flag-update\ndata: (.*)\n\n", message, re.S)
        assert match, message
        data: dict[str, Any] = json.loads(match.group(2))
        assert data["version"] == match.group(1)
        return data


async def test_changes_to_a_flag_are_pushed_to_its_page(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = make_flag(comment=make_comment(text=f"clowns {XSS}"), labels=[Label.HOSTILE])
        desk.add_flags(flag)
        flag_id = str(flag.event_id)
        async with sign_in(desk, "moderator") as browser:
            page = (await browser.get(f"/flags/{flag_id}")).text
        match = re.search(r'data-version="(\w+)"', page)
        assert match and 'id="flag-live"' in page
        version = match.group(1)

        stop = asyncio.Event()
        factory = desk.app.state.sessionmaker
        events = flag_updates(factory, flag_id, stop.is_set, version=version, interval=0.05, heartbeat=0.2)
        assert await anext(events) == "retry: 3000\n\n"
        # Nothing changed since the page was rendered: only a heartbeat.
        assert await asyncio.wait_for(anext(events), 5) == ": keep-alive\n\n"

        moderator = desk.auth("moderator")
        r = await desk.client.post(
            f"/api/flags/{flag_id}/notes", json={"body": f"note {XSS}"}, headers=moderator
        )
        assert r.status_code == 201
        update = await next_update(events)
        assert [n["body"] for n in update["notes"]] == [f"note {XSS}"]  # raw: the page sets textContent
        assert update["audit"][0]["action"] == "flag.note" and update["status"] == "new"
        assert "clowns" not in json.dumps(update)  # the comment text is never part of it

        r = await desk.client.post(f"/api/flags/{flag_id}/hide", headers=moderator)
        assert r.status_code == 202, r.text
        update = await next_update(events)
        assert (update["status"], update["last_action"]) == ("in_review", "hide: requested")
        action_id = r.json()["id"]

        # The platform's answer arrives (what the ActionCompleted consumer applies).
        with factory() as db, db.begin():
            completed = ActionCompleted(
                request_id=UUID(action_id),
                action=ActionKind.HIDE,
                comment_key=flag.comment_key,
                status=ActionStatus.FAILED,
                error="rate limited",
            )
            assert platform_actions.record_completion(db, completed)
        update = await next_update(events)
        assert (update["last_action"], update["last_action_error"]) == ("hide: failed", "rate limited")
        assert update["audit"][0]["actor"] == "system:ingest"

        assert (await desk.client.post(f"/api/flags/{flag_id}/claim", headers=moderator)).is_success
        update = await next_update(events)
        assert update["claim"] == "moderator-user"
        r = await desk.client.post(f"/api/flags/{flag_id}/escalate", headers=moderator)
        update = await next_update(events)
        assert (update["status"], update["open"], update["team"]) == ("escalated", True, r.json()["team"])
        assert "flag.rerouted" in [e["action"] for e in update["audit"]]
        assert await asyncio.wait_for(anext(events), 5) == ": keep-alive\n\n"  # nothing repeated

        stop.set()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), 5)


async def test_the_flag_stream_needs_a_viewer_and_an_existing_flag(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        assert (await desk.client.get("/api/stream/flags/whatever")).status_code == 401
        r = await desk.client.get("/api/stream/flags/no-such-flag", headers=desk.auth("viewer"))
        assert r.status_code == 404

        # A fresh stream (no version) sends the state at once.
        flag = make_flag(labels=[Label.SPAM])
        desk.add_flags(flag)
        stop = asyncio.Event()
        events = flag_updates(desk.app.state.sessionmaker, str(flag.event_id), stop.is_set, interval=0.05)
        assert await anext(events) == "retry: 3000\n\n"
        update = await next_update(events)
        assert (update["id"], update["status"], update["severity"]) == (str(flag.event_id), "new", "medium")
        stop.set()
