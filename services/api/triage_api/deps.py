"""Request dependencies: the database session and the authenticated principal with its role (a browser
session's unsafe requests must also carry the session's CSRF token), and a request's own transaction."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from triage_events import ActionRequested

from triage_api.flags.sla import Targets
from triage_api.routing.service import Router
from triage_api.staff.models import Role
from triage_api.staff.service import Principal, principal_from_session, principal_from_token

SESSION_COOKIE = "triage_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = (
    "CSRF token missing or wrong: a signed-in browser must send its session's token "
    f"(the page's csrf-token meta tag) in the {CSRF_HEADER} header"
)
T = TypeVar("T")


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Opening one does no I/O (the connection is checked out on first use, in the
    endpoint's thread), so it happens on the event loop; closing it returns the connection (a rollback), so
    that runs in the thread pool. One thread-pool hop per request instead of two."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


DbDep = Annotated[Session, Depends(get_db)]


def get_router(request: Request) -> Router:
    """The routing rules and SLA targets `create_app` built (escalations and re-routes use them)."""
    router: Router = request.app.state.router
    return router


def get_sla(request: Request) -> Targets:
    """The SLA targets `create_app` built from the settings."""
    targets: Targets = request.app.state.sla
    return targets


RouterDep = Annotated[Router, Depends(get_router)]
SlaDep = Annotated[Targets, Depends(get_sla)]


def current_principal(request: Request, db: DbDep) -> Principal | None:
    """Who is asking. The lookup's read transaction ends here: the session lives as long as the response, and a
    long one (the live streams) would otherwise hold a pooled connection inside an open transaction for its
    whole life, exhausting the pool and blocking DDL on PostgreSQL. The endpoint's own queries begin anew."""
    try:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return principal_from_token(db, header[7:].strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return principal_from_session(db, cookie)
        return None
    finally:
        db.rollback()


PrincipalDep = Annotated[Principal | None, Depends(current_principal)]


def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work` in a session and transaction of its own, committed when it returns (rolled back if it
    raises). Wrap work that requests a platform action in `outbox.with_outbox` so its event is enqueued in
    the same transaction."""
    with request.app.state.sessionmaker() as db, db.begin():
        return work(db)


async def publish_now(request: Request, event: ActionRequested | None) -> None:
    """Publish the outbox now, waiting a little, when a request just enqueued `event`. When the bus is down
    it stays queued (shown on the flag) and the outbox relay retries it: the request still succeeds, never a
    retry by the user that would send the action twice."""
    if event is not None:
        settings = request.app.state.settings
        await request.app.state.outbox_relay.flush(settings.outbox_publish_wait_seconds)


def csrf_ok(principal: Principal, supplied: str | None) -> bool:
    """Whether `supplied` is the CSRF token of the principal's browser session, compared in constant time.
    A principal without one (a bearer token) never passes: forms and browser calls are for sessions."""
    expected = principal.csrf_token
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())


def require_csrf(request: Request, principal: Principal) -> None:
    """403 for an unsafe request (POST, PUT, PATCH, DELETE) by a browser session (the cookie) without its
    CSRF token in the `X-CSRF-Token` header. The session cookie is SameSite=Strict, but a page on another
    port of the same host is same-site, so the cookie alone proves nothing about who sent the request.
    Requests with a bearer token pass: a browser never adds that header on its own."""
    if principal.csrf_token is None or request.method in SAFE_METHODS:
        return
    if not csrf_ok(principal, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, CSRF_REFUSED)


def require(role: Role) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency that lets through principals with at least `role` (and, for a browser session's unsafe
    request, its CSRF token: `require_csrf`)."""

    # async: a check without I/O, run on the event loop rather than through the thread pool
    async def dependency(
        request: Request, principal: Annotated[Principal | None, Depends(current_principal)]
    ) -> Principal:
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        require_csrf(request, principal)
        if not principal.role.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires the {role.value} role")
        return principal

    return dependency


ViewerDep = Annotated[Principal, Depends(require(Role.VIEWER))]
ModeratorDep = Annotated[Principal, Depends(require(Role.MODERATOR))]
LeadDep = Annotated[Principal, Depends(require(Role.LEAD))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
