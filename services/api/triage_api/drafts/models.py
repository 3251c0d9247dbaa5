"""The drafts table: the team's own posts, their last check, a lead's approval and the publishing result."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage_api.db import Base


class DraftStatus(enum.StrEnum):
    DRAFT = "draft"  # being written; publishing needs a clean check or an approval of this very content
    PUBLISHING = "publishing"  # the post request is in the outbox / with ingest
    PUBLISHED = "published"
    DRY_RUN = "dry_run"  # ingest ran it as a dry run: nothing reached the platform
    FAILED = "failed"


class DraftRow(Base):
    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(256))
    platform: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    caption: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    sponsored: Mapped[bool] = mapped_column(Boolean, default=False)
    sponsor: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(24), index=True)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # of the last check
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of what was checked
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    approved_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # the content approved
    published_by: Mapped[str | None] = mapped_column(String(64), default=None)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    action_id: Mapped[str | None] = mapped_column(String(36), default=None, unique=True)
    platform_result_id: Mapped[str | None] = mapped_column(String(256), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
