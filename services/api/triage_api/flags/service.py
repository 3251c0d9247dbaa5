"""Storing flags idempotently and querying the queue."""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import InstrumentedAttribute, Session
from triage_events import CommentJudged, FlagRaised, Severity

from triage_api.db import as_utc, insert_new, on_conflict_insert
from triage_api.flags import sla
from triage_api.flags.models import Flag, FlagLabel, FlagStatus
from triage_api.params import safe_link
from triage_api.staff.models import User


def store_flags(
    db: Session,
    events: list[FlagRaised],
    inserted_events: list[FlagRaised] | None = None,
    *,
    targets: sla.Targets = sla.DEFAULT,
) -> int:
    """Insert new flags in the caller's transaction; a comment already flagged is left as it is. Each is due
    its flagged time plus its severity's target in `targets` (the app passes its configured ones).

    Returns how many rows were inserted (and appends those events, in their order, to `inserted_events`, if
    given). Duplicate deliveries (at-least-once) insert nothing; of two verdicts on one comment in the same
    call, the first is inserted. Two statements whatever the number of events: the flags (one multi-row
    INSERT … ON CONFLICT DO NOTHING RETURNING) and their labels.
    """
    rows = [flag_row(event, targets) for event in events]
    inserted = insert_new(db, Flag, rows, "comment_key")
    # Each label row copies its flag row's id and flagged time (migration 0014).
    labels = [
        {"flag_id": rows[position]["id"], "label": label.value, "flagged_at": rows[position]["flagged_at"]}
        for position in inserted
        for label in events[position].labels
    ]
    if labels:
        db.execute(on_conflict_insert(db, FlagLabel).on_conflict_do_nothing(), labels)
    if inserted_events is not None:
        inserted_events.extend(events[position] for position in inserted)
    return len(inserted)


def verdict_fields(event: FlagRaised) -> dict[str, Any]:
    """What a classifier verdict sets on a flag: stored with a new flag, replaced by a newer verdict."""
    labels = [label.value for label in event.labels]
    severity = Severity(event.severity)
    return {
        "labels": labels,
        # A flag with no label is one the classifier could not read (`review_reason`, e.g. a language it does
        # not cover): a person reads it.
        "primary_label": labels[0] if labels else "needs_review",
        "scores": {label.value: score for label, score in event.scores.items()},
        "severity": severity.value,
        "severity_rank": severity.rank,
        "evidence": [e.model_dump(mode="json") for e in event.evidence],
        "model_version": event.model_version,
        "suggested_templates": event.suggested_templates,
        "text": event.comment.text,
        "language": event_language(event),
    }


# A language tag as the classifier or a platform writes it ("es", "und", "zh-Hant"): what fits `flags.language`.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})?")


def event_language(event: FlagRaised | CommentJudged) -> str | None:
    """The comment's language: the one the classifier identified in the text, else the platform's; None when
    neither could tell, or when what was given is not a language tag that fits the column (never cut)."""
    language = event.language or event.comment.language
    return language if language and len(language) <= 16 and _LANGUAGE_TAG.fullmatch(language) else None


def comment_columns(event: FlagRaised | CommentJudged) -> dict[str, object]:
    """The columns a stored flag and a stored comment share: which comment, where, by whom, and its context."""
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
        # Platform ids that don't fit the column are dropped (the context they give is optional), never cut.
        "parent_comment_id": _short_id(comment.parent_id),
        "thread_id": _short_id(comment.thread_id),
    }


def flag_row(event: FlagRaised, targets: sla.Targets) -> dict[str, object]:
    """The `flags` row a raised flag is stored as (its labels go to `flag_labels`), due by `targets`."""
    return {
        **comment_columns(event),
        "flagged_at": event.occurred_at.astimezone(UTC),
        "sla_due_at": targets.due_at(event.occurred_at, event.severity.value),
        "comment_changed_at": event.changed_at.astimezone(UTC) if event.changed_at else None,
        "stored_at": datetime.now(UTC),
        **verdict_fields(event),
        "status": "new",
    }


