"""REST route for the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from triage_api.audit.schemas import AuditOut
from triage_api.audit.service import AuditQuery, list_events
from triage_api.deps import DbDep, ViewerDep
from triage_api.params import MAX_OFFSET, WholeNumber

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int


@router.get("", response_model=AuditPage)
def list_audit(
    db: DbDep,
    _: ViewerDep,
    flag_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: Annotated[int, WholeNumber, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, WholeNumber, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditPage:
    """Audit events, newest first."""
    rows, total = list_events(db, AuditQuery(flag_id, actor, action, limit, offset))
    return AuditPage(items=[AuditOut.model_validate(r) for r in rows], total=total)
