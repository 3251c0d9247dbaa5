"""Storing flags idempotently and querying the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from triage_events import FlagRaised, Severity

from triage_api.flags.models import Flag, FlagLabel


def store_flags(
    db: Session, events: list[FlagRaised], inserted_events: list[FlagRaised] | None = None
) -> int:
    """Insert new flags in the caller's transaction; a comment already flagged is left as it is.

    Returns how many rows were inserted (and appends those events to `inserted_events`, if given).
    Duplicate deliveries (at-least-once) insert nothing.
    """
    inserted = 0
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for event in events:
        row = _row(event)
        # RETURNING, not rowcount: through the ORM session PostgreSQL reports rowcount -1 (truthy) for a
        # conflicting row, which made duplicates count as inserted and their label rows break the foreign key.
        statement = insert(Flag).values(**row).on_conflict_do_nothing(index_elements=["comment_key"])
        if db.execute(statement.returning(Flag.id)).first() is not None:
            inserted += 1
            if inserted_events is not None:
                inserted_events.append(event)
            db.execute(
                insert(FlagLabel)
                .values([{"flag_id": row["id"], "label": label.value} for label in event.labels])
                .on_conflict_do_nothing()
            )
    return inserted


def _row(event: FlagRaised) -> dict[str, object]:
    comment = event.comment
    labels = [label.value for label in event.labels]
    severity = Severity(event.severity)
    return {
        "id": str(event.event_id),
        "comment_key": event.comment_key,
        "platform": event.platform.value,
        "account_id": event.account.id,
        "account_handle": event.account.handle,
        "platform_comment_id": comment.platform_comment_id,
        "kind": comment.kind.value,
        "text": comment.text,
        "author_id": comment.author.id,
        "author_handle": comment.author.handle or comment.author.display_name,
        "permalink": comment.permalink,
        # UTC: SQLite keeps the wall-clock time and drops the offset, which would shift and misorder times.
        "commented_at": comment.created_at.astimezone(UTC),
        "flagged_at": event.occurred_at.astimezone(UTC),
        "stored_at": datetime.now(UTC),
        "labels": labels,
        "primary_label": labels[0],
        "scores": {label.value: score for label, score in event.scores.items()},
        "severity": severity.value,
        "severity_rank": severity.rank,
        "evidence": [e.model_dump(mode="json") for e in event.evidence],
        "model_version": event.model_version,
        "suggested_templates": event.suggested_templates,
        "status": "new",
    }


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
    offset: int = 0


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
        # A literal substring, case-insensitive: LIKE wildcards in the search are escaped.
        needle = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Flag.text.ilike(f"%{needle}%", escape="\\"))
    return statement


def list_flags(db: Session, query: FlagQuery) -> tuple[list[Flag], int]:
    """Newest first, with the total matching count for pagination."""
    total = db.scalar(_filtered(query, select(func.count()).select_from(Flag))) or 0
    rows = db.scalars(
        _filtered(query, select(Flag))
        .order_by(Flag.flagged_at.desc(), Flag.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return list(rows), total


def get_flag(db: Session, flag_id: str) -> Flag | None:
    return db.get(Flag, flag_id)


def counts_by_status(db: Session) -> dict[str, int]:
    return dict(db.execute(select(Flag.status, func.count()).group_by(Flag.status)).all())  # type: ignore[arg-type]