class QueueOrder(enum.StrEnum):
    """The queue's orders. Each has its own sort key and index, so every page is one index range scan."""

    PRIORITY = "priority"  # what needs a human first: open flags, then severity, then the soonest due time
    NEWEST = "newest"  # flagged time, newest first (the listing's only order until migration 0009)
    OLDEST = "oldest"  # flagged time, oldest first
    DUE = "due"  # open flags first, then the soonest due time


ORDER_TITLES = {
    QueueOrder.PRIORITY: "Needs a human first",
    QueueOrder.NEWEST: "Newest first",
    QueueOrder.OLDEST: "Oldest first",
    QueueOrder.DUE: "Due soonest",
}
# The desk's order for someone who never chose one. `GET /api/flags` without `order` keeps its historical order
# (newest first) for a user without a stored choice, so existing scripts page as before.
DESK_DEFAULT_ORDER = QueueOrder.PRIORITY
API_DEFAULT_ORDER = QueueOrder.NEWEST

# 1 for a flag that still needs someone (an open status), else 0. Written out as literal SQL, the same text as
# the expression indexes of migration 0009, so PostgreSQL and SQLite match the query's sort to those indexes.
OPEN_SQL = "(CASE WHEN status IN ({}) THEN 1 ELSE 0 END)".format(
    ", ".join(f"'{status}'" for status in sorted(sla.OPEN_STATUSES))
)
OPEN_RANK = literal_column(OPEN_SQL, Integer)


def _short_id(value: str | None) -> str | None:
    return value if value and len(value) <= 256 and "\x00" not in value else None


def known_order(stored: str | None) -> QueueOrder | None:
    """A stored queue order (`users.queue_order`) as a `QueueOrder`; None when never chosen, or unknown to this
    version. The principal's lookup reads it with the rest (`Principal.queue_order`): no query of its own."""
    return QueueOrder(stored) if stored is not None and stored in QueueOrder.__members__.values() else None


def set_preferred_order(db: Session, user_id: int, order: QueueOrder) -> None:
    """Remember a person's queue order, in the caller's transaction."""
    db.execute(update(User).where(User.id == user_id).values(queue_order=order.value))


@dataclass(frozen=True)
class FlagPosition:
    """Where a row sits in one of the queue's orders: its sort key in that order. Newest first is
    (`flagged_at`, `id`) descending; oldest first the same ascending; needs-a-human-first is open flags first,
    then `severity_rank` descending, then `sla_due_at` and `id` ascending; due soonest is open flags first,
    then `sla_due_at` and `id` ascending."""

    flagged_at: datetime
    id: str
    order: QueueOrder = QueueOrder.NEWEST
    open: int = 0
    severity_rank: int = 0
    due_at: datetime | None = None

    @classmethod
    def of(cls, flag: Flag | Row[Any], order: QueueOrder = QueueOrder.NEWEST) -> FlagPosition:
        """The position of a flag, or of a row with at least `POSITION_COLUMNS`."""
        if flag.sla_due_at is not None:
            due = as_utc(flag.sla_due_at)
        else:  # as `Flag.due_at`
            due = sla.DEFAULT.due_at(flag.flagged_at, flag.severity)
        is_open = int(flag.status in sla.OPEN_STATUSES)
        return cls(as_utc(flag.flagged_at), flag.id, order, is_open, flag.severity_rank, due)

    def values(self) -> list[object]:
        """The sort key's values, in the order of `sort_keys(self.order)`."""
        if self.order in (QueueOrder.NEWEST, QueueOrder.OLDEST):
            return [self.flagged_at, self.id]
        if self.order is QueueOrder.PRIORITY:
            return [self.open, self.severity_rank, self.due_at, self.id]
        return [self.open, self.due_at, self.id]


