"""Server-Sent Events: new flags pushed to the dashboard as they are stored.

Each connection polls the database for flags stored after its cursor, so any replica can serve any
browser (nothing lives in process memory that another replica would need). The browser inserts the
fields with `textContent`, so comment text is never interpreted as HTML.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage_api.deps import ViewerDep
from triage_api.flags import sla
from triage_api.flags.models import Flag

router = APIRouter(prefix="/api", tags=["stream"])
HEARTBEAT_SECONDS = 15.0


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def payload(flag: Flag) -> dict[str, object]:
    return {
        "id": flag.id,
        "severity": flag.severity,
        "labels": flag.labels,
        "status": flag.status,
        "platform": flag.platform,
        "account_handle": flag.account_handle,
        "author_handle": flag.author_handle,
        "text": flag.text or "",
        "flagged_at": _aware(flag.flagged_at).isoformat(),
        "due_at": sla.due_at(flag.flagged_at, flag.severity).isoformat(),
    }


def newer_than(factory: sessionmaker[Session], cursor: datetime, seen: set[str]) -> list[Flag]:
    with factory() as db:
        rows = db.scalars(
            select(Flag).where(Flag.stored_at >= cursor).order_by(Flag.stored_at, Flag.id).limit(200)
        ).all()
    return [r for r in rows if r.id not in seen]


async def flag_events(
    factory: sessionmaker[Session],
    since: datetime,
    disconnected: Callable[[], object],
    interval: float = 1.0,
    heartbeat: float = HEARTBEAT_SECONDS,
    seen: set[str] | None = None,
) -> AsyncIterator[str]:
    """`event: flag` messages for flags stored from `since` on (except those in `seen`), and a comment line
    as a heartbeat."""
    cursor, seen = _aware(since), set(seen or ())
    quiet = 0.0
    yield "retry: 3000\n\n"
    while True:
        result = disconnected()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        rows = await asyncio.to_thread(newer_than, factory, cursor, seen)
        for flag in rows:
            stored = _aware(flag.stored_at)
            if stored > cursor:
                cursor, seen = stored, set()
            seen.add(flag.id)
            yield f"id: {flag.id}\nevent: flag\ndata: {json.dumps(payload(flag))}\n\n"
        quiet = 0.0 if rows else quiet + interval
        if quiet >= heartbeat:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(interval)


@router.get("/stream")
async def stream(request: Request, _: ViewerDep, since: datetime | None = None) -> StreamingResponse:
    """New flags as Server-Sent Events (`event: flag`, JSON data), from now, from `since`, or after the
    flag named by the `Last-Event-ID` header."""
    factory = request.app.state.sessionmaker
    start = _aware(since) if since else datetime.now(UTC)
    seen: set[str] = set()
    # A reconnecting browser sends the id of the last flag it got: resume from there, so nothing stored
    # during the reconnect is missed.
    last = request.headers.get("last-event-id", "")
    if last and "\x00" not in last:
        with factory() as db:
            previous = db.get(Flag, last[:36])
        if previous is not None:
            start, seen = _aware(previous.stored_at), {previous.id}
    return StreamingResponse(
        flag_events(factory, start, request.is_disconnected, seen=seen),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
