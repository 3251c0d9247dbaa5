"""REST routes for drafts (`/api/drafts`) and the desk's Drafts page (`/drafts`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from triage_events import Platform

from triage_api.audit.schemas import AuditEntryOut
from triage_api.deps import DbDep, LeadDep, ModeratorDep, PrincipalDep, ViewerDep, in_transaction
from triage_api.drafts import service
from triage_api.drafts.findings import Draft
from triage_api.drafts.rules import rules
from triage_api.outbox import with_outbox
from triage_api.params import UtcDateTime
from triage_api.staff.models import Role

router = APIRouter(prefix="/api/drafts", tags=["drafts"])
page_router = APIRouter(include_in_schema=False)
rules()  # a malformed rules file fails at start-up, not at the first check

MAX_TEXT = 8000  # longer than any platform allows in one post (LinkedIn 3,000, Facebook 63,206 is not usual)


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    platform: Platform = Platform.FACEBOOK
    account_id: Annotated[str, Field(max_length=256)] = "*"
    caption: Annotated[str, Field(max_length=2200, description="image caption or alt text")] = ""
    links: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=20)] = []
    sponsored: bool = False
    sponsor: Annotated[str, Field(max_length=200)] = ""
    reply_to: Annotated[
        str | None, Field(max_length=20_000, description="the comment a reply answers (checks a reply)")
    ] = None

    @field_validator("text", "caption", "sponsor", "account_id")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value

    def draft(self, post: bool = False) -> Draft:
        """The draft to check; `post`: as a post even if `reply_to` was given (saved drafts are posts)."""
        links = tuple(link.strip() for link in self.links if link.strip())
        reply_to = None if post else self.reply_to
        return Draft(
            self.text,
            self.platform.value,
            self.caption,
            links,
            self.sponsored,
            self.sponsor.strip(),
            reply_to,
        )


class FindingOut(BaseModel):
    kind: str
    title: str
    rule: str
    field: str
    start: int
    end: int
    excerpt: str
    message: str
    guidelines: list[str]
    fix: str
    blocks: bool


class CheckOut(BaseModel):
    findings: list[FindingOut]
    needs_approval: bool


class DraftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    platform: str
    text: str
    caption: str
    links: list[str]
    sponsored: bool
    sponsor: str
    status: str
    findings: list[FindingOut]
    needs_approval: bool
    can_publish_to_platform: bool
    created_by: str
    created_at: UtcDateTime
    updated_by: str
    updated_at: UtcDateTime
    approved_by: str | None
    approved_at: UtcDateTime | None
    published_by: str | None
    published_at: UtcDateTime | None
    action_id: str | None
    platform_result_id: str | None
    error: str | None


def draft_out(row: Any) -> DraftOut:
    return DraftOut.model_validate(
        {
            **{c: getattr(row, c) for c in DraftOut.model_fields if hasattr(row, c)},
            "needs_approval": service.needs_approval(row),
            "can_publish_to_platform": Platform(row.platform) in service.POSTING_PLATFORMS,
        }
    )


@router.post("/check", response_model=CheckOut)
def check_route(body: DraftIn, request: Request, db: DbDep, who: ModeratorDep) -> CheckOut:
    """Check a post or a reply without saving it: every finding with the span it concerns (in `text` or
    `caption`), the guidance it follows and a fix. The check is audited (the content's hash and the kinds
    found, never the text)."""
    findings = service.check(db, body.draft(), who, request.app.state.accounts, body.account_id)
    db.commit()
    out = [FindingOut.model_validate(service.finding_out(f)) for f in findings]
    return CheckOut(findings=out, needs_approval=bool(out))


@router.post("", response_model=DraftOut, status_code=201)
def create_route(body: DraftIn, request: Request, db: DbDep, who: ModeratorDep) -> DraftOut:
    """Save a new draft (checked as it is saved)."""
    row = service.save(db, None, body.draft(post=True), body.account_id, who, request.app.state.accounts)
    db.commit()
    return draft_out(row)


@router.get("", response_model=list[DraftOut])
def list_route(db: DbDep, _: ViewerDep) -> list[DraftOut]:
    """The latest drafts, newest first."""
    return [draft_out(r) for r in service.recent(db)]


@router.get("/{draft_id}", response_model=DraftOut)
def get_route(draft_id: str, db: DbDep, _: ViewerDep) -> DraftOut:
    return draft_out(service.load(db, draft_id))


@router.put("/{draft_id}", response_model=DraftOut)
def update_route(draft_id: str, body: DraftIn, request: Request, db: DbDep, who: ModeratorDep) -> DraftOut:
    """Replace an unpublished draft's content; it is checked again, and a change voids an approval."""
    row = service.save(db, draft_id, body.draft(post=True), body.account_id, who, request.app.state.accounts)
    db.commit()
    return draft_out(row)


@router.post("/{draft_id}/approve", response_model=DraftOut)
def approve_route(draft_id: str, db: DbDep, who: LeadDep) -> DraftOut:
    """A lead approves the draft as it is now, findings and all."""
    row = service.approve(db, draft_id, who)
    db.commit()
    return draft_out(row)


@router.post("/{draft_id}/publish", response_model=DraftOut, status_code=202)
async def publish_route(draft_id: str, request: Request, who: ModeratorDep) -> DraftOut:
    """Publish through the actions path (a `post` request; ingest runs it dry unless configured live).
    409 while the draft has findings that no lead approved."""
    row, _ = await run_in_threadpool(
        in_transaction, request, with_outbox(lambda db: service.publish(db, draft_id, who))
    )
    settings = request.app.state.settings
    await request.app.state.outbox_relay.flush(settings.outbox_publish_wait_seconds)
    return draft_out(row)


@router.get("/{draft_id}/audit", response_model=list[AuditEntryOut])
def audit_route(draft_id: str, db: DbDep, _: ViewerDep) -> list[AuditEntryOut]:
    """The draft's audit entries, oldest first."""
    service.load(db, draft_id)
    return [AuditEntryOut.model_validate(e) for e in service.history(db, draft_id)]


@page_router.get("/drafts", response_class=HTMLResponse)
def drafts_page(request: Request, principal: PrincipalDep) -> Response:
    """The Drafts page: write a post or a reply, check it, save, approve (leads), publish."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return request.app.state.templates.TemplateResponse(
        request,
        "drafts.html",
        {
            "principal": principal,
            "can_act": principal.role.allows(Role.MODERATOR),
            "is_lead": principal.role.allows(Role.LEAD),
            "platforms": [p.value for p in Platform],
            "posting": sorted(p.value for p in service.POSTING_PLATFORMS),
            "kinds": {k: v["title"] for k, v in rules().kinds.items()},
        },
    )
