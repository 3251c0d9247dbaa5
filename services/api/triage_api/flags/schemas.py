"""HTTP shapes of flags."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage_api.params import SafeLink, UtcDateTime


class FlagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    comment_key: str
    platform: str
    account_id: str
    account_handle: str
    platform_comment_id: str
    kind: str
    text: str | None
    author_handle: str
    permalink: SafeLink = Field(description="the comment on its platform: an http(s) URL, or null")
    commented_at: UtcDateTime
    flagged_at: UtcDateTime
    labels: list[str]
    scores: dict[str, float]
    severity: str
    evidence: list[dict[str, Any]]
    model_version: str
    suggested_templates: list[str]
    status: str
    team: str | None = None
    assignee: str | None = None
    claimed_by: str | None = None
    claimed_until: UtcDateTime | None = None
    last_action: str | None = None
    last_action_error: str | None = None
    language: str | None = Field(
        default=None,
        description="The comment's language (an ISO 639-1 code, `und` for a script that says none) as the "
        "classifier identified it, else the platform's; null when neither could tell",
    )
    comment_deleted_at: UtcDateTime | None = Field(
        default=None,
        description="When the comment was deleted on the platform (nothing left to reply to, hide or delete)",
    )
    due_at: UtcDateTime = Field(
        description="The SLA due time: flagged time plus the severity's SLA, restarted by an escalation or a "
        "raised severity (`Flag.due_at`)"
    )


class FlagPage(BaseModel):
    items: list[FlagOut]
    total: int  # matching flags, counted up to 1,000 (service.COUNT_CAP)
    total_capped: bool = False  # true: more than `total` match
    limit: int
    offset: int
    next_offset: int | None  # offset pagination (kept for existing clients); None on cursor pages
    next_cursor: str | None = None  # pass as `cursor` for the next page; None on the last page


class SuggestionOut(BaseModel):
    id: str
    title: str
    variant: str
    language: str
    text: str | None
    guidance: list[str]
    sources: list[str]
    needs_approval: bool
    blocked: list[str]
    texts: dict[str, str] = Field(
        default_factory=dict, description="the template filled in, in every language it is written in"
    )
    blocked_by_language: dict[str, list[str]] = Field(
        default_factory=dict, description="why the PHI guard (or a missing setting) stops it, per language"
    )