def sort_keys(order: QueueOrder) -> list[tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]]:
    """The columns an order sorts by, each with whether it is descending."""
    if order is QueueOrder.NEWEST:
        return [(Flag.flagged_at, True), (Flag.id, True)]
    if order is QueueOrder.OLDEST:
        return [(Flag.flagged_at, False), (Flag.id, False)]
    if order is QueueOrder.PRIORITY:
        return [(OPEN_RANK, True), (Flag.severity_rank, True), (Flag.sla_due_at, False), (Flag.id, False)]
    return [(OPEN_RANK, True), (Flag.sla_due_at, False), (Flag.id, False)]


def _after(position: FlagPosition, keys: list[tuple[Any, bool]]) -> ColumnElement[bool]:
    """Rows strictly after `position` in its order, sorted by `keys` (its order's). One row comparison where
    every key runs the same way (the index range scan of migration 0005); otherwise the lexicographic
    expansion: a smaller first key, or an equal one and a smaller second key, and so on."""
    bounds = [literal(v, c.type) for (c, _), v in zip(keys, position.values(), strict=True)]
    if len({descending for _, descending in keys}) == 1:
        row, bound = tuple_(*(c for c, _ in keys)), tuple_(*bounds)
        return row < bound if keys[0][1] else row > bound
    terms = []
    for i, ((column, descending), value) in enumerate(zip(keys, bounds, strict=True)):
        equal_before = [c == v for (c, _), v in zip(keys[:i], bounds[:i], strict=True)]
        terms.append(and_(*equal_before, column < value if descending else column > value))
    return or_(*terms)


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
    order: QueueOrder = QueueOrder.NEWEST

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


# The keys a cursor carries beyond the version, time, id and filters, per order. A newest-first cursor is
# exactly what it was before the other orders existed (no order key), so cursors already handed out still work.
_CURSOR_EXTRA: dict[QueueOrder, tuple[str, ...]] = {
    QueueOrder.NEWEST: (),
    QueueOrder.OLDEST: ("o",),
    QueueOrder.PRIORITY: ("o", "p", "r", "d"),
    QueueOrder.DUE: ("o", "p", "d"),
}
_NOT_A_CURSOR = "not a cursor from this API (expected the next_cursor of a previous page)"


