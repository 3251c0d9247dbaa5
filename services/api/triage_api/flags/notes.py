"""Notes on a flag and moderators' verdicts on its labels (feedback, kept for retraining).

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import (
    Label,
)

from triage_api.audit import service as audit
from triage_api.errors import Unprocessable
from triage_api.flags.claims import load, now
from triage_api.flags.models import FlagNote, LabelFeedback
from triage_api.staff.service import Principal


def add_note(db: Session, flag_id: str, body: str, principal: Principal) -> FlagNote:
    load(db, flag_id)
    body = body.strip()
    if not body or "\x00" in body:
        raise Unprocessable("a note needs some text (and no NUL characters)")
    note = FlagNote(flag_id=flag_id, author=principal.username, at=now(), body=body[:5000])
    db.add(note)
    audit.record_by(db, principal, "flag.note", flag_id)
    return note


def notes(db: Session, flag_id: str) -> list[FlagNote]:
    return list(db.scalars(select(FlagNote).where(FlagNote.flag_id == flag_id).order_by(FlagNote.id)).all())


def set_feedback(db: Session, flag_id: str, label: Label, correct: bool, principal: Principal) -> None:
    """A moderator's verdict on one label (also on labels the flag lacks: a missed label is feedback too)."""
    load(db, flag_id)
    verdict = "correct" if correct else "wrong"
    row = db.get(LabelFeedback, (flag_id, label.value, principal.username))
    if row is None:
        db.add(
            LabelFeedback(
                flag_id=flag_id, label=label.value, username=principal.username, verdict=verdict, at=now()
            )
        )
    else:
        row.verdict, row.at = verdict, now()
    audit.record_by(
        db,
        principal,
        "flag.feedback",
        flag_id,
        label=label.value,
        verdict=verdict,
    )


def feedback(db: Session, flag_id: str) -> list[LabelFeedback]:
    return list(db.scalars(select(LabelFeedback).where(LabelFeedback.flag_id == flag_id)).all())
