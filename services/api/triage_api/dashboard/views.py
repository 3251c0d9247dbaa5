"""Dashboard pages. Anonymous visitors are sent to the sign-in page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from triage_events import Label

from triage_api.dashboard.highlight import segments
from triage_api.deps import DbDep, current_principal
from triage_api.flags.models import FlagStatus
from triage_api.flags.service import FlagQuery, counts_by_status, get_flag, list_flags
from triage_api.staff.service import Principal

router = APIRouter(include_in_schema=False)

PrincipalDep = Annotated[Principal | None, Depends(current_principal)]


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    label: Annotated[Label | None, Query()] = None,
    status: Annotated[FlagStatus | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    per_page = 50
    rows, total = list_flags(
        db,
        FlagQuery(
            label=label.value if label else None,
            status=status.value if status else None,
            limit=per_page,
            offset=(page - 1) * per_page,
        ),
    )
    return request.app.state.templates.TemplateResponse(
        request,
        "queue.html",
        {
            "principal": principal,
            "flags": [(f, segments(f.text or "", f.evidence)) for f in rows],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "label": label.value if label else "",
            "status": status.value if status else "",
            "labels": [label.value for label in Label],
            "statuses": [s.value for s in FlagStatus],
            "counts": counts_by_status(db),
        },
    )


@router.get("/flags/{flag_id}", response_class=HTMLResponse)
def flag_page(flag_id: str, request: Request, db: DbDep, principal: PrincipalDep) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    flag = get_flag(db, flag_id)
    if flag is None:
        raise HTTPException(404, "no such flag")
    return request.app.state.templates.TemplateResponse(
        request,
        "flag.html",
        {"principal": principal, "flag": flag, "segments": segments(flag.text or "", flag.evidence)},
    )
