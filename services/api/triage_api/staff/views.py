"""Sign-in and sign-out for the dashboard: a local password, or the organisation's OIDC provider when one is
configured (`staff.oidc`). Both end in the same session cookie."""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from triage_api.deps import SESSION_COOKIE, DbDep, csrf_ok
from triage_api.staff.models import User
from triage_api.staff.oidc import (
    FLOW_COOKIE,
    FLOW_COOKIE_PATH,
    FLOW_SECONDS,
    Flow,
    Identity,
    OidcClient,
    OidcError,
    link_or_create,
)
from triage_api.staff.service import authenticate, end_session, principal_from_session, start_session
from triage_api.staff.throttle import SigninThrottle, ThrottlePolicy

router = APIRouter(tags=["auth"])


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    oidc: OidcClient | None = getattr(request.app.state, "oidc", None)
    context = {"error": error, "sso_label": oidc.button_label if oidc is not None else None}
    return request.app.state.templates.TemplateResponse(
        request, "login.html", context, status_code=status_code
    )


def _set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", include_in_schema=False)
def login(
    request: Request, db: DbDep, username: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    """A password sign-in, throttled per account and per address (`staff.throttle`): while either is locked,
    every attempt, the right password included, is answered 429 with Retry-After, and nothing is checked."""
    throttle = signin_throttle(request)
    host = request.client.host if request.client is not None else None
    wait = throttle.admit(db, username, host)
    if wait is not None:
        minutes = f"{math.ceil(wait / 60)} minute{'s' if wait > 60 else ''}"
        response = _login_page(request, f"Too many sign-in attempts. Try again in {minutes}.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = authenticate(db, username, password)
    if user is None:
        return _login_page(request, "Unknown user or wrong password.", 401)
    throttle.succeeded(db, username, host)
    raw, _ = start_session(db, user, request.app.state.settings.session_hours)
    db.commit()
    response = RedirectResponse("/", status_code=303)
    _set_session_cookie(request, response, raw)
    return response


def signin_throttle(request: Request) -> SigninThrottle:
    """The app's sign-in throttle, made from its settings on first use (a test may put its own in place)."""
    throttle: SigninThrottle | None = getattr(request.app.state, "signin_throttle", None)
    if throttle is None:
        throttle = SigninThrottle(ThrottlePolicy.from_settings(request.app.state.settings))
        request.app.state.signin_throttle = throttle
    return throttle


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: DbDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        # A live session ends only by its own form (its CSRF token): another page cannot sign someone out.
        principal = principal_from_session(db, raw)
        if principal is not None and not csrf_ok(principal, csrf_token):
            raise HTTPException(403, "invalid or missing CSRF token")
        end_session(db, raw)
        db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- OIDC (public by nature: these pages exist to let someone without a session get one) ----------------


def _oidc(request: Request) -> OidcClient:
    oidc: OidcClient | None = getattr(request.app.state, "oidc", None)
    if oidc is None:
        raise OidcError(404, "single sign-on is not configured")
    return oidc


def _redirect_uri(request: Request, oidc: OidcClient) -> str:
    return oidc.redirect_url or str(request.url_for("oidc_callback"))


def _sso_failed(request: Request, exc: OidcError) -> Response:
    response = _login_page(request, f"Single sign-on failed: {exc.message}.", exc.status_code)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)
    return response


@router.get("/login/sso", include_in_schema=False)
async def oidc_start(request: Request) -> Response:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge (kept in a short-lived
    HttpOnly cookie scoped to the callback)."""
    try:
        oidc = _oidc(request)
        flow = Flow.new()
        url = await oidc.authorization_url(flow, _redirect_uri(request, oidc))
    except OidcError as exc:
        return _sso_failed(request, exc)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow.cookie(),
        max_age=FLOW_SECONDS,
        path=FLOW_COOKIE_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site top-level GET
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.get("/login/sso/callback", name="oidc_callback", include_in_schema=False)
async def oidc_callback(request: Request) -> Response:
    params = request.query_params
    try:
        oidc = _oidc(request)
        flow = Flow.from_cookie(request.cookies.get(FLOW_COOKIE))
        if flow is None:
            raise OidcError(400, "the sign-in expired or was started in another browser; start again")
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise OidcError(400, "the sign-in answer does not match this sign-in (state); start again")
        if params.get("error"):
            raise OidcError(401, "the identity provider did not sign you in")
        code = params.get("code")
        if not code:
            raise OidcError(400, "the identity provider's answer had no authorization code")
        claims = await oidc.exchange(code, flow, _redirect_uri(request, oidc))
        identity = oidc.identity(claims)
        raw = await run_in_threadpool(_sign_in, request, identity)
    except OidcError as exc:
        return _sso_failed(request, exc)
    # A page, not a redirect: the session cookie is SameSite=Strict, and a redirect chain that began at the
    # provider is cross-site, so the browser would not send it on the next request. The page's own
    # navigation to "/" is same-site.
    response = HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">'
        '<title>Signed in</title></head><body><p>Signed in. <a href="/">Continue to Triage</a></p>'
        "</body></html>"
    )
    response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)
    _set_session_cookie(request, response, raw)
    return response


def _sign_in(request: Request, identity: Identity) -> str:
    with request.app.state.sessionmaker() as db, db.begin():
        user: User = link_or_create(db, identity)
        raw, _ = start_session(db, user, request.app.state.settings.session_hours)
        return raw
