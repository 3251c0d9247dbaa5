"""Loading a flag to work on, and its claim lock: who holds it, taking and releasing it, and refusing
another moderator's change while they hold it.

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from triage_api.audit import service as audit
from triage_api.db import as_utc
from triage_api.errors import Conflict, NotFound
from triage_api.flags.models import Flag
from triage_api.staff.models import Role
from triage_api.staff.service import Principal


def now() -> datetime:
    return datetime.now(UTC)


def load(db: Session, flag_id: str) -> Flag:
    # A NUL can't be in any id, and PostgreSQL refuses it in a query (a 500): answer 404 instead.
    flag = None if "\x00" in flag_id else db.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"no flag with id {flag_id}")
    return flag


def claim_holder(flag: Flag, at: datetime | None = None) -> str | None:
    """Who holds the claim now (None when unclaimed or expired)."""
    until = as_utc(flag.claimed_until) if flag.claimed_until else None
    if flag.claimed_by and until is not None and until > (at or now()):
        return flag.claimed_by
    return None


def ensure_free(flag: Flag, principal: Principal) -> None:
    """Acting on a flag another moderator has claimed is refused (409) until they release it or it expires."""
    holder = claim_holder(flag)
    if holder is not None and holder != principal.username:
        assert flag.claimed_until is not None  # a holder holds until then
        raise Conflict(f"flag is claimed by {holder} until {as_utc(flag.claimed_until):%H:%M} UTC")


def claim(db: Session, flag_id: str, principal: Principal, minutes: int) -> Flag:
    """Take the claim lock, atomically: one conditional UPDATE, so two moderators can't both win."""
    load(db, flag_id)
    at = now()
    won = db.execute(
        update(Flag)
        .where(
            Flag.id == flag_id,
            or_(Flag.claimed_by.is_(None), Flag.claimed_by == principal.username, Flag.claimed_until <= at),
        )
        .values(claimed_by=principal.username, claimed_until=at + timedelta(minutes=minutes))
        .returning(Flag.id)
        .execution_options(synchronize_session=False)
    ).first()
    flag = load(db, flag_id)
    db.refresh(flag)
    if won is None:
        ensure_free(flag, principal)  # raises with the holder's name
    audit.record_by(db, principal, "flag.claimed", flag_id, minutes=minutes)
    return flag


def release(db: Session, flag_id: str, principal: Principal) -> Flag:
    flag = load(db, flag_id)
    holder = claim_holder(flag)
    if holder is not None and holder != principal.username and not principal.role.allows(Role.LEAD):
        raise Conflict(f"flag is claimed by {holder}; only they or a lead can release it")
    flag.claimed_by = None
    flag.claimed_until = None
    audit.record_by(db, principal, "flag.released", flag_id, previous=holder)
    return flag
