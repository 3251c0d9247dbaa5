"""Request dependencies: the database session and the authenticated principal with its role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from triage_api.staff.models import Role
from triage_api.staff.service import Principal, principal_from_session, principal_from_token

SESSION_COOKIE = "triage_session"


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


DbDep = Annotated[Session, Depends(get_db)]


def current_principal(request: Request, db: DbDep) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return principal_from_token(db, header[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return principal_from_session(db, cookie)
    return None


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that lets through principals with at least `role`."""

    def dependency(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
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
