"""The flag table."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_api.db import Base, as_utc
from triage_api.flags import sla


class FlagStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    REPLIED = "replied"
    HIDDEN = "hidden"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


def _initial_update(context: DefaultExecutionContext) -> datetime:
    stored = context.get_current_parameters().get("stored_at")
    return stored if isinstance(stored, datetime) else datetime.now(UTC)


class CommentColumns:
    """The leading columns of a stored flag and a stored comment (`comments.models.SeenComment`): which comment,
    where, by whom, and its text; `flags.service.comment_columns` fills them from the event."""

    # The FlagRaised event id; for a comment, its first CommentJudged's.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    comment_key: Mapped[str] = mapped_column(String(600), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(256))
    account_handle: Mapped[str] = mapped_column(String(256), default="")
    platform_comment_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    # Possible PHI. A flag's is purged after the retention period; a comment's is None once the comment was
    # deleted on the platform (the whole row goes after its own retention period).
    text: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(256))
    author_handle: Mapped[str] = mapped_column(String(256), default="")
    permalink: Mapped[str | None] = mapped_column(String(2048))


class Flag(CommentColumns, Base):
    __tablename__ = "flags"

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
    team: Mapped[str | None] = mapped_column(String(64), default=None)
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_action: Mapped[str | None] = mapped_column(String(200), default=None)
    last_action_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # The SLA due time the desk works to (migration 0006): flagged time plus the severity's SLA when stored,
    # restarted by an escalation or a raised severity (`sla.Targets.restart`), kept by a manual re-route. Read it
    # through `due_at`. Null only for a row written by a replica older than 0006.
    sla_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the flag was stored, or last relabelled, re-routed or had its severity raised: the live queue
    # stream (`dashboard.stream`) follows it.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=_initial_update)
    # Migration 0007. The version of the comment the flag shows (`FlagRaised.changed_at`, or a clear's):
    # newer verdicts and clears are told from older ones by it (`relabel.is_newer`). Null for a flag whose
    # verdicts carried none (older classifiers): then the classification times decide.
    comment_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # When the comment was deleted on the platform (a `FlagCleared` with reason deleted): nothing left to
    # reply to, hide or delete, so the desk offers none of that.
    comment_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Migration 0009. What the comment answers (a comment's platform id) and the post it is under, as the
    # platform gave them (`Comment.parent_id`, `thread_id`): the flag page shows the conversation around it.
    parent_comment_id: Mapped[str | None] = mapped_column(String(256), default=None)
    thread_id: Mapped[str | None] = mapped_column(String(256), default=None)
    # Migration 0011. The comment's language (an ISO 639-1 code, "und" when the script says nothing), as the
    # classifier identified it in the text, else as the platform gave it; replaced by a newer verdict. Null
    # when nobody could tell (or for flags stored before 0011): the desk then answers in the account's language.
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # Migration 0012. The person who raised the flag on a comment the classifier passed ("Flag this" on All
    # comments); None for a flag the classifier raised.
    raised_by: Mapped[str | None] = mapped_column(String(64), default=None)
    label_rows: Mapped[list[FlagLabel]] = relationship(cascade="all, delete-orphan", lazy="raise")

    # The queue's newest-first order is (flagged_at, id) descending; each filter's index ends with it, so a page (and a
    # cursor's resume point) is a range scan of one index (migration 0005). Text search: a trigram GIN
    # index on PostgreSQL, created by 0005 when pg_trgm is available (not declared here: not portable).
    __table_args__ = (
        Index("ix_flags_flagged_at_id", "flagged_at", "id"),
        Index("ix_flags_status_flagged_at_id", "status", "flagged_at", "id"),
        Index("ix_flags_severity_flagged_at_id", "severity", "flagged_at", "id"),
        Index("ix_flags_platform_flagged_at_id", "platform", "flagged_at", "id"),
        Index("ix_flags_account_id_flagged_at_id", "account_id", "flagged_at", "id"),
        Index("ix_flags_account_handle_flagged_at_id", "account_handle", "flagged_at", "id"),
        Index("ix_flags_assignee_flagged_at_id", "assignee", "flagged_at", "id"),
        Index("ix_flags_team_flagged_at_id", "team", "flagged_at", "id"),
        # The SLA breach gauge (new flags past due) and the live queue stream's poll (migration 0006).
        Index("ix_flags_status_sla_due_at", "status", "sla_due_at"),
        Index("ix_flags_updated_at_id", "updated_at", "id"),
        # The flag page's context: the flags of one thread, and an author's earlier flags (migration 0009).
        # The orders that put open flags first use expression indexes created by 0009 (not declared here).
        Index("ix_flags_account_id_thread_id", "account_id", "thread_id"),
        Index("ix_flags_account_id_author_id_flagged_at", "account_id", "author_id", "flagged_at"),
    )

    @property
    def due_at(self) -> datetime:
        """The SLA due time (aware UTC): the stored one (`store_flags` sets it), else the flagged time plus the
        severity's default SLA."""
        if self.sla_due_at is None:
            return sla.DEFAULT.due_at(self.flagged_at, self.severity)
        return as_utc(self.sla_due_at)

    def sla_breached(self, now: datetime | None = None) -> bool:
        """An open flag past its due time."""
        return sla.breached(self.due_at, self.status, now)


class FlagLabel(Base):
    """One row per label of a flag, so label filters use an index rather than JSON functions."""

    __tablename__ = "flag_labels"

    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Migration 0013. The flag's status, copied by the database's triggers (filled on insert when not given,
    # kept when the flag's status changes): a label + status filter and its count read one index, no join.
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    # Migration 0014. The flag's flagged time (never changes; filled on insert when not given): a page of one
    # label, newest or oldest first, walks one of these indexes in order and stops after the page.
    flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    __table_args__ = (
        Index("ix_flag_labels_label_flagged_at_flag_id", "label", "flagged_at", "flag_id"),
        Index("ix_flag_labels_label_status_flagged_at_flag_id", "label", "status", "flagged_at", "flag_id"),
    )


class FlagNote(Base):
    """A moderator's note on a flag (internal; never sent to the platform)."""

    __tablename__ = "flag_notes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class ActionState(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    REQUESTED = "requested"
    DONE = "done"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    REJECTED = "rejected"


class FlagAction(Base):
    """A platform action asked for on a flag: its `ActionRequested` id, and the result when it comes back."""

    __tablename__ = "flag_actions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(24))
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    platform_result_id: Mapped[str | None] = mapped_column(String(256), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)


class LabelFeedback(Base):
    """A person's verdict on one label of a flag (correct, wrong, or missing: a label it lacked), exported for
    retraining by `triage feedback export` (one row per flag, label, person)."""

    __tablename__ = "label_feedback"

    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
