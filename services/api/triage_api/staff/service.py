"""Staff accounts, sessions and tokens: creation, lookup, bootstrap."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from triage_api.db import as_utc
from triage_api.staff.models import ApiToken, Role, StaffSession, User
from triage_api.staff.passwords import WeakPassword, check_new_password
from triage_api.staff.security import UNUSABLE_HASH, hash_password, hash_token, new_secret, verify_password

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is making a request, as far as authorisation is concerned."""

    user_id: int
    username: str
    role: Role
    csrf_token: str | None = None  # set for browser sessions
    # The queue order the person chose on the desk (`users.queue_order`, unchecked: `flags.service` reads it),
    # read by the same lookup as the rest, so a listing needs no query of its own for it.
    queue_order: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def create_user(db: Session, username: str, password: str | None, role: Role, display_name: str = "") -> User:
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password) if password else None,
        role=role.value,
        active=True,
        created_at=now(),
    )
    db.add(user)
    db.flush()
    return user


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None. An unknown, inactive or password-less (OIDC) account costs
    the same scrypt work as a wrong password, so the time taken doesn't tell which usernames exist."""
    user = db.scalar(select(User).where(User.username == username, User.active.is_(True)))
    stored = user.password_hash if user is not None else None
    matches = verify_password(password, stored or UNUSABLE_HASH)
    if user is None or not stored or not matches:
        return None
    return user


def revoke_access(db: Session, user_id: int) -> tuple[int, int]:
    """Delete the user's browser sessions and API tokens (deleted, not disabled: reactivating the account
    later brings none of them back). Returns how many sessions and tokens there were."""
    sessions = db.execute(
        delete(StaffSession).where(StaffSession.user_id == user_id).returning(StaffSession.id_hash)
    ).all()
    tokens = db.execute(delete(ApiToken).where(ApiToken.user_id == user_id).returning(ApiToken.id)).all()
    return len(sessions), len(tokens)


def start_session(db: Session, user: User, hours: int) -> tuple[str, StaffSession]:
    """A new browser session; returns the raw cookie value (stored only as a hash)."""
    raw = new_secret()
    session = StaffSession(
        id_hash=hash_token(raw),
        user_id=user.id,
        csrf_token=new_secret(),
        created_at=now(),
        expires_at=now() + timedelta(hours=hours),
    )
    db.add(session)
    return raw, session


def end_session(db: Session, raw: str) -> None:
    db.execute(delete(StaffSession).where(StaffSession.id_hash == hash_token(raw)))


# Every authenticated request runs one of these two lookups, so they select the few columns they need (plain
# rows, not ORM objects), the person's stored queue order among them. They stay uncached on purpose:
# deactivating a user or revoking a token takes effect on the next request, in every API process.
_SESSION_LOOKUP = (
    select(
        User.id,
        User.username,
        User.role,
        User.queue_order,
        StaffSession.csrf_token,
        StaffSession.expires_at,
    )
    .join(User, User.id == StaffSession.user_id)
    .where(StaffSession.id_hash == bindparam("id_hash"), User.active.is_(True))
)
_TOKEN_LOOKUP = (
    select(User.id, User.username, User.role, User.queue_order, ApiToken.expires_at)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), User.active.is_(True))
)


def principal_from_session(db: Session, raw: str) -> Principal | None:
    row = db.execute(_SESSION_LOOKUP, {"id_hash": hash_token(raw)}).first()
    if row is None:
        return None
    user_id, username, role, queue_order, csrf_token, expires_at = row
    if as_utc(expires_at) <= now():
        return None
    return Principal(user_id, username, Role(role), csrf_token, queue_order)


def principal_from_token(db: Session, raw: str) -> Principal | None:
    row = db.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(raw)}).first()
    if row is None:
        return None
    user_id, username, role, queue_order, expires_at = row
    if expires_at is not None and as_utc(expires_at) <= now():
        return None
    return Principal(user_id, username, Role(role), queue_order=queue_order)


def issue_token(db: Session, user: User, name: str, raw: str | None = None) -> str:
    raw = raw or new_secret()
    if db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))) is None:
        db.add(
            ApiToken(
                user_id=user.id, name=name, token_hash=hash_token(raw), created_at=now(), expires_at=None
            )
        )
    return raw


def ensure_bootstrap_admin(db: Session, username: str, password: str | None, token: str | None) -> str | None:
    """Create the first admin if there is none; register the bootstrap token. Returns a generated password.

    A password from the environment must pass the password policy (`WeakPassword` stops the start-up with
    the reason); a changed one replaces the stored one and ends the admin's sessions and tokens."""
    generated = None
    if password is not None:
        try:
            check_new_password(password, username, "Administrator")
        except WeakPassword as exc:
            raise WeakPassword(f"TRIAGE_BOOTSTRAP_ADMIN_PASSWORD: {exc}") from None
    admin = db.scalar(select(User).where(User.username == username))
    if admin is None:
        if password is None:
            password = generated = new_secret()[:20]
        admin = create_user(db, username, password, Role.ADMIN, display_name="Administrator")
        log.info("bootstrap admin created username=%s", username)
    elif password is not None and not verify_password(password, admin.password_hash):
        admin.password_hash = hash_password(password)
        revoke_access(db, admin.id)
        log.info("bootstrap admin password replaced from the environment username=%s", username)
    if token:
        issue_token(db, admin, "bootstrap", token)
    db.commit()
    return generated
