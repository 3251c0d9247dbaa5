"""Audit entries as the REST routes return them: the audit log's own route and a draft's history."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from triage_api.params import UtcDateTime


class AuditEntryOut(BaseModel):
    """One entry: who did what, when, with its detail (ids, hashes and counts, never comment text)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: UtcDateTime
    actor: str
    role: str
    action: str
    detail: dict[str, Any]


class AuditOut(AuditEntryOut):
    """An entry of the audit log with the flag it is about (null for one about no flag)."""

    flag_id: str | None
