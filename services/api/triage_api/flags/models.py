"""The flag table."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_api.db import Base


class FlagStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    REPLIED = "replied"
    HIDDEN = "hidden"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Flag(Base):
    __tablename__ = "flags"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the FlagRaised event id
    comment_key: Mapped[str] = mapped_column(String(600), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(256))
    account_handle: Mapped[str] = mapped_column(String(256), default="")
    platform_comment_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)  # purged after the retention period
    author_id: Mapped[str] = mapped_column(String(256))
    author_handle: Mapped[str] = mapped_column(String(256), default="")
    permalink: Mapped[str | None] = mapped_column(String(2048))
    commented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    labels: Mapped[list[str]] = mapped_column(JSON)
    primary_label: Mapped[str] = mapped_column(String(32))
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column()
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64))
    suggested_templates: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=FlagStatus.NEW.value)
    label_rows: Mapped[list[FlagLabel]] = relationship(cascade="all, delete-orphan", lazy="raise")

    __table_args__ = (
        Index("ix_flags_flagged_at", "flagged_at"),
        Index("ix_flags_status_flagged_at", "status", "flagged_at"),
    )


class FlagLabel(Base):
    """One row per label of a flag, so label filters use an index rather than JSON functions."""

    __tablename__ = "flag_labels"

    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
