"""Request dependencies: the database session and the authenticated principal with its role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from triage_api.staff.models import Role
from triage_api.staff.service import Principal, principal_from_session, principal_from_token

SESSION_COOKIE = "triage_session"


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


def require(role: Role) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency that lets through principals with at least `role`."""

    # async: a check without I/O, run on the event loop rather than through the thread pool
    async def dependency(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.role.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires the {role.value} role")
        return principal

    return dependency


ViewerDep = Annotated[Principal, Depends(require(Role.VIEWER))]
ModeratorDep = Annotated[Principal, Depends(require(Role.MODERATOR))]
LeadDep = Annotated[Principal, Depends(require(Role.LEAD))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
