"""The table of recent comments (migration 0012): one row per comment, its latest verdict."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_api.db import Base
from triage_api.flags.models import CommentColumns


class SeenComment(CommentColumns, Base):
    """A comment and the classifier's latest verdict on it (`CommentJudged`). Holds the comment's text
    (possible PHI): deleted whole after the retention period (`comments_retention_days`), and its text
    blanked when the comment is deleted on the platform."""

    __tablename__ = "comments"

    parent_comment_id: Mapped[str | None] = mapped_column(String(256), default=None)
    thread_id: Mapped[str | None] = mapped_column(String(256), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    labels: Mapped[list[str]] = mapped_column(JSON)
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON)
    # How far the comment's closest label is below its threshold (threshold minus score, the smallest over the
    # labels): at or under 0 the classifier flagged it; small and positive, it nearly did. Null without
    # thresholds. The "close to a threshold" order and the score bands read it.
    margin: Mapped[float | None] = mapped_column(Float, default=None)
    closest_label: Mapped[str | None] = mapped_column(String(32), default=None)
    severity: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64))
    review_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    commented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    judged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    __table_args__ = (
        Index("ix_comments_stored_at_id", "stored_at", "id"),
        Index("ix_comments_judged_at", "judged_at"),
        Index("ix_comments_margin_judged_at", "margin", "judged_at"),
        Index("ix_comments_platform_judged_at", "platform", "judged_at"),
        Index("ix_comments_account_id_judged_at", "account_id", "judged_at"),
        Index("ix_comments_language_judged_at", "language", "judged_at"),
    )
