"""The moderation workflow on a flag: statuses and their allowed moves, the claim lock, assignment, notes,
label feedback, and platform actions (reply, hide, unhide, delete) with the misinformation approval step.
Escalating a flag or raising its severity routes it again (`routing.service.reroute`) with the routing
config bound to the session; a lead can re-route a flag to a team by hand.

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller, except where noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from triage_events import (
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    Label,
    Platform,
    Severity,
)

from triage_api.audit import service as audit
from triage_api.db import as_utc
from triage_api.drafts.check import review_reply
from triage_api.errors import Conflict, Forbidden, NotFound, Unprocessable
from triage_api.flags import sla
from triage_api.flags.models import ActionState, Flag, FlagAction, FlagNote, FlagStatus, LabelFeedback
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import PRIVATE_REPLY_PLATFORMS, load_catalogue
from triage_api.replies.render import RenderError, render
from triage_api.routing import service as routing
from triage_api.staff.models import Role, User
from triage_api.staff.service import Principal

S = FlagStatus
TRANSITIONS: dict[FlagStatus, frozenset[FlagStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED}),
    S.ASSIGNED: frozenset({S.NEW, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED}),
    S.IN_REVIEW: frozenset({S.ASSIGNED, S.REPLIED, S.HIDDEN, S.DISMISSED, S.ESCALATED, S.RESOLVED}),
    S.REPLIED: frozenset({S.IN_REVIEW, S.HIDDEN, S.ESCALATED, S.RESOLVED}),
    S.HIDDEN: frozenset({S.IN_REVIEW, S.REPLIED, S.ESCALATED, S.RESOLVED}),
    S.DISMISSED: frozenset({S.IN_REVIEW, S.RESOLVED}),
    S.ESCALATED: frozenset({S.ASSIGNED, S.IN_REVIEW, S.REPLIED, S.HIDDEN, S.DISMISSED, S.RESOLVED}),
    S.RESOLVED: frozenset({S.IN_REVIEW}),
}
# Statuses a moderator sets directly; replied and hidden come from the platform's answer to an action.
MANUAL_STATUSES = frozenset({S.NEW, S.ASSIGNED, S.IN_REVIEW, S.DISMISSED, S.ESCALATED, S.RESOLVED})
# What a successful platform action makes of the flag.
STATUS_AFTER = {
    ActionKind.REPLY: S.REPLIED,
    ActionKind.PRIVATE_REPLY: S.REPLIED,
    ActionKind.HIDE: S.HIDDEN,
    ActionKind.UNHIDE: S.IN_REVIEW,
    ActionKind.DELETE: S.RESOLVED,
}
SYSTEM_ACTOR = "system:ingest"


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
    audit.record(db, principal.username, principal.role.value, "flag.claimed", flag_id, minutes=minutes)
    return flag


def release(db: Session, flag_id: str, principal: Principal) -> Flag:
    flag = load(db, flag_id)
    holder = claim_holder(flag)
    if holder is not None and holder != principal.username and not principal.role.allows(Role.LEAD):
        raise Conflict(f"flag is claimed by {holder}; only they or a lead can release it")
    flag.claimed_by = None
    flag.claimed_until = None
    audit.record(db, principal.username, principal.role.value, "flag.released", flag_id, previous=holder)
    return flag


def _move(flag: Flag, target: FlagStatus) -> None:
    current = FlagStatus(flag.status)
    if target != current and target not in TRANSITIONS[current]:
        raise Conflict(f"cannot move a flag from {current.value} to {target.value}")
    flag.status = target.value


def set_status(db: Session, flag_id: str, target: FlagStatus, principal: Principal, reason: str = "") -> Flag:
    """A manual status change (dismiss, escalate, resolve, reopen …)."""
    if target not in MANUAL_STATUSES:
        raise Unprocessable(f"{target.value} is set by the platform's answer to an action, not by hand")
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    previous = flag.status
    _move(flag, target)
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "flag.status",
        flag_id,
        previous=previous,
        status=target.value,
        reason=reason[:200],
    )
    if target == S.ESCALATED and previous != S.ESCALATED.value:
        _escalated(db, flag, routing.RerouteReason.ESCALATED, principal)
    return flag


def _escalated(db: Session, flag: Flag, reason: routing.RerouteReason, principal: Principal) -> None:
    """Route an escalated flag again (which restarts its SLA clock), when the session knows the routing
    config (every app session does); without one, only the clock restarts."""
    config = routing.config_of(db)
    at = now()
    if config is not None:
        routing.reroute(db, config, flag, reason, principal.username, principal.role.value, at)
    else:
        sla.restart(flag, at)
        flag.updated_at = at


def raise_severity(db: Session, flag_id: str, target: Severity, principal: Principal) -> Flag:
    """Raise a flag's severity (never lower it); the flag is routed again as an escalation."""
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    previous = Severity(flag.severity)
    if target.rank <= previous.rank:
        raise Unprocessable(f"severity can only be raised: {flag.severity} is not below {target.value}")
    flag.severity, flag.severity_rank = target.value, target.rank
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "flag.severity",
        flag_id,
        previous=previous.value,
        severity=target.value,
    )
    _escalated(db, flag, routing.RerouteReason.SEVERITY, principal)
    return flag


