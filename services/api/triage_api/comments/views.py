"""All comments: the REST listing (`/api/comments`), its live stream (`/api/stream/comments`), "Flag this"
(`POST /api/comments/{id}/flag`) and the desk page (`/comments`). Read like the queue (viewer); flagging is a
moderator's act, with the session's CSRF token for a browser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from triage_events import Label, Platform

from triage_api import metrics, sse
from triage_api.comments import learning, service
from triage_api.comments.flag_this import raise_flag
from triage_api.comments.service import Band, CommentOrder, CommentQuery
from triage_api.db import as_utc
from triage_api.deps import DbDep, ModeratorDep, ViewerDep, current_principal
from triage_api.flags.language_names import language_label
from triage_api.params import MAX_OFFSET, WholeNumber
from triage_api.staff.service import Principal

router = APIRouter(prefix="/api", tags=["comments"])
page_router = APIRouter(include_in_schema=False)
NO_NUL = r"^[^\x00]*$"
LANGUAGE_TAG = r"^([A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})?)?$"  # or empty: no filter


class CommentOut(BaseModel):
    id: str
    comment_key: str
    platform: str
    account_id: str
    account_handle: str
    author_handle: str
    kind: str
    text: str | None
    language: str | None
    labels: list[str]
    scores: dict[str, float]
    thresholds: dict[str, float]
    margin: float | None
    closest_label: str | None
    band: Band
    model_version: str
    commented_at: datetime
    judged_at: datetime
    deleted: bool


class CommentPage(BaseModel):
    items: list[CommentOut]
    total: int


class FlagThisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[Label] = Field(min_length=1, max_length=len(Label))
    note: str = Field("", max_length=5000)


class FlagThisOut(BaseModel):
    flag_id: str
    paged: bool


def out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "comment_key": row.comment_key,
        "platform": row.platform,
        "account_id": row.account_id,
        "account_handle": row.account_handle,
        "author_handle": row.author_handle,
        "kind": row.kind,
        "text": row.text,
        "language": row.language,
        "labels": row.labels,
        "scores": row.scores,
        "thresholds": row.thresholds,
        "margin": row.margin,
        "closest_label": row.closest_label,
        "band": service.band_of(row).value,
        "model_version": row.model_version,
        "commented_at": as_utc(row.commented_at).isoformat(),
        "judged_at": as_utc(row.judged_at).isoformat(),
        "deleted": row.deleted_at is not None,
    }


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


# The page's filter form sends every field, the unused ones empty: an empty filter is no filter.
EmptyAsNone = BeforeValidator(_empty_as_none)


def comment_query(
    platform: Annotated[Platform | None, EmptyAsNone, Query()] = None,
    account: Annotated[
        str | None, Query(max_length=256, pattern=NO_NUL, description="account id or handle")
    ] = None,
    language: Annotated[
        str | None, Query(max_length=16, pattern=LANGUAGE_TAG, description="ISO 639-1 code, e.g. es")
    ] = None,
    band: Annotated[
        Band | None,
        EmptyAsNone,
        Query(
            description="`flagged`: at or over a threshold; `near`: passed within 0.15 of one; `clear`: the rest"
        ),
    ] = None,
    order: Annotated[
        CommentOrder, Query(description="`near`: closest to a threshold first (default); `newest`")
    ] = CommentOrder.NEAR_FIRST,
    limit: Annotated[int, WholeNumber, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, WholeNumber, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> CommentQuery:
    return CommentQuery(
        platform=platform.value if platform else None,
        account=account or None,
        language=language.lower() if language else None,
        band=band,
        order=order,
        limit=limit,
        offset=offset,
    )


QueryDep = Annotated[CommentQuery, Depends(comment_query)]


@router.get("/comments", response_model=CommentPage)
def list_comments_route(db: DbDep, _: ViewerDep, query: QueryDep) -> dict[str, Any]:
    """Recent comments the classifier judged, benign ones too, with their scores; "close to a threshold" first
    unless `order=newest`."""
    rows, total = service.list_comments(db, query)
    return {"items": [out(row) for row in rows], "total": total}


@router.post("/comments/{comment_id}/flag", response_model=FlagThisOut, status_code=201)
async def flag_this_route(
    request: Request, comment_id: Annotated[str, Path(max_length=36)], body: FlagThisIn, who: ModeratorDep
) -> dict[str, Any]:
    """Flag a comment the classifier passed: routed, timed and audited like any flag, raised by the caller; an
    urgent or privacy flag pages on-call at once. 409 when the comment is flagged already."""
    app = request.app

    def work() -> Any:
        with app.state.sessionmaker() as db, db.begin():
            return raise_flag(db, comment_id, body.labels, body.note, who, app.state.router)

    raised = await run_in_threadpool(work)
    if raised.alerts:
        app.state.notifier.wake()
    for label in raised.event.labels:
        metrics.FLAGS_STORED.labels(label.value, raised.event.severity.value).inc()
    return {"flag_id": raised.flag_id, "paged": bool(raised.alerts)}


@router.get("/learning")
def learning_route(db: DbDep, _: ViewerDep) -> dict[str, Any]:
    """Misses found by people, by label and language, and the precision of the classifier's labels from
    people's feedback (counts only), as on the Analytics page and /metrics."""
    return learning.snapshot(db).as_dict()


def _message(row: Any) -> str:
    return f"event: comment\ndata: {json.dumps(out(row))}\n\n"


def comment_events(
    factory: sessionmaker[Session],
    since: datetime,
    disconnected: Callable[[], Any],
    interval: float = 1.0,
) -> AsyncIterator[str]:
    """`event: comment` messages for comments stored or judged again from `since` on, and a heartbeat."""
    return sse.follow(
        factory,
        service.stored_since,
        lambda row: as_utc(row.stored_at),
        _message,
        disconnected,
        since,
        interval=interval,
    )


@router.get(
    "/stream/comments",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "SSE"}},
)
async def comments_stream(request: Request, _: ViewerDep, since: datetime | None = None) -> StreamingResponse:
    """Comments stored or judged again, as Server-Sent Events (`event: comment`, JSON data), from now or `since`.
    The page inserts every field as text."""
    start = as_utc(since) if since else datetime.now(UTC)
    return sse.response(comment_events(request.app.state.sessionmaker, start, request.is_disconnected))


@page_router.get("/comments", response_class=HTMLResponse)
def comments_page(
    request: Request,
    db: DbDep,
    principal: Annotated[Principal | None, Depends(current_principal)],
    query: QueryDep,
) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    listed_at = datetime.now(UTC)
    rows, total = service.list_comments(db, query)
    return request.app.state.templates.TemplateResponse(
        request,
        "comments.html",
        {
            "principal": principal,
            "comments": [out(row) for row in rows],
            "total": total,
            "listed_at": listed_at.isoformat(),
            "query": query,
            "platforms": [p.value for p in Platform],
            "bands": [b.value for b in Band],
            "labels": [label.value for label in Label],
            "language_label": language_label,
            "can_flag": principal.role.value != "viewer",
        },
    )
