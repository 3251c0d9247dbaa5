"""Storing flags idempotently and querying the queue."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session
from triage_events import FlagRaised, Severity

from triage_api.db import as_utc, insert_new, on_conflict_insert
from triage_api.flags.models import Flag, FlagLabel, FlagStatus
from triage_api.params import safe_link


def store_flags(
    db: Session, events: list[FlagRaised], inserted_events: list[FlagRaised] | None = None
) -> int:
    """Insert new flags in the caller's transaction; a comment already flagged is left as it is.

    Returns how many rows were inserted (and appends those events, in their order, to `inserted_events`, if
    given). Duplicate deliveries (at-least-once) insert nothing; of two verdicts on one comment in the same
    call, the first is inserted. Two statements whatever the number of events: the flags (one multi-row
    INSERT … ON CONFLICT DO NOTHING RETURNING) and their labels.
    """
    rows = [_row(event) for event in events]
    stored = [events[position] for position in insert_new(db, Flag, rows, "comment_key")]
    labels = [
        {"flag_id": str(event.event_id), "label": label.value} for event in stored for label in event.labels
    ]
    if labels:
        db.execute(on_conflict_insert(db, FlagLabel).on_conflict_do_nothing(), labels)
    if inserted_events is not None:
        inserted_events.extend(stored)
    return len(stored)


def verdict_fields(event: FlagRaised) -> dict[str, Any]:
    """What a classifier verdict sets on a flag: stored with a new flag, replaced by a newer verdict."""
    labels = [label.value for label in event.labels]
    severity = Severity(event.severity)
    return {
        "labels": labels,
        "primary_label": labels[0],
        "scores": {label.value: score for label, score in event.scores.items()},
        "severity": severity.value,
        "severity_rank": severity.rank,
        "evidence": [e.model_dump(mode="json") for e in event.evidence],
        "model_version": event.model_version,
        "suggested_templates": event.suggested_templates,
        "text": event.comment.text,
    }


def _row(event: FlagRaised) -> dict[str, object]:
    comment = event.comment
    return {
        "id": str(event.event_id),
        "comment_key": event.comment_key,
        "platform": event.platform.value,
        "account_id": event.account.id,
        "account_handle": event.account.handle,
        "platform_comment_id": comment.platform_comment_id,
        "kind": comment.kind.value,
        "author_id": comment.author.id,
        "author_handle": comment.author.handle or comment.author.display_name,
        "permalink": safe_link(comment.permalink),  # only http(s) links are kept: the desk shows it as one
        # UTC: SQLite keeps the wall-clock time and drops the offset, which would shift and misorder times.
        "commented_at": comment.created_at.astimezone(UTC),
        "flagged_at": event.occurred_at.astimezone(UTC),
        "comment_changed_at": event.changed_at.astimezone(UTC) if event.changed_at else None,
        "stored_at": datetime.now(UTC),
        **verdict_fields(event),
        "status": "new",
    }


@dataclass(frozen=True)
class FlagPosition:
    """Where a row sits in the queue's order (newest first: `flagged_at` descending, then `id` descending)."""

    flagged_at: datetime
    id: str

    @classmethod
    def of(cls, flag: Flag) -> FlagPosition:
        return cls(as_utc(flag.flagged_at), flag.id)


@dataclass(frozen=True)
class FlagQuery:
    label: str | None = None
    status: str | None = None
    severity: str | None = None
    platform: str | None = None
    account: str | None = None
    assignee: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0  # kept for existing clients; O(offset) in the database, prefer `after`
    after: FlagPosition | None = None  # keyset pagination: the rows strictly after this one in the order

    def fingerprint(self) -> str:
        """A short digest of the filters (not the position or the page size), bound into every cursor."""
        parts = [
            self.label, self.status, self.severity, self.platform, self.account, self.assignee, self.team,
            as_utc(self.since).isoformat() if self.since else None,
            as_utc(self.until).isoformat() if self.until else None,
            self.text,
        ]  # fmt: skip
        digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()


# --- cursors ---------------------------------------------------------------------------------------------

CURSOR_VERSION = 1
CURSOR_MAX_LENGTH = 300
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"  # base64url without padding


class InvalidCursor(ValueError):
    """A cursor that was not issued for this listing (mangled, forged, or from other filters)."""


def encode_cursor(position: FlagPosition, query: FlagQuery) -> str:
    """An opaque cursor: the position's sort key and the filters' fingerprint, as base64url JSON.

    Not secret and not signed: it only says where to resume, which `until` could say as well. It is
    validated strictly instead (shape, types, and the filters it was issued for).
    """
    payload = {
        "v": CURSOR_VERSION,
        "t": as_utc(position.flagged_at).isoformat(),
        "i": position.id,
        "f": query.fingerprint(),
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query: FlagQuery) -> FlagPosition:
    """The position a cursor from `encode_cursor` names; `InvalidCursor` for anything else."""
    if not cursor or len(cursor) > CURSOR_MAX_LENGTH or not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor("not a cursor from this API (expected the next_cursor of a previous page)")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            "not a cursor from this API (expected the next_cursor of a previous page)"
        ) from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "t", "i", "f"}:
        raise InvalidCursor("not a cursor from this API (expected the next_cursor of a previous page)")
    if payload["v"] != CURSOR_VERSION:
        raise InvalidCursor("this cursor comes from another version of the API; start from the first page")
    flag_id, stamp = payload["i"], payload["t"]
    if not isinstance(flag_id, str) or not 0 < len(flag_id) <= 36 or "\x00" in flag_id:
        raise InvalidCursor("the cursor's flag id is malformed")
    try:
        flagged_at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        flagged_at = None
    if flagged_at is None or flagged_at.tzinfo is None:
        raise InvalidCursor("the cursor's time is malformed")
    if payload["f"] != query.fingerprint():
        raise InvalidCursor(
            "the cursor belongs to a listing with other filters; keep the filters while paging, or start over"
        )
    return FlagPosition(flagged_at.astimezone(UTC), flag_id)


