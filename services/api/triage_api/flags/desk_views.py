"""REST routes for working a flag: claim, assign, status, notes, feedback, replies and other platform
actions, approvals, and the reply templates that fit a flag."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from triage_events import ActionKind, Label

from triage_api.deps import DbDep, LeadDep, ModeratorDep, RouterDep, ViewerDep, in_transaction, publish_now
from triage_api.flags import assignment, claims, notes, platform_actions, status
from triage_api.flags.models import FlagStatus
from triage_api.flags.schemas import FlagOut, SuggestionOut
from triage_api.flags.suggestions import suggestions
from triage_api.outbox import with_outbox
from triage_api.params import UtcDateTime
from triage_api.replies.catalogue import ReplyTemplate, load_catalogue
from triage_api.staff.service import Principal

router = APIRouter(prefix="/api", tags=["desk"])


class StatusIn(BaseModel):
    status: FlagStatus
    reason: str = ""


class BulkStatusIn(BaseModel):
    ids: Annotated[list[str], Field(min_length=1, max_length=500)]
    status: FlagStatus


class AssignIn(BaseModel):
    assignee: str | None


class NoteIn(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=5000)]


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    at: UtcDateTime
    body: str


class FeedbackIn(BaseModel):
    label: Label
    correct: bool


class ReplyIn(BaseModel):
    template_id: str | None = None
    text: Annotated[str | None, Field(max_length=8000)] = None
    language: str | None = None
    variables: dict[str, str] | None = None
    private: bool = False


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    flag_id: str
    action: str
    text: str | None
    template_id: str | None
    requested_by: str
    requested_at: UtcDateTime
    status: str
    approved_by: str | None
    completed_at: UtcDateTime | None
    error: str | None


class TemplateOut(BaseModel):
    id: str
    title: str
    label: str
    emergency: str | None = None
    variant: str
    needs_approval: bool
    guidance: list[str]
    sources: list[str]
    text: dict[str, str]


def _template_out(t: ReplyTemplate) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        title=t.title,
        label=t.label.value,
        emergency=t.emergency.value if t.emergency else None,
        variant=t.variant,
        needs_approval=t.needs_approval,
        guidance=t.guidance,
        sources=t.sources,
        text=t.text,
    )


# --- workflow ----------------------------------------------------------------------------------------------


@router.post("/flags/{flag_id}/claim", response_model=FlagOut)
def claim_route(flag_id: str, request: Request, db: DbDep, who: ModeratorDep) -> FlagOut:
    """Claim the flag for `claim_minutes`; 409 while someone else holds it."""
    flag = claims.claim(db, flag_id, who, request.app.state.settings.claim_minutes)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/{flag_id}/release", response_model=FlagOut)
def release_route(flag_id: str, db: DbDep, who: ModeratorDep) -> FlagOut:
    flag = claims.release(db, flag_id, who)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/{flag_id}/assign", response_model=FlagOut)
def assign_route(flag_id: str, body: AssignIn, db: DbDep, who: ModeratorDep) -> FlagOut:
    flag = assignment.assign(db, flag_id, body.assignee, who)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/{flag_id}/status", response_model=FlagOut)
def status_route(flag_id: str, body: StatusIn, db: DbDep, routing: RouterDep, who: ModeratorDep) -> FlagOut:
    flag = status.set_status(db, routing, flag_id, body.status, who, body.reason)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/{flag_id}/dismiss", response_model=FlagOut)
def dismiss_route(flag_id: str, db: DbDep, routing: RouterDep, who: ModeratorDep) -> FlagOut:
    flag = status.set_status(db, routing, flag_id, FlagStatus.DISMISSED, who)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/{flag_id}/escalate", response_model=FlagOut)
def escalate_route(flag_id: str, db: DbDep, routing: RouterDep, who: ModeratorDep) -> FlagOut:
    flag = status.set_status(db, routing, flag_id, FlagStatus.ESCALATED, who)
    db.commit()
    return FlagOut.model_validate(flag)


@router.post("/flags/bulk-status")
def bulk_status_route(
    body: BulkStatusIn, db: DbDep, routing: RouterDep, who: ModeratorDep
) -> dict[str, dict[str, str]]:
    """One status for many flags; each id reports "ok" or why it was skipped."""
    results = status.bulk_status(db, routing, body.ids, body.status, who)
    db.commit()
    return {"results": results}


@router.get("/flags/{flag_id}/notes", response_model=list[NoteOut])
def notes_route(flag_id: str, db: DbDep, _: ViewerDep) -> list[NoteOut]:
    claims.load(db, flag_id)
    return [NoteOut.model_validate(n) for n in notes.notes(db, flag_id)]


@router.post("/flags/{flag_id}/notes", response_model=NoteOut, status_code=201)
def add_note_route(flag_id: str, body: NoteIn, db: DbDep, who: ModeratorDep) -> NoteOut:
    note = notes.add_note(db, flag_id, body.body, who)
    db.commit()
    return NoteOut.model_validate(note)


@router.put("/flags/{flag_id}/feedback")
def feedback_route(flag_id: str, body: FeedbackIn, db: DbDep, who: ModeratorDep) -> dict[str, str]:
    """Correct / wrong on one label, stored for retraining."""
    notes.set_feedback(db, flag_id, body.label, body.correct, who)
    db.commit()
    return {r.label: r.verdict for r in notes.feedback(db, flag_id) if r.username == who.username}


# --- platform actions --------------------------------------------------------------------------------------


async def _act(
    request: Request,
    flag_id: str,
    kind: ActionKind,
    who: Principal,
    reply: platform_actions.ReplyRequest | None = None,
) -> ActionOut:
    accounts = request.app.state.accounts
    row, event = await run_in_threadpool(
        in_transaction,
        request,
        with_outbox(lambda db: platform_actions.request_action(db, flag_id, kind, who, accounts, reply)),
    )
    await publish_now(request, event)
    return ActionOut.model_validate(row)


@router.post("/flags/{flag_id}/reply", response_model=ActionOut, status_code=202)
async def reply_route(flag_id: str, body: ReplyIn, request: Request, who: ModeratorDep) -> ActionOut:
    """Send a reply from a template (with the account's variables) or edited text. The PHI guard runs first
    (422 with its reasons); replies to misinformation wait for a lead's approval unless a lead sends them."""
    kind = ActionKind.PRIVATE_REPLY if body.private else ActionKind.REPLY
    reply = platform_actions.ReplyRequest(
        body.template_id, body.text, body.language, body.variables, body.private
    )
    return await _act(request, flag_id, kind, who, reply)


@router.post("/flags/{flag_id}/hide", response_model=ActionOut, status_code=202)
async def hide_route(flag_id: str, request: Request, who: ModeratorDep) -> ActionOut:
    return await _act(request, flag_id, ActionKind.HIDE, who)


@router.post("/flags/{flag_id}/unhide", response_model=ActionOut, status_code=202)
async def unhide_route(flag_id: str, request: Request, who: ModeratorDep) -> ActionOut:
    return await _act(request, flag_id, ActionKind.UNHIDE, who)


@router.post("/flags/{flag_id}/delete", response_model=ActionOut, status_code=202)
async def delete_route(flag_id: str, request: Request, who: LeadDep) -> ActionOut:
    """Delete the comment on the platform (lead and above)."""
    return await _act(request, flag_id, ActionKind.DELETE, who)


@router.post("/actions/{action_id}/approve", response_model=ActionOut, status_code=202)
async def approve_route(action_id: str, request: Request, who: LeadDep) -> ActionOut:
    """A lead (medical reviewer) approves a pending correction; it is sent now."""
    row, event = await run_in_threadpool(
        in_transaction, request, with_outbox(lambda db: platform_actions.decide(db, action_id, True, who))
    )
    await publish_now(request, event)
    return ActionOut.model_validate(row)


@router.post("/actions/{action_id}/reject", response_model=ActionOut)
def reject_route(action_id: str, db: DbDep, who: LeadDep) -> ActionOut:
    row, _ = platform_actions.decide(db, action_id, False, who)
    db.commit()
    return ActionOut.model_validate(row)


@router.get("/flags/{flag_id}/actions", response_model=list[ActionOut])
def actions_route(flag_id: str, db: DbDep, _: ViewerDep) -> list[ActionOut]:
    claims.load(db, flag_id)
    return [ActionOut.model_validate(a) for a in platform_actions.actions(db, flag_id)]


# --- templates ---------------------------------------------------------------------------------------------


@router.get("/templates", response_model=list[TemplateOut], tags=["templates"])
def templates_route(_: ViewerDep) -> list[TemplateOut]:
    """The reply template catalogue with the guidance and sources each follows."""
    return [_template_out(t) for t in load_catalogue().values()]


@router.get("/flags/{flag_id}/templates", response_model=list[SuggestionOut], tags=["templates"])
def flag_templates_route(
    flag_id: str, request: Request, db: DbDep, _: ViewerDep, language: str | None = None
) -> list[SuggestionOut]:
    """Suggested replies for this flag, filled in, with the guidance beside each."""
    return suggestions(claims.load(db, flag_id), request.app.state.accounts, language)