def reroute(
    db: Session, flag_id: str, team: str, assignee: str | None, principal: Principal
) -> tuple[Flag, datetime]:
    """A lead sends a flag to another team (and optionally a person in it); returns the flag and its due time
    (kept: a manual re-route does not restart the SLA clock)."""
    if not principal.role.allows(Role.LEAD):
        raise Forbidden("re-routing a flag requires the lead role")
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    config = routing.config_of(db)
    if config is None or team not in config.teams:
        raise Unprocessable(f"no team {team}")
    if assignee is not None:
        user = db.scalar(select(User).where(User.username == assignee, User.active.is_(True)))
        if user is None or not Role(user.role).allows(Role.MODERATOR):
            raise Unprocessable(f"{assignee} is not an active moderator")
    routing.reroute(
        db,
        config,
        flag,
        routing.RerouteReason.MANUAL,
        principal.username,
        principal.role.value,
        now(),
        team_name=team,
        assignee=assignee,
    )
    return flag, flag.due_at


def bulk_status(db: Session, flag_ids: list[str], target: FlagStatus, principal: Principal) -> dict[str, str]:
    """Apply one status to many flags; each flag reports "ok" or why it was skipped."""
    results: dict[str, str] = {}
    for flag_id in dict.fromkeys(flag_ids):
        try:
            with db.begin_nested():
                set_status(db, flag_id, target, principal, reason="bulk")
            results[flag_id] = "ok"
        except (Conflict, NotFound, Unprocessable) as exc:
            results[flag_id] = exc.message
    return results


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
        _move(flag, S.ASSIGNED)
    elif assignee is None and flag.status == S.ASSIGNED:
        _move(flag, S.NEW)
    audit.record(db, principal.username, principal.role.value, "flag.assigned", flag_id, assignee=assignee)
    return flag


def add_note(db: Session, flag_id: str, body: str, principal: Principal) -> FlagNote:
    load(db, flag_id)
    body = body.strip()
    if not body or "\x00" in body:
        raise Unprocessable("a note needs some text (and no NUL characters)")
    note = FlagNote(flag_id=flag_id, author=principal.username, at=now(), body=body[:5000])
    db.add(note)
    audit.record(db, principal.username, principal.role.value, "flag.note", flag_id)
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
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "flag.feedback",
        flag_id,
        label=label.value,
        verdict=verdict,
    )


def feedback(db: Session, flag_id: str) -> list[LabelFeedback]:
    return list(db.scalars(select(LabelFeedback).where(LabelFeedback.flag_id == flag_id)).all())


# --- platform actions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyRequest:
    template_id: str | None = None
    text: str | None = None
    language: str | None = None
    variables: dict[str, str] | None = None
    private: bool = False


def compose_reply(flag: Flag, request: ReplyRequest, accounts: AccountBook) -> tuple[str, str | None, bool]:
    """The reply's final text, its template id, and whether it needs a lead's approval; raises Unprocessable
    with the guard's reasons if the text may not be sent."""
    settings = accounts.get(flag.account_id)
    needs_approval = Label.MISINFORMATION.value in flag.labels
    template_id = request.template_id
    if request.text and request.text.strip():
        text = request.text.strip()
    elif template_id:
        template = load_catalogue().get(template_id)
        if template is None:
            raise Unprocessable(f"no template {template_id}")
        needs_approval = needs_approval or template.needs_approval
        variables = {**settings.variables(), "handle": commenter_handle(flag)}
        # Request variables may only fill the template's own placeholders, never add new content.
        variables.update({k: v for k, v in (request.variables or {}).items() if k in variables})
        try:
            text = render(template, request.language or settings.language, variables)
        except RenderError as exc:
            raise Unprocessable(f"template {template_id} could not be rendered: {exc}") from exc
    else:
        raise Unprocessable("a reply needs a template_id or text")
    if request.private and flag.platform not in PRIVATE_REPLY_PLATFORMS:
        raise Unprocessable(f"{flag.platform} does not allow a private reply")
    if "\x00" in text:
        raise Unprocessable("a reply cannot contain NUL characters")
    # The draft check (`triage_api.drafts`): the PHI guard's findings block the reply; any other finding
    # (individual advice, an unsourced claim, an opinion...) sends it to a lead.
    review = review_reply(text, flag.text, settings.phone_numbers(), flag.platform)
    if review.blocked:
        raise Unprocessable("the PHI guard blocked this reply", review.reasons())
    return text, template_id, needs_approval or review.needs_review


def commenter_handle(flag: Flag) -> str:
    """The commenter's public handle with its @, or "" for a comment without an author (the templates then
    greet no one rather than "there")."""
    handle = flag.author_handle.strip()
    return "" if not handle else handle if handle.startswith("@") else f"@{handle}"