# --- listing ---------------------------------------------------------------------------------------------

# Counts stop here: "1,000+" costs a bounded scan whatever the table's size, an exact count a full one. At
# 100,000 flags (EXPLAIN ANALYZE on the bench data) a two-filter count to 10,000 took 45-80 ms; to 1,000, 2-17 ms.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class Count:
    """A count that stops at a cap: `capped` means "more than `value`"."""

    value: int
    capped: bool = False

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


@dataclass(frozen=True)
class FlagListing:
    rows: list[Flag]
    total: Count
    has_more: bool
    next_position: FlagPosition | None


def _filtered(query: FlagQuery, statement: Select) -> Select:  # type: ignore[type-arg]
    if query.label:
        statement = statement.where(
            Flag.id.in_(select(FlagLabel.flag_id).where(FlagLabel.label == query.label))
        )
    if query.status:
        statement = statement.where(Flag.status == query.status)
    if query.severity:
        statement = statement.where(Flag.severity == query.severity)
    if query.platform:
        statement = statement.where(Flag.platform == query.platform)
    if query.account:
        statement = statement.where(
            or_(Flag.account_id == query.account, Flag.account_handle == query.account)
        )
    if query.assignee:
        statement = statement.where(Flag.assignee == query.assignee)
    if query.team:
        statement = statement.where(Flag.team == query.team)
    if query.since:
        statement = statement.where(Flag.flagged_at >= query.since.astimezone(UTC))
    if query.until:
        statement = statement.where(Flag.flagged_at < query.until.astimezone(UTC))
    if query.text:
        # A literal substring, case-insensitive: LIKE wildcards in the search are escaped. On PostgreSQL
        # a trigram index (migration 0005) serves it; SQLite scans.
        needle = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Flag.text.ilike(f"%{needle}%", escape="\\"))
    return statement


def count_flags(db: Session, query: FlagQuery, cap: int | None = None) -> Count:
    """How many flags match, counting at most `cap + 1` of them (an index scan bounded by the cap)."""
    cap = COUNT_CAP if cap is None else cap
    matching = _filtered(query, select(literal(1)).select_from(Flag)).limit(cap + 1).subquery()
    counted = db.scalar(select(func.count()).select_from(matching)) or 0
    return Count(cap, capped=True) if counted > cap else Count(counted)


def page_statement(query: FlagQuery) -> Select:  # type: ignore[type-arg]
    """One page in the queue's order (`flagged_at`, then `id`, both descending), plus one row to tell whether
    more follow: from `query.after` when given (keyset: the same index range scan at any depth), else from
    `query.offset` rows in (the database reads and drops them all)."""
    statement = _filtered(query, select(Flag))
    if query.after is not None:
        after = query.after
        statement = statement.where(tuple_(Flag.flagged_at, Flag.id) < tuple_(after.flagged_at, after.id))
    elif query.offset:
        statement = statement.offset(query.offset)
    return statement.order_by(Flag.flagged_at.desc(), Flag.id.desc()).limit(query.limit + 1)


def list_flags(db: Session, query: FlagQuery, *, count: bool = True) -> FlagListing:
    """A page of the queue (see `page_statement`), with the matching count bounded by `COUNT_CAP`."""
    rows = list(db.scalars(page_statement(query)).all())
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    return FlagListing(
        rows=rows,
        total=count_flags(db, query) if count else Count(0),
        has_more=has_more,
        next_position=FlagPosition.of(rows[-1]) if has_more else None,
    )


def get_flag(db: Session, flag_id: str) -> Flag | None:
    return db.get(Flag, flag_id)


def counts_by_status(db: Session, cap: int | None = None) -> dict[str, Count]:
    """Flags per status, each counted to at most `cap + 1` (one bounded index scan per status, one query);
    statuses without flags are left out."""
    cap = COUNT_CAP if cap is None else cap
    columns = [
        select(func.count())
        .select_from(select(literal(1)).where(Flag.status == status.value).limit(cap + 1).subquery())
        .scalar_subquery()
        .label(status.value)
        for status in FlagStatus
    ]
    row = db.execute(select(*columns)).one()
    counts = {
        status.value: Count(cap, capped=True) if n > cap else Count(n)
        for status, n in zip(FlagStatus, row, strict=True)
    }
    return {status: count for status, count in counts.items() if count}
