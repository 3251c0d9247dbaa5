"""Server-Sent Events that follow a table by when its rows were stored or updated (the live queue, All
comments): each poll reads the rows at or after the cursor, skips those already sent at the cursor's own time,
and sends a comment line as a heartbeat when nothing moved for a while. No comment text is logged here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from triage_api.db import as_utc

HEARTBEAT_SECONDS = 15.0
RETRY = "retry: 3000\n\n"
KEEP_ALIVE = ": keep-alive\n\n"


class Row(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=Row)


def response(events: AsyncIterator[str]) -> StreamingResponse:
    """The streaming response that carries `events`: never cached, never buffered by a proxy."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def client_gone(disconnected: Callable[[], object]) -> bool:
    """Whether the client has gone: `disconnected` is the request's coroutine function, or a plain callable."""
    result = disconnected()
    if asyncio.iscoroutine(result):
        result = await result
    return bool(result)


async def follow(
    factory: sessionmaker[Session],
    newer: Callable[[Session, datetime], Sequence[R]],
    updated: Callable[[R], datetime],
    message: Callable[[R], str],
    disconnected: Callable[[], object],
    since: datetime,
    *,
    seen: set[str] | None = None,
    interval: float = 1.0,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[str]:
    """`message` for each row `newer` returns at or after the cursor (from `since` on), oldest first, except
    those sent already at the cursor's own time (at first, those in `seen` updated at `since` itself).
    `newer` is blocking: it runs in a thread, in a session of its own. `updated` is a row's place in that
    order."""

    def poll(cursor: datetime) -> Sequence[R]:
        with factory() as db:
            return newer(db, cursor)

    cursor, sent = as_utc(since), set(seen or ())
    quiet = 0.0
    yield RETRY
    while not await client_gone(disconnected):
        rows = [
            row
            for row in await asyncio.to_thread(poll, cursor)
            if not (row.id in sent and updated(row) == cursor)
        ]
        for row in rows:
            at = updated(row)
            if at > cursor:
                cursor, sent = at, set()
            sent.add(row.id)
            yield message(row)
        quiet = 0.0 if rows else quiet + interval
        if quiet >= heartbeat:
            quiet = 0.0
            yield KEEP_ALIVE
        await asyncio.sleep(interval)
