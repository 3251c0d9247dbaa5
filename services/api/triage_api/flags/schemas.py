"""HTTP shapes of flags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Row

from triage_api.db import as_utc
from triage_api.flags import sla
from triage_api.params import SafeLink, UtcDateTime, safe_link


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


# --- the queue's page, written without validating it again ---------------------------------------------------

# The `FlagOut` fields stored as columns of the same name (all but `due_at`, from `sla_due_at`).
FLAG_OUT_COLUMNS = tuple(name for name in FlagOut.model_fields if name != "due_at")
_TIMES = ("commented_at", "flagged_at", "claimed_until", "comment_deleted_at")  # `UtcDateTime` fields


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def flag_out_item(row: Row[Any]) -> dict[str, Any]:
    """What `FlagOut` makes of a row of `FLAG_OUT_COLUMNS` (and `sla_due_at`), as a dict in its field order:
    the same conversions its validators do (times as aware UTC, links that may not be shown as null, scores as
    floats), without validating what the server read from its own database."""
    item = row._asdict()
    out = {name: item[name] for name in FLAG_OUT_COLUMNS}
    for name in _TIMES:
        out[name] = _utc_or_none(out[name])
    out["permalink"] = safe_link(out["permalink"])
    out["scores"] = {label: float(score) for label, score in out["scores"].items()}
    stored_due = item["sla_due_at"]
    # as `Flag.due_at`: the stored due time, else the flagged time plus the severity's default SLA
    out["due_at"] = (
        as_utc(stored_due)
        if stored_due is not None
        else sla.DEFAULT.due_at(out["flagged_at"], out["severity"])
    )
    return out


def flag_page_json(
    rows: Sequence[Row[Any]],
    *,
    total: int,
    total_capped: bool,
    limit: int,
    offset: int,
    next_offset: int | None,
    next_cursor: str | None,
) -> bytes:
    """The JSON that `FlagPage(items=rows, ...).model_dump_json()` writes, from rows of `FLAG_OUT_COLUMNS` and
    `sla_due_at`, by pydantic's own serialiser but without validating the page first: the server read these
    values from its own database. The tests hold both ways to the same bytes."""
    page = {
        "items": [flag_out_item(row) for row in rows],
        "total": total,
        "total_capped": total_capped,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
        "next_cursor": next_cursor,
    }
    return pydantic_core.to_json(page)


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
