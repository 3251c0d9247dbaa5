"""What the retention purges share (flags' text, All comments, drafts): run the purge's statement and record how
many rows it touched in the audit log, with the count and the period only (never what the rows held)."""

from __future__ import annotations

from sqlalchemy import Delete, Update
from sqlalchemy.orm import Session

from triage_api.audit import service as audit

ACTOR = "system:retention"


def purge_rows(db: Session, statement: Delete | Update, action: str, days: int) -> int:
    """Run `statement` (a DELETE or UPDATE … RETURNING the rows' ids) in the caller's transaction, without
    syncing the session, and record it as `action` when it touched any row; returns how many it touched."""
    purged = len(db.execute(statement.execution_options(synchronize_session=False)).all())
    if purged:
        audit.record(db, ACTOR, audit.SYSTEM_ROLE, action, None, count=purged, days=days)
    return purged
