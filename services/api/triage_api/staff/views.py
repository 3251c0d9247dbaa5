"""Sign-in and sign-out for the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from triage_api.deps import SESSION_COOKIE, DbDep
from triage_api.staff.service import authenticate, end_session, start_session

router = APIRouter(tags=["auth"])


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", include_in_schema=False)
def login(
    request: Request, db: DbDep, username: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    user = authenticate(db, username, password)
    if user is None:
        return request.app.state.templates.TemplateResponse(
            request, "login.html", {"error": "Unknown user or wrong password."}, status_code=401
        )
    settings = request.app.state.settings
    raw, _ = start_session(db, user, settings.session_hours)
    db.commit()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: DbDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        end_session(db, raw)
        db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
