"""REST routes for flags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from triage_events import Label, Platform, Severity

from triage_api.deps import DbDep, ViewerDep
from triage_api.flags.models import FlagStatus
from triage_api.flags.schemas import FlagOut, FlagPage
from triage_api.flags.service import FlagQuery, get_flag, list_flags

router = APIRouter(prefix="/api/flags", tags=["flags"])


@router.get("", response_model=FlagPage)
def list_flags_route(
    db: DbDep,
    _: ViewerDep,
    label: Label | None = None,
    status: FlagStatus | None = None,
    severity: Severity | None = None,
    platform: Platform | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FlagPage:
    """Flags, newest first, filtered and paginated."""
    query = FlagQuery(
        label=label.value if label else None,
        status=status.value if status else None,
        severity=severity.value if severity else None,
        platform=platform.value if platform else None,
        limit=limit,
        offset=offset,
    )
    rows, total = list_flags(db, query)
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return FlagPage(
        items=[FlagOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
    )


@router.get("/{flag_id}", response_model=FlagOut)
def get_flag_route(flag_id: str, db: DbDep, _: ViewerDep) -> FlagOut:
    flag = get_flag(db, flag_id)
    if flag is None:
        raise HTTPException(404, f"no flag with id {flag_id}")
    return FlagOut.model_validate(flag)