def request_action(
    db: Session,
    flag_id: str,
    kind: ActionKind,
    principal: Principal,
    accounts: AccountBook,
    reply: ReplyRequest | None = None,
) -> tuple[FlagAction, ActionRequested | None]:
    """Record an action and return the event to publish (None while it waits for a lead's approval)."""
    flag = load(db, flag_id)
    ensure_free(flag, principal)
    if flag.comment_deleted_at is not None:
        raise Conflict("the comment was deleted on the platform: there is nothing left to act on")
    if kind == ActionKind.DELETE and not principal.role.allows(Role.LEAD):
        raise Forbidden("deleting a comment requires the lead role")
    text = template_id = None
    needs_approval = False
    if kind in (ActionKind.REPLY, ActionKind.PRIVATE_REPLY):
        text, template_id, needs_approval = compose_reply(flag, reply or ReplyRequest(), accounts)
    pending = needs_approval and not principal.role.allows(Role.LEAD)
    row = FlagAction(
        id=str(uuid4()),
        flag_id=flag_id,
        action=kind.value,
        text=text,
        template_id=template_id,
        requested_by=principal.username,
        requested_at=now(),
        status=(ActionState.PENDING_APPROVAL if pending else ActionState.REQUESTED).value,
        approved_by=principal.username if needs_approval and not pending else None,
    )
    db.add(row)
    if flag.status in (S.NEW, S.ASSIGNED):
        _move(flag, S.IN_REVIEW)
    lines = accounts.get(flag.account_id).phone_numbers()
    findings = review_reply(text, flag.text, lines, flag.platform).summary() if text else ""
    flag.last_action = f"{kind.value}: {'awaiting approval' if pending else 'requested'}"
    if pending and findings:
        flag.last_action += f" (draft check: {findings})"
    flag.last_action_error = None
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "action.pending_approval" if pending else "action.requested",
        flag_id,
        kind=kind.value,
        action_id=row.id,
        template_id=template_id,
        findings=findings or None,
    )
    return row, None if pending else _event(flag, row)


def decide(
    db: Session, action_id: str, approve: bool, principal: Principal
) -> tuple[FlagAction, ActionRequested | None]:
    """A lead approves (the event is returned for publishing) or rejects a pending reply."""
    if not principal.role.allows(Role.LEAD):
        raise Forbidden("approving a correction requires the lead role")
    row = None if "\x00" in action_id else db.get(FlagAction, action_id)
    if row is None:
        raise NotFound(f"no action {action_id}")
    if row.status != ActionState.PENDING_APPROVAL:
        raise Conflict(f"action is {row.status}, not awaiting approval")
    flag = load(db, row.flag_id)
    row.approved_by = principal.username
    row.status = (ActionState.REQUESTED if approve else ActionState.REJECTED).value
    flag.last_action = f"{row.action}: {'approved' if approve else 'rejected'} by {principal.username}"
    audit.record(
        db,
        principal.username,
        principal.role.value,
        "action.approved" if approve else "action.rejected",
        row.flag_id,
        kind=row.action,
        action_id=row.id,
    )
    return row, _event(flag, row) if approve else None


def _event(flag: Flag, row: FlagAction) -> ActionRequested:
    return ActionRequested(
        event_id=row.id,
        action=ActionKind(row.action),
        comment_key=flag.comment_key,
        platform=Platform(flag.platform),
        account=Account(id=flag.account_id, handle=flag.account_handle),
        platform_comment_id=flag.platform_comment_id,
        text=row.text,
        requested_by=row.requested_by if row.approved_by is None else f"{row.requested_by}/{row.approved_by}",
    )


def record_completion(db: Session, completed: ActionCompleted) -> bool:
    """Apply an `ActionCompleted` to its action and flag; False for one already applied or not ours."""
    row = db.get(FlagAction, str(completed.request_id))
    if row is None or row.status in (ActionState.DONE, ActionState.DRY_RUN, ActionState.FAILED):
        return False
    row.status = completed.status.value
    row.completed_at = now()
    row.platform_result_id = completed.platform_result_id
    row.error = (completed.error or "")[:500] or None
    flag = load(db, row.flag_id)
    kind = ActionKind(row.action)
    if completed.status == ActionStatus.FAILED:
        flag.last_action = f"{kind.value}: failed"
        flag.last_action_error = row.error or "failed"
    else:
        # The platform's answer is the truth: apply it even if someone moved the flag meanwhile.
        flag.status = STATUS_AFTER[kind].value
        flag.last_action = (
            f"{kind.value}: {'done (dry run)' if completed.status == ActionStatus.DRY_RUN else 'done'}"
        )
        flag.last_action_error = None
    audit.record(
        db,
        SYSTEM_ACTOR,
        "system",
        f"action.{completed.status.value}",
        row.flag_id,
        kind=kind.value,
        action_id=row.id,
        error=row.error,
    )
    return True


def actions(db: Session, flag_id: str) -> list[FlagAction]:
    return list(
        db.scalars(
            select(FlagAction).where(FlagAction.flag_id == flag_id).order_by(FlagAction.requested_at)
        ).all()
    )
