"""REST routes for flags."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from triage_events import Label, Platform, Severity

from triage_api.db import as_utc
from triage_api.deps import DbDep, ViewerDep
from triage_api.flags.models import Flag, FlagStatus
from triage_api.flags.schemas import FlagOut, FlagPage
from triage_api.flags.service import (
    API_DEFAULT_ORDER,
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    FlagQuery,
    InvalidCursor,
    QueueOrder,
    after_cursor,
    cursor_order,
    get_flag,
    list_flags,
    preferred_order,
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
        order = cursor_order(cursor) if cursor else preferred_order(db, who.user_id) or API_DEFAULT_ORDER
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
    listing = list_flags(db, query)
    next_cursor = listing.next_cursor
    page = FlagPage.model_validate(
        {
            "items": [_item(flag) for flag in listing.rows],
            "total": listing.total.value,
            "total_capped": listing.total.capped,
            "limit": limit,
            "offset": offset,
            "next_offset": offset + len(listing.rows) if listing.has_more and cursor is None else None,
            "next_cursor": next_cursor,
        }
    )
    # Serialised here, once: FastAPI would validate the returned page again before dumping it. The schema
    # (`response_model`) and the validation above are the same; the JSON is what `FlagPage` dumps.
    headers = {}
    if next_cursor:
        url = request.url.remove_query_params("offset").include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    return Response(page.model_dump_json(), media_type="application/json", headers=headers)


_ITEM_FIELDS = tuple(FlagOut.model_fields)


def _item(flag: Flag) -> dict[str, Any]:
    """The `FlagOut` fields of a loaded flag, as a dict: pydantic validates a dict several times faster than it
    reads an ORM object attribute by attribute (`from_attributes`). Loaded columns come from the instance's
    state; anything else (a property such as `due_at`, an unloaded attribute) through `getattr`."""
    loaded = flag.__dict__
    return {name: loaded[name] if name in loaded else getattr(flag, name) for name in _ITEM_FIELDS}


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
