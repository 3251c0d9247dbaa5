"""Platform actions on a flag's comment (reply, private reply, hide, unhide, delete): composing a reply,
the misinformation approval step, the request for the outbox, and applying the platform's answer.

Every change writes an audit event in the same transaction. Functions take a session and leave committing
to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_events import (
    Account,
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    Label,
    Platform,
)

from triage_api.audit import service as audit
from triage_api.drafts.check import review_reply
from triage_api.errors import Conflict, Forbidden, NotFound, Unprocessable
from triage_api.flags.claims import ensure_free, load, now
from triage_api.flags.models import ActionState, Flag, FlagAction
from triage_api.flags.status import S, move
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import PRIVATE_REPLY_PLATFORMS, load_catalogue
from triage_api.replies.render import RenderError, render
from triage_api.staff.models import Role
from triage_api.staff.service import Principal

# What a successful platform action makes of the flag.
STATUS_AFTER = {
    ActionKind.REPLY: S.REPLIED,
    ActionKind.PRIVATE_REPLY: S.REPLIED,
    ActionKind.HIDE: S.HIDDEN,
    ActionKind.UNHIDE: S.IN_REVIEW,
    ActionKind.DELETE: S.RESOLVED,
}

SYSTEM_ACTOR = "system:ingest"


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
        move(flag, S.IN_REVIEW)
    lines = accounts.get(flag.account_id).phone_numbers()
    findings = review_reply(text, flag.text, lines, flag.platform).summary() if text else ""
    flag.last_action = f"{kind.value}: {'awaiting approval' if pending else 'requested'}"
    if pending and findings:
        flag.last_action += f" (draft check: {findings})"
    flag.last_action_error = None
    audit.record_by(
        db,
        principal,
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
    audit.record_by(
        db,
        principal,
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
