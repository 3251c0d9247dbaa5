"""Giving a flag to a person: a moderator may take it themselves, leads assign anyone.

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_api.audit import service as audit
from triage_api.errors import Forbidden, Unprocessable
from triage_api.flags.claims import ensure_free, load
from triage_api.flags.models import Flag
from triage_api.flags.status import S, move
from triage_api.staff.models import Role, User
from triage_api.staff.service import Principal


def assign(db: Session, flag_id: str, assignee: str | None, principal: Principal) -> Flag:
    """Give a flag to a person (a moderator may take it themselves; leads assign anyone)."""
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    if assignee is not None:
        if assignee != principal.username and not principal.role.allows(Role.LEAD):
            raise Forbidden("only a lead can assign a flag to someone else")
        user = db.scalar(select(User).where(User.username == assignee, User.active.is_(True)))
        if user is None or not Role(user.role).allows(Role.MODERATOR):
            raise Unprocessable(f"{assignee} is not an active moderator")
    flag.assignee = assignee
    if assignee and flag.status == S.NEW:
        move(flag, S.ASSIGNED)
    elif assignee is None and flag.status == S.ASSIGNED:
        move(flag, S.NEW)
    audit.record_by(db, principal, "flag.assigned", flag_id, assignee=assignee)
    return flag
