"""Admin routes: staff accounts and API tokens (raw tokens are shown once, stored only as hashes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from triage_api.audit import service as audit
from triage_api.deps import AdminDep, DbDep
from triage_api.errors import Conflict, NotFound, Unprocessable
from triage_api.params import RowId, UtcDateTime
from triage_api.staff.models import ApiToken, Role, User
from triage_api.staff.passwords import WeakPassword, check_new_password
from triage_api.staff.security import hash_password
from triage_api.staff.service import create_user, issue_token, now, revoke_access

router = APIRouter(prefix="/api", tags=["users"])


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: UtcDateTime


class UserIn(BaseModel):
    username: Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Annotated[str, Field(min_length=12, max_length=256)]
    role: Role
    display_name: Annotated[str, Field(max_length=128)] = ""


class UserPatch(BaseModel):
    role: Role | None = None
    active: bool | None = None
    password: Annotated[str | None, Field(min_length=12, max_length=256)] = None


class TokenIn(BaseModel):
    username: str
    name: Annotated[str, Field(min_length=1, max_length=128)]
    expires_days: Annotated[int | None, Field(ge=1, le=3650)] = 90


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    created_at: UtcDateTime
    expires_at: UtcDateTime | None


class IssuedToken(TokenOut):
    token: str  # shown once


@router.get("/users", response_model=list[UserOut])
def list_users(db: DbDep, _: AdminDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in db.scalars(select(User).order_by(User.username)).all()]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user_route(body: UserIn, db: DbDep, who: AdminDep) -> UserOut:
    """A local account with a hashed password."""
    if db.scalar(select(User).where(User.username == body.username)) is not None:
        raise Conflict(f"user {body.username} exists")
    _check_password(body.password, body.username, body.display_name)
    user = create_user(db, body.username, body.password, body.role, body.display_name)
    audit.record_by(db, who, "user.created", None, username=user.username, new_role=user.role)
    db.commit()
    return UserOut.model_validate(user)


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatch, db: DbDep, who: AdminDep) -> UserOut:
    """Change a role, deactivate, or reset a password. Each of these ends the user's sessions and deletes their
    API tokens (reactivating the account brings none back): whoever held them must sign in again, with the
    new role or password, and tokens are issued anew."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username}")
    if body.password is not None:
        _check_password(body.password, user.username, user.display_name)
    revoke = (
        (body.role is not None and body.role.value != user.role)
        or (body.active is False and user.active)
        or body.password is not None
    )
    if body.role is not None:
        user.role = body.role.value
    if body.active is not None:
        user.active = body.active
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    sessions, tokens = revoke_access(db, user.id) if revoke else (0, 0)
    audit.record_by(
        db,
        who,
        "user.updated",
        None,
        username=username,
        new_role=user.role,
        active=user.active,
        password_reset=body.password is not None,
        sessions_ended=sessions,
        tokens_revoked=tokens,
    )
    db.commit()
    return UserOut.model_validate(user)


def _check_password(password: str, username: str, display_name: str) -> None:
    try:
        check_new_password(password, username, display_name)
    except WeakPassword as exc:
        raise Unprocessable(str(exc)) from None


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(db: DbDep, _: AdminDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in db.scalars(select(ApiToken).order_by(ApiToken.id)).all()]


@router.post("/tokens", response_model=IssuedToken, status_code=201)
def issue_token_route(body: TokenIn, db: DbDep, who: AdminDep) -> IssuedToken:
    """A bearer token for a user; the raw value is in this response only."""
    user = db.scalar(select(User).where(User.username == body.username))
    if user is None:
        raise NotFound(f"no user {body.username}")
    raw = issue_token(db, user, body.name)
    db.flush()
    row = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).first()
    assert row is not None
    if body.expires_days is not None:
        row.expires_at = now() + timedelta(days=body.expires_days)
    audit.record_by(db, who, "token.issued", None, username=user.username, token_id=row.id)
    db.commit()
    return IssuedToken(**TokenOut.model_validate(row).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, db: DbDep, who: AdminDep) -> None:
    if db.execute(delete(ApiToken).where(ApiToken.id == token_id).returning(ApiToken.id)).first() is None:
        raise NotFound(f"no token {token_id}")
    audit.record_by(db, who, "token.revoked", None, token_id=token_id)
    db.commit()
