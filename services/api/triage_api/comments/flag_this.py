"""A person flags a comment the classifier passed ("Flag this" on All comments).

The flag is stored like a classifier's (`store_flags`), routed by the same rules in the same transaction, gets
its SLA due time from its severity, and is audited (`flag.raised_by_person`); the person's note is kept on it.
An urgent or privacy flag also stores its on-call alert at once, which the notifier pages like any other
(the caller wakes it after the commit). Each label the person chose that the classifier did not give is also a
"missing" label feedback row by that person, the same kind of row a moderator leaves on a flag's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import (
    DEFAULT_SEVERITY,
    Account,
    Author,
    Comment,
    CommentKind,
    FlagRaised,
    Label,
    Platform,
    Severity,
    immediate_alerts,
)

from triage_api.audit import service as audit
from triage_api.comments.models import SeenComment
from triage_api.db import as_utc
from triage_api.errors import Conflict, NotFound, Unprocessable
from triage_api.flags import notes
from triage_api.flags.models import Flag, LabelFeedback
from triage_api.flags.service import store_flags
from triage_api.oncall import service as oncall
from triage_api.routing.service import Router
from triage_api.staff.service import Principal

RAISED_BY_PERSON = "flag.raised_by_person"


@dataclass(frozen=True)
class Raised:
    flag_id: str
    alerts: int  # on-call alerts stored: wake the notifier after the commit
    event: FlagRaised


def _event(row: SeenComment, labels: list[Label]) -> FlagRaised:
    if row.text is None:
        raise Conflict("the comment was deleted on the platform: there is nothing left to flag")
    comment = Comment(
        platform_comment_id=row.platform_comment_id,
        kind=CommentKind(row.kind),
        text=row.text,
        author=Author(id=row.author_id, handle=row.author_handle),
        permalink=row.permalink,
        parent_id=row.parent_comment_id,
        thread_id=row.thread_id,
        created_at=as_utc(row.commented_at),
        language=row.language,
    )
    return FlagRaised(
        comment_key=row.comment_key,
        platform=Platform(row.platform),
        account=Account(id=row.account_id, handle=row.account_handle),
        comment=comment,
        labels=labels,
        scores={
            Label(name): score for name, score in row.scores.items() if name in Label.__members__.values()
        },
        severity=Severity.highest([DEFAULT_SEVERITY[label] for label in labels]),
        model_version=row.model_version,
        changed_at=as_utc(row.changed_at) if row.changed_at else as_utc(row.commented_at),
        language=row.language,
    )


def raise_flag(
    db: Session,
    comment_id: str,
    labels: list[Label],
    note: str,
    principal: Principal,
    router: Router,
    now: datetime | None = None,
) -> Raised:
    """Flag a stored comment for `labels`, in the caller's transaction. 404: no such comment; 409: it is
    flagged already (by the classifier or a person) or was deleted; 422: no label or an unusable note."""
    now = now or datetime.now(UTC)
    labels = list(dict.fromkeys(labels))
    if not labels:
        raise Unprocessable("choose at least one label")
    if "\x00" in note or len(note) > 5000:
        raise Unprocessable("a note holds at most 5,000 characters and no NUL characters")
    row = db.get(SeenComment, comment_id)
    if row is None:
        raise NotFound("no such comment")
    existing = db.scalar(select(Flag.id).where(Flag.comment_key == row.comment_key))
    if existing is not None:
        raise Conflict("this comment is flagged already", [f"flag {existing}"])
    event = _event(row, labels).model_copy(update={"occurred_at": now})
    if not store_flags(db, [event], targets=router.sla):
        raise Conflict("this comment is flagged already")
    flag_id = str(event.event_id)
    db.flush()
    flag = db.get(Flag, flag_id)
    assert flag is not None
    flag.raised_by = principal.username
    router.route(db, [event], now)
    audit.record_by(
        db,
        principal,
        RAISED_BY_PERSON,
        flag_id,
        labels=[label.value for label in labels],
        severity=event.severity.value,
        model_version=row.model_version,
    )
    if note.strip():
        notes.add_note(db, flag_id, note, principal)
    for label in labels:
        if label.value not in row.labels:
            db.add(LabelFeedback(flag_id=flag_id, label=label.value, username=principal.username,
                                 verdict="missing", at=now))  # fmt: skip
    alerts = immediate_alerts(event)
    stored = oncall.store_alerts(db, alerts, now) if alerts else []
    return Raised(flag_id, len(stored), event)
