"""Storing verdicts idempotently, listing recent comments with the All comments filters, and forgetting them
(retention, platform deletion)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.orm import Session
from triage_events import CommentJudged

from triage_api.comments.models import SeenComment
from triage_api.db import as_utc, insert_new
from triage_api.flags.service import comment_columns, event_language
from triage_api.purge import purge_rows

# A comment whose closest label is at most this far below its threshold "nearly" got it.
NEAR_MARGIN = 0.15


class Band(enum.StrEnum):
    """Score bands of the All comments view, by the closest label's distance to its threshold."""

    FLAGGED = "flagged"  # at or over a threshold: the classifier raised a flag
    NEAR = "near"  # passed, within NEAR_MARGIN of a threshold
    CLEAR = "clear"  # passed, further away (or no thresholds known)


class CommentOrder(enum.StrEnum):
    NEAR_FIRST = "near"  # passed comments closest to a threshold first, then flagged ones, newest within ties
    NEWEST = "newest"


def margin_of(event: CommentJudged) -> tuple[float | None, str | None]:
    """The smallest (threshold - score) over the labels with a threshold, and that label."""
    gaps = [
        (threshold - event.scores.get(label, 0.0), label.value)
        for label, threshold in event.thresholds.items()
    ]
    if not gaps:
        return None, None
    gap, label = min(gaps)
    return round(gap, 4), label


def _verdict(event: CommentJudged) -> dict[str, object]:
    margin, closest = margin_of(event)
    return {
        "labels": [label.value for label in event.labels],
        "scores": {label.value: score for label, score in event.scores.items()},
        "thresholds": {label.value: value for label, value in event.thresholds.items()},
        "margin": margin,
        "closest_label": closest,
        "severity": event.severity.value,
        "model_version": event.model_version[:64],
        "review_reason": (event.review_reason or "")[:64] or None,
        "language": event_language(event),
        "text": event.comment.text,
        "changed_at": event.changed_at.astimezone(UTC) if event.changed_at else None,
        "judged_at": event.occurred_at.astimezone(UTC),
    }


def _row(event: CommentJudged, now: datetime) -> dict[str, object]:
    return {**comment_columns(event), "stored_at": now, **_verdict(event)}


def _version(changed_at: datetime | None, judged_at: datetime) -> tuple[datetime, datetime]:
    """Which verdict is newer: the comment's version first (an edit), then when it was judged."""
    judged = as_utc(judged_at)
    return (as_utc(changed_at) if changed_at else judged, judged)


def store_judged(db: Session, events: list[CommentJudged], now: datetime | None = None) -> int:
    """Keep each comment's latest verdict, in the caller's transaction: a new comment is inserted; a verdict on
    a stored one replaces it when it judged a newer version (or the same version later); a redelivery changes
    nothing. A comment deleted on the platform stays without text. Returns how many comments were new."""
    now = now or datetime.now(UTC)
    rows = [_row(event, now) for event in events]
    inserted = set(insert_new(db, SeenComment, rows, "comment_key"))
    rest = [event for position, event in enumerate(events) if position not in inserted]
    if rest:
        stored = {
            row.comment_key: row
            for row in db.scalars(
                select(SeenComment).where(SeenComment.comment_key.in_({e.comment_key for e in rest}))
            )
        }
        for event in rest:
            row = stored.get(event.comment_key)
            if row is None:
                continue
            fields = _verdict(event)
            newer = _version(event.changed_at, event.occurred_at) > _version(row.changed_at, row.judged_at)
            if newer:
                if row.deleted_at is not None:
                    fields["text"] = None
                for name, value in fields.items():
                    setattr(row, name, value)
                row.stored_at = now  # the live view shows it again
    return len(inserted)


def forget_deleted(db: Session, comment_key: str, at: datetime) -> bool:
    """A comment deleted on the platform: its text goes, as on its flag's page nothing is left to act on."""
    result = db.execute(
        update(SeenComment)
        .where(SeenComment.comment_key == comment_key)
        .values(text=None, deleted_at=at.astimezone(UTC))
        .returning(SeenComment.id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.all())


def purge_old(db: Session, days: int, at: datetime | None = None) -> int:
    """Delete comments judged more than `days` ago (text and verdict); returns how many."""
    cutoff = (at or datetime.now(UTC)) - timedelta(days=days)
    statement = delete(SeenComment).where(SeenComment.judged_at < cutoff).returning(SeenComment.id)
    return purge_rows(db, statement, "retention.comments_purged", days)


@dataclass(frozen=True)
class CommentQuery:
    platform: str | None = None
    account: str | None = None  # account id or handle
    language: str | None = None
    band: Band | None = None
    order: CommentOrder = CommentOrder.NEAR_FIRST
    limit: int = 50
    offset: int = 0


def _filtered(query: CommentQuery) -> Select[SeenComment]:
    statement = select(SeenComment)
    if query.platform:
        statement = statement.where(SeenComment.platform == query.platform)
    if query.account:
        statement = statement.where(
            (SeenComment.account_id == query.account) | (SeenComment.account_handle == query.account)
        )
    if query.language:
        # Case-insensitive ("es" finds "ES"; "zh-hant" finds "zh-Hant"): `query.language` is lower case.
        statement = statement.where(func.lower(SeenComment.language) == query.language)
    if query.band is Band.FLAGGED:
        statement = statement.where(SeenComment.margin <= 0)
    elif query.band is Band.NEAR:
        statement = statement.where(SeenComment.margin > 0, SeenComment.margin <= NEAR_MARGIN)
    elif query.band is Band.CLEAR:
        statement = statement.where((SeenComment.margin > NEAR_MARGIN) | SeenComment.margin.is_(None))
    return statement


def list_comments(db: Session, query: CommentQuery) -> tuple[list[SeenComment], int]:
    """One page of comments and how many match."""
    statement = _filtered(query)
    total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
    if query.order is CommentOrder.NEAR_FIRST:
        passed_first = case((SeenComment.margin > 0, 0), (SeenComment.margin <= 0, 1), else_=2)
        statement = statement.order_by(
            passed_first, SeenComment.margin, SeenComment.judged_at.desc(), SeenComment.id
        )
    else:
        statement = statement.order_by(SeenComment.judged_at.desc(), SeenComment.id)
    rows = list(db.scalars(statement.limit(query.limit).offset(query.offset)))
    return rows, total


def band_of(row: SeenComment) -> Band:
    if row.margin is not None and row.margin <= 0:
        return Band.FLAGGED
    if row.margin is not None and row.margin <= NEAR_MARGIN:
        return Band.NEAR
    return Band.CLEAR


def stored_since(db: Session, cursor: datetime, limit: int = 200) -> list[SeenComment]:
    """Comments stored (or re-judged) at or after `cursor`, oldest first: the live view's poll."""
    return list(
        db.scalars(
            select(SeenComment)
            .where(SeenComment.stored_at >= cursor)
            .order_by(SeenComment.stored_at, SeenComment.id)
            .limit(limit)
        )
    )
