"""Server-Sent Events: flags pushed to the dashboard's queue as they are stored or updated, and the changes of
one flag pushed to its open flag page.

The queue's stream (`/api/stream`) follows `Flag.updated_at`: a flag is sent when it is stored, and again
when a newer verdict relabels it or it is re-routed or its severity raised (with its new labels, severity
and SLA due time); `change` says which (`new` or `updated`), and the queue replaces a row it already shows.

Each connection polls the database (for flags stored after its cursor, or for the state of its flag), so any
replica can serve any browser (nothing lives in process memory that another replica would need). The
browser inserts the fields with `textContent`, so comment text is never interpreted as HTML.

A flag page's stream (`/api/stream/flags/{id}`) sends the flag's whole moderation state (status, severity,
team, assignee, claim, last action and its error, SLA due time, notes, audit trail, pending approvals, the
replies' progress) as
`event: flag-update` whenever it differs from the version the page has: every change to a flag writes an
audit entry, so a status change, an assignment, an action result arriving as `ActionCompleted`, a note or
any new audit entry is seen within a poll. State rather than deltas: a transaction that commits late is
never skipped. The comment text is not part of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage_api import sse
from triage_api.audit.service import AuditQuery, list_events
from triage_api.db import as_utc
from triage_api.deps import ViewerDep
from triage_api.flags import claims, notes, platform_actions, sla
from triage_api.flags.models import ActionState, Flag
from triage_api.sse import HEARTBEAT_SECONDS

router = APIRouter(prefix="/api", tags=["stream"])


def _updated(flag: Flag) -> datetime:
    return as_utc(flag.updated_at or flag.stored_at)


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
        "language": flag.language,  # null: not identified
        "flagged_at": as_utc(flag.flagged_at).isoformat(),
        "due_at": flag.due_at.isoformat(),
        "open": flag.status in sla.OPEN_STATUSES,
        "change": "new" if _updated(flag) == as_utc(flag.stored_at) else "updated",
    }


def event_id(flag: Flag) -> str:
    """The SSE id of a flag's message: its id and the update it carries, so a reconnect resumes there."""
    return f"{flag.id}@{_updated(flag).isoformat()}"


def newer_than(db: Session, cursor: datetime) -> Sequence[Flag]:
    """Flags updated at or after `cursor`, oldest update first (`sse.follow` skips those it sent already at
    `cursor` itself; a flag updated again later is sent again)."""
    return db.scalars(
        select(Flag).where(Flag.updated_at >= cursor).order_by(Flag.updated_at, Flag.id).limit(200)
    ).all()


def _message(flag: Flag) -> str:
    return f"id: {event_id(flag)}\nevent: flag\ndata: {json.dumps(payload(flag))}\n\n"


def flag_events(
    factory: sessionmaker[Session],
    since: datetime,
    disconnected: Callable[[], object],
    interval: float = 1.0,
    heartbeat: float = HEARTBEAT_SECONDS,
    seen: set[str] | None = None,
) -> AsyncIterator[str]:
    """`event: flag` messages for flags stored or updated from `since` on (except those in `seen` updated at
    `since` itself), and a comment line as a heartbeat."""
    return sse.follow(
        factory,
        newer_than,
        _updated,
        _message,
        disconnected,
        since,
        seen=seen,
        interval=interval,
        heartbeat=heartbeat,
    )


@router.get("/stream")
async def stream(request: Request, _: ViewerDep, since: datetime | None = None) -> StreamingResponse:
    """Flags stored or updated, as Server-Sent Events (`event: flag`, JSON data), from now, from `since`, or
    after the message named by the `Last-Event-ID` header."""
    factory = request.app.state.sessionmaker
    start = as_utc(since) if since else datetime.now(UTC)
    seen: set[str] = set()
    # A reconnecting browser sends the id of the last message it got (`event_id`: flag id @ update time):
    # resume from that update, so nothing stored or updated during the reconnect is missed.
    last = request.headers.get("last-event-id", "")[:100]
    if last and "\x00" not in last:
        flag_id, _at, stamp = last.partition("@")
        resumed = _resume_time(stamp)
        if resumed is not None:
            start, seen = resumed, {flag_id}
        else:  # an id without a time (from before 0006): the flag's own last update
            with factory() as db:
                previous = db.get(Flag, flag_id[:36])
            if previous is not None:
                start, seen = _updated(previous), {previous.id}
    return sse.response(flag_events(factory, start, request.is_disconnected, seen=seen))


