"""HTTP shapes of flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
    permalink: str | None
    commented_at: datetime
    flagged_at: datetime
    labels: list[str]
    scores: dict[str, float]
    severity: str
    evidence: list[dict[str, Any]]
    model_version: str
    suggested_templates: list[str]
    status: str


class FlagPage(BaseModel):
    items: list[FlagOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None
