"""REST routes for flags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from triage_events import Label, Platform, Severity

from triage_api.deps import DbDep, ViewerDep
from triage_api.flags.models import FlagStatus
from triage_api.flags.schemas import FlagOut, FlagPage
from triage_api.flags.service import FlagQuery, get_flag, list_flags

router = APIRouter(prefix="/api/flags", tags=["flags"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as a 422 rather than fail with a 500


@router.get("", response_model=FlagPage)
def list_flags_route(
    db: DbDep,
    _: ViewerDep,
    label: Label | None = None,
    status: FlagStatus | None = None,
    severity: Severity | None = None,
    platform: Platform | None = None,
    account: Annotated[
        str | None, Query(max_length=256, pattern=NO_NUL, description="account id or handle")
    ] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    since: Annotated[datetime | None, Query(description="flagged at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="flagged before (ISO 8601)")] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="text search in the comment")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> FlagPage:
    """Flags, newest first, filtered and paginated."""
    query = FlagQuery(
        label=label.value if label else None,
        status=status.value if status else None,
        severity=severity.value if severity else None,
        platform=platform.value if platform else None,
        account=account,
        assignee=assignee,
        team=team,
        since=_aware(since),
        until=_aware(until),
        text=q,
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


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