def encode_cursor(position: FlagPosition, query: FlagQuery) -> str:
    """An opaque cursor: the position's order and sort key and the filters' fingerprint, as base64url JSON.

    Not secret and not signed: it only says where to resume, which `until` could say as well. It is
    validated strictly instead (shape, types, and the filters it was issued for).
    """
    payload: dict[str, object] = {
        "v": CURSOR_VERSION,
        "t": as_utc(position.flagged_at).isoformat(),
        "i": position.id,
        "f": query.fingerprint(),
    }
    extra = {
        "o": position.order.value,
        "p": position.open,
        "r": position.severity_rank,
        "d": as_utc(position.due_at).isoformat() if position.due_at else None,
    }
    payload.update({key: extra[key] for key in _CURSOR_EXTRA[position.order]})
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _payload(cursor: str) -> dict[str, Any]:
    if not cursor or len(cursor) > CURSOR_MAX_LENGTH or not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor(_NOT_A_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(_NOT_A_CURSOR) from exc
    if not isinstance(payload, dict):
        raise InvalidCursor(_NOT_A_CURSOR)
    return payload


def cursor_order(cursor: str) -> QueueOrder:
    """The order a cursor was issued for (newest first for anything unreadable: `decode_cursor` then says
    what is wrong with it)."""
    try:
        order = _payload(cursor).get("o", QueueOrder.NEWEST.value)
        return QueueOrder(order) if isinstance(order, str) else QueueOrder.NEWEST
    except (InvalidCursor, ValueError):
        return QueueOrder.NEWEST


def _time(value: object, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidCursor(f"the cursor's {what} is malformed")
    return at.astimezone(UTC)


def decode_cursor(cursor: str, query: FlagQuery) -> FlagPosition:
    """The position a cursor from `encode_cursor` names; `InvalidCursor` for anything else, or for a cursor of
    another order than `query.order`."""
    payload = _payload(cursor)
    named = payload.get("o", QueueOrder.NEWEST.value)
    order = QueueOrder(named) if isinstance(named, str) and named in QueueOrder.__members__.values() else None
    if order is None or ("o" in payload) == (order is QueueOrder.NEWEST):
        raise InvalidCursor(_NOT_A_CURSOR)
    if set(payload) != {"v", "t", "i", "f", *_CURSOR_EXTRA[order]}:
        raise InvalidCursor(_NOT_A_CURSOR)
    if payload["v"] != CURSOR_VERSION:
        raise InvalidCursor("this cursor comes from another version of the API; start from the first page")
    flag_id = payload["i"]
    if not isinstance(flag_id, str) or not 0 < len(flag_id) <= 36 or "\x00" in flag_id:
        raise InvalidCursor("the cursor's flag id is malformed")
    flagged_at = _time(payload["t"], "time")
    is_open, rank, due = payload.get("p", 0), payload.get("r", 0), None
    if type(is_open) is not int or is_open not in (0, 1) or type(rank) is not int or not 0 <= rank <= 3:
        raise InvalidCursor("the cursor's sort key is malformed")
    if "d" in payload:
        due = _time(payload["d"], "due time")
    if payload["f"] != query.fingerprint():
        raise InvalidCursor(
            "the cursor belongs to a listing with other filters; keep the filters while paging, or start over"
        )
    if order is not query.order:
        raise InvalidCursor(
            f"the cursor belongs to the {order.value} order, not {query.order.value}; keep the order while "
            "paging, or start over"
        )
    return FlagPosition(flagged_at, flag_id, order, is_open, rank, due)


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


# What a row needs for its position in any order (`FlagPosition.of`): a listing that reads columns rather than
# whole flags (`list_flags(columns=...)`) includes these.
POSITION_COLUMNS = (
    Flag.id,
    Flag.flagged_at,
    Flag.status,
    Flag.severity,
    Flag.severity_rank,
    Flag.sla_due_at,
)


@dataclass(frozen=True)
class FlagListing:
    rows: list[Any]  # `Flag`s, or rows of the columns asked for
    total: Count
    has_more: bool
    next_cursor: str | None  # where the next page starts (`encode_cursor`); None on the last page


def _label_rows(query: FlagQuery) -> list[ColumnElement[bool]]:
    """The label rows of `query.label`, and of `query.status` when given (the rows carry their flag's status,
    migration 0013)."""
    conditions = [FlagLabel.label == query.label]
    if query.status:
        conditions.append(FlagLabel.status == query.status)
    return conditions


def _by_label(query: FlagQuery) -> bool:
    """Whether a page walks the label rows' index (migration 0014) rather than the flags': one label, in flagged
    time. The label's rows then come in the page's order; filtering `flags` by the label would have to find
    them all and sort them (tens of thousands at 1,000,000 flags)."""
    return bool(query.label) and query.order in (QueueOrder.NEWEST, QueueOrder.OLDEST)


def _filtered(query: FlagQuery, statement: Select) -> Select:  # type: ignore[type-arg]
    if query.label:
        statement = statement.where(Flag.id.in_(select(FlagLabel.flag_id).where(*_label_rows(query))))
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


def _no_filter(query: FlagQuery) -> FlagQuery:
    """`query` without its filters: what a query with no filter compares equal to, whatever its page."""
    return FlagQuery(limit=query.limit, order=query.order)


def count_flags(db: Session, query: FlagQuery, cap: int | None = None) -> Count:
    """How many flags match, counting at most `cap + 1` of them (an index scan bounded by the cap)."""
    cap = COUNT_CAP if cap is None else cap
    return _capped(db.scalar(_count_statement(query, cap)) or 0, cap)


def _count_statement(query: FlagQuery, cap: int) -> Select:  # type: ignore[type-arg]
    """The number of matching flags, up to `cap + 1`."""
    if query.label and replace(query, label=None, status=None, after=None, offset=0) == _no_filter(query):
        # A label, with or without a status: counted in the label rows' index alone (migration 0013).
        matching = select(literal(1)).select_from(FlagLabel).where(*_label_rows(query))
    else:
        matching = _filtered(query, select(literal(1)).select_from(Flag))
    return select(func.count()).select_from(matching.limit(cap + 1).subquery())


def _capped(counted: int, cap: int) -> Count:
    return Count(cap, capped=True) if counted > cap else Count(counted)


def page_statement(query: FlagQuery, columns: Sequence[InstrumentedAttribute[Any]] = ()) -> Select:  # type: ignore[type-arg]
    """One page in the query's order (`sort_keys`), plus one row to tell whether more follow: from
    `query.after` when given (keyset: the same index range scan at any depth), else from `query.offset` rows
    in (the database reads and drops them all). Whole flags, or only `columns` when given."""
    statement = select(*columns) if columns else select(Flag)
    keys = sort_keys(query.order)
    if _by_label(query):
        # The label's rows in flagged time, each joined to its flag; `flag_labels.flagged_at` and `flag_id` are
        # the flag's own `flagged_at` and `id`, so the order and the cursors are the same.
        statement = statement.select_from(FlagLabel).join(Flag, Flag.id == FlagLabel.flag_id)
        statement = _filtered(replace(query, label=None, status=None), statement.where(*_label_rows(query)))
        newest = query.order is QueueOrder.NEWEST
        keys = [(FlagLabel.flagged_at, newest), (FlagLabel.flag_id, newest)]
    else:
        statement = _filtered(query, statement)
    if query.after is not None:
        statement = statement.where(_after(query.after, keys))
    elif query.offset:
        statement = statement.offset(query.offset)
    ordering = [column.desc() if descending else column.asc() for column, descending in keys]
    return statement.order_by(*ordering).limit(query.limit + 1)


def after_cursor(query: FlagQuery, cursor: str) -> FlagQuery:
    """`query` resumed after the position `cursor` names (`decode_cursor`: `InvalidCursor` for a cursor not
    issued for this query's filters and order)."""
    return replace(query, after=decode_cursor(cursor, query))


def list_flags(
    db: Session,
    query: FlagQuery,
    *,
    count: bool = True,
    columns: Sequence[InstrumentedAttribute[Any]] = (),
) -> FlagListing:
    """A page of the queue (see `page_statement`), with the matching count bounded by `COUNT_CAP`.

    The rows are `Flag`s, or with `columns` (which must include `POSITION_COLUMNS`) plain rows of those (and,
    when counting, the count as a last, unnamed column): building a page of ORM objects costs several times
    more CPU than reading its rows."""
    if columns:
        asked = {c.key for c in columns}  # by name: `in` would compare columns as SQL expressions (slow)
        missing = [c.key for c in POSITION_COLUMNS if c.key not in asked]
        if missing:
            raise ValueError(f"a listing by columns needs {', '.join(missing)} for its cursor")
    statement = page_statement(query, columns)
    if count:  # the capped count rides along as a last column (one statement; the database counts once)
        statement = statement.add_columns(_count_statement(query, COUNT_CAP).scalar_subquery())
    result = db.execute(statement).all()
    rows: list[Any] = list(result) if columns else [row[0] for row in result]
    if not count:
        total = Count(0)
    elif result:
        total = _capped(result[0][-1], COUNT_CAP)
    else:  # an empty page: nothing matches, unless the page starts past the last match
        total = count_flags(db, query) if query.after is not None or query.offset else Count(0)
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    return FlagListing(
        rows=rows,
        total=total,
        has_more=has_more,
        next_cursor=encode_cursor(FlagPosition.of(rows[-1], query.order), query) if has_more else None,
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