def _resume_time(stamp: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None
    return at.astimezone(UTC) if at is not None and at.tzinfo is not None else None


# --- one flag's changes, for its open page -----------------------------------------------------------------

AUDIT_SHOWN = 200  # the flag page shows this many audit entries, newest first


@dataclass(frozen=True)
class FlagState:
    version: str
    data: dict[str, Any]


def audit_detail(detail: dict[str, Any]) -> str:
    """An audit entry's detail as the flag page shows it (key=value, set values only)."""
    return " ".join(f"{k}={v}" for k, v in sorted(detail.items()) if v is not None)


def _stamp(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def flag_state(db: Session, flag_id: str) -> FlagState | None:
    """A flag's moderation state as its page shows it, and a version that changes whenever the state does.
    None when there is no such flag."""
    flag = None if "\x00" in flag_id else db.get(Flag, flag_id)
    if flag is None:
        return None
    events, _ = list_events(db, AuditQuery(flag_id=flag_id, limit=AUDIT_SHOWN))
    due = flag.due_at
    claimed_until = as_utc(flag.claimed_until) if flag.claimed_until else None
    data: dict[str, Any] = {
        "id": flag.id,
        "status": flag.status,
        "open": flag.status in sla.OPEN_STATUSES,
        "severity": flag.severity,
        "team": flag.team,
        "assignee": flag.assignee,
        "claim": claims.claim_holder(flag),
        "claimed_until": claimed_until.isoformat() if claimed_until else None,
        "last_action": flag.last_action,
        "last_action_error": flag.last_action_error,
        "due_at": due.isoformat(),
        "notes": [
            {
                "author": n.author,
                "at": as_utc(n.at).strftime("%Y-%m-%d %H:%M"),
                "body": n.body,
            }
            for n in notes.notes(db, flag_id)
        ],
        "audit": [
            {
                "id": e.id,
                "at": _stamp(e.at),
                "actor": e.actor,
                "action": e.action,
                "detail": audit_detail(e.detail),
            }
            for e in events
        ],
        "pending": sorted(
            a.id for a in platform_actions.actions(db, flag_id) if a.status == ActionState.PENDING_APPROVAL
        ),
        # The replies' progress (their text is on the page already: staff text, never the comment's).
        "replies": [
            {"id": a.id, "status": a.status, "error": a.error}
            for a in platform_actions.actions(db, flag_id)
            if a.action in ("reply", "private_reply")
        ],
    }
    # The claim expiring is a change too, so the version covers who holds it now (not only the columns).
    version = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return FlagState(
        version, {**data, "version": version, "breached": data["open"] and due < datetime.now(UTC)}
    )


def _state(factory: sessionmaker[Session], flag_id: str) -> FlagState | None:
    with factory() as db:
        return flag_state(db, flag_id)


async def flag_updates(
    factory: sessionmaker[Session],
    flag_id: str,
    disconnected: Callable[[], object],
    version: str | None = None,
    interval: float = 1.0,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[str]:
    """`event: flag-update` with the flag's state whenever it differs from `version` (the page's), a comment
    line as a heartbeat, and `event: gone` (then the end) if the flag disappears."""
    quiet = 0.0
    yield sse.RETRY
    while not await sse.client_gone(disconnected):
        state = await asyncio.to_thread(_state, factory, flag_id)
        if state is None:
            yield "event: gone\ndata: {}\n\n"
            return
        if state.version != version:
            version, quiet = state.version, 0.0
            yield f"id: {state.version}\nevent: flag-update\ndata: {json.dumps(state.data)}\n\n"
        else:
            quiet += interval
        if quiet >= heartbeat:
            quiet = 0.0
            yield sse.KEEP_ALIVE
        await asyncio.sleep(interval)


@router.get("/stream/flags/{flag_id}")
async def flag_stream(
    flag_id: str, request: Request, _: ViewerDep, version: str | None = None
) -> StreamingResponse:
    """One flag's changes as Server-Sent Events (`event: flag-update`, JSON data with its whole moderation
    state, never the comment text), sent when the state differs from `version` or from the version named
    by the `Last-Event-ID` header of a reconnecting browser."""
    factory = request.app.state.sessionmaker
    if await asyncio.to_thread(_state, factory, flag_id) is None:
        raise HTTPException(404, f"no flag with id {flag_id}")
    last = request.headers.get("last-event-id", "")[:64] or version
    return sse.response(flag_updates(factory, flag_id, request.is_disconnected, version=last))
