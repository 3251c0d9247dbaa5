"""REST routes for flags."""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from triage_events import Label, Platform, Severity

from triage_api.db import as_utc
from triage_api.deps import DbDep, ViewerDep
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.schemas import FLAG_OUT_COLUMNS, FlagOut, FlagPage, flag_page_json
from triage_api.flags.service import (
    API_DEFAULT_ORDER,
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    POSITION_COLUMNS,
    FlagQuery,
    InvalidCursor,
    QueueOrder,
    after_cursor,
    cursor_order,
    get_flag,
    known_order,
    list_flags,
)
from triage_api.params import MAX_OFFSET, QueryDateTime, WholeNumber

router = APIRouter(prefix="/api/flags", tags=["flags"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as a 422 rather than fail with a 500


@router.get("", response_model=FlagPage)
def list_flags_route(
    request: Request,
    db: DbDep,
    who: ViewerDep,
    label: Label | None = None,
    status: FlagStatus | None = None,
    severity: Severity | None = None,
    platform: Platform | None = None,
    account: Annotated[
        str | None, Query(max_length=256, pattern=NO_NUL, description="account id or handle")
    ] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    since: Annotated[QueryDateTime | None, Query(description="flagged at or after (ISO 8601)")] = None,
    until: Annotated[QueryDateTime | None, Query(description="flagged before (ISO 8601)")] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="text search in the comment")
    ] = None,
    limit: Annotated[int, WholeNumber, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=CURSOR_MAX_LENGTH,
            pattern=CURSOR_PATTERN,
            description="`next_cursor` of the previous page, with the same filters (keyset pagination)",
        ),
    ] = None,
    offset: Annotated[
        int,
        WholeNumber,
        Query(ge=0, le=MAX_OFFSET, description="rows to skip; slow when deep, prefer `cursor`"),
    ] = 0,
    order: Annotated[
        QueueOrder | None,
        Query(
            description="`priority`: open flags first, then severity (critical first), then the soonest due "
            "time; `newest` / `oldest`: by flagged time; `due`: open flags first, then the soonest due time. "
            "Default: the order the caller chose on the desk, else `newest` (a cursor keeps its own order)"
        ),
    ] = None,
) -> Response:
    """Flags in the asked order, filtered and paginated by cursor (`next_cursor`, also in the `Link` header).

    `total` counts at most 1,000 matches: beyond that it is 1,000 with `total_capped` true."""
    if order is None:
        order = cursor_order(cursor) if cursor else known_order(who.queue_order) or API_DEFAULT_ORDER
    query = FlagQuery(
        label=label.value if label else None,
        status=status.value if status else None,
        severity=severity.value if severity else None,
        platform=platform.value if platform else None,
        account=account,
        assignee=assignee,
        team=team,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
        text=q,
        limit=limit,
        offset=offset,
        order=order,
    )
    if cursor is not None:
        if offset:
            _bad_cursor(cursor, "give either cursor or offset, not both")
        try:
            query = after_cursor(query, cursor)
        except InvalidCursor as exc:
            _bad_cursor(cursor, str(exc))
    listing = list_flags(db, query, columns=LISTED_COLUMNS)
    next_cursor = listing.next_cursor
    body = flag_page_json(
        listing.rows,
        total=listing.total.value,
        total_capped=listing.total.capped,
        limit=limit,
        offset=offset,
        next_offset=offset + len(listing.rows) if listing.has_more and cursor is None else None,
        next_cursor=next_cursor,
    )
    # Serialised here, once: FastAPI would validate the returned page before dumping it. The schema
    # (`response_model`) is `FlagPage`; the JSON is what it dumps (`flag_page_json`).
    headers = {}
    if next_cursor:
        url = request.url.remove_query_params("offset").include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    return Response(body, media_type="application/json", headers=headers)


# A page reads these columns as plain rows (not `Flag` objects): what `FlagOut` shows and what a cursor needs.
LISTED_COLUMNS = tuple(
    dict.fromkeys([*(getattr(Flag, name) for name in FLAG_OUT_COLUMNS), *POSITION_COLUMNS])
)


def _bad_cursor(cursor: str, message: str) -> NoReturn:
    """A 422 shaped like FastAPI's own validation errors, at `query.cursor`."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", "cursor"), "msg": message, "input": cursor}]
    )


@router.get("/{flag_id}", response_model=FlagOut)
def get_flag_route(flag_id: str, db: DbDep, _: ViewerDep) -> FlagOut:
    flag = get_flag(db, flag_id)
    if flag is None:
        raise HTTPException(404, f"no flag with id {flag_id}")
    return FlagOut.model_validate(flag)
