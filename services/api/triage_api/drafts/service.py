"""Drafts through review to publishing. Every step writes an audit entry in the same transaction.

- Saving a draft (new or edited) checks it and stores the findings; an edit voids an earlier approval.
- A draft may be published when its latest check found nothing, or when a lead approved this very content
  (the approval keeps the content's SHA-256: any change needs a new check or a new approval).
- Publishing is an `ActionRequested` of kind `post` (comment_key `draft:<id>`), committed with the draft's
  change through the outbox; ingest executes it (dry-run by default) and its `ActionCompleted` comes back
  to `record_completion`.

The audit log is append-only and must not collect PHI a check may have found in a draft: entries for
saves, checks and approvals carry the content's hash and the finding kinds, never the text; the entry for
publishing carries the published text, which the post makes public anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from triage_events import Account, ActionCompleted, ActionKind, ActionRequested, ActionStatus, Platform

from triage_api.audit import service as audit
from triage_api.audit.models import AuditEvent
from triage_api.drafts.check import check_draft
from triage_api.drafts.findings import Draft, Finding
from triage_api.drafts.models import DraftRow, DraftStatus
from triage_api.errors import Conflict, NotFound, Unprocessable
from triage_api.purge import purge_rows
from triage_api.replies.accounts import AccountBook
from triage_api.staff.models import Role
from triage_api.staff.service import Principal

# Platforms whose APIs publish a text post for an account: Facebook Page feed, LinkedIn, X, Reddit (and the
# demo platform). Instagram needs an image or video, YouTube and TikTok a video: not offered.
POSTING_PLATFORMS = frozenset(
    {Platform.FACEBOOK, Platform.LINKEDIN, Platform.X, Platform.REDDIT, Platform.DEMO}
)
KEY_PREFIX = "draft:"
SYSTEM_ACTOR = "system:ingest"
DRAFT_ACTIONS = (
    "draft.checked",
    "draft.saved",
    "draft.approved",
    "draft.published",
    "draft.post_done",
    "draft.post_dry_run",
    "draft.post_failed",
)
FINISHED = frozenset({DraftStatus.PUBLISHED, DraftStatus.DRY_RUN, DraftStatus.FAILED})


def now() -> datetime:
    return datetime.now(UTC)


def content_hash(draft: Draft) -> str:
    """SHA-256 of what is checked and published, so an approval is for exactly this content."""
    body = {
        "text": draft.text,
        "platform": draft.platform,
        "caption": draft.caption,
        "links": list(draft.links),
        "sponsored": draft.sponsored,
        "sponsor": draft.sponsor,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def finding_out(finding: Finding) -> dict[str, Any]:
    out = asdict(finding)
    out["guidelines"] = list(finding.guidelines)
    out["title"] = finding.title
    return out


def kinds(findings: list[dict[str, Any]] | list[Finding]) -> dict[str, int]:
    """How many findings of each kind (what the audit keeps of a check)."""
    return dict(Counter(f["kind"] if isinstance(f, dict) else f.kind for f in findings))


def check(
    db: Session, draft: Draft, principal: Principal, accounts: AccountBook, account_id: str
) -> list[Finding]:
    """A check without saving (the Drafts page's "Check" and `POST /api/drafts/check`), audited."""
    findings = check_draft(draft, accounts.get(account_id))
    audit.record_by(
        db,
        principal,
        "draft.checked",
        platform=draft.platform,
        content_sha256=content_hash(draft),
        findings=kinds(findings),
    )
    return findings


def as_draft(row: DraftRow) -> Draft:
    return Draft(row.text, row.platform, row.caption, tuple(row.links), row.sponsored, row.sponsor)


def load(db: Session, draft_id: str) -> DraftRow:
    row = None if "\x00" in draft_id else db.get(DraftRow, draft_id)
    if row is None:
        raise NotFound(f"no draft {draft_id}")
    return row


def save(
    db: Session,
    draft_id: str | None,
    draft: Draft,
    account_id: str,
    principal: Principal,
    accounts: AccountBook,
) -> DraftRow:
    """Create a draft, or replace an unpublished one's content; either way it is checked again."""
    findings = check_draft(draft, accounts.get(account_id))
    digest = content_hash(draft)
    at = now()
    if draft_id is None:
        row = DraftRow(id=str(uuid4()), created_by=principal.username, created_at=at)
        db.add(row)
    else:
        row = load(db, draft_id)
        if row.status != DraftStatus.DRAFT:
            raise Conflict(f"the draft is {row.status}: published drafts are kept as they went out")
    changed = row.content_hash != digest
    row.account_id, row.platform, row.text, row.caption = (
        account_id,
        draft.platform,
        draft.text,
        draft.caption,
    )
    row.links, row.sponsored, row.sponsor = list(draft.links), draft.sponsored, draft.sponsor
    row.status = DraftStatus.DRAFT.value
    row.findings = [finding_out(f) for f in findings]
    row.content_hash = digest
    row.updated_by, row.updated_at = principal.username, at
    if changed and row.approved_hash is not None and row.approved_hash != digest:
        row.approved_by = row.approved_at = row.approved_hash = None  # an approval is for what was approved
    db.flush()
    audit.record_by(
        db,
        principal,
        "draft.saved",
        draft_id=row.id,
        platform=row.platform,
        content_sha256=digest,
        findings=kinds(findings),
    )
    return row


def needs_approval(row: DraftRow) -> bool:
    """Findings on the latest check, and no lead's approval of this very content."""
    return bool(row.findings) and row.approved_hash != row.content_hash


def approve(db: Session, draft_id: str, principal: Principal) -> DraftRow:
    """A lead approves the draft as it is now, findings and all (they read them first)."""
    row = load(db, draft_id)
    if row.status != DraftStatus.DRAFT:
        raise Conflict(f"the draft is {row.status}, not awaiting approval")
    row.approved_by, row.approved_at, row.approved_hash = principal.username, now(), row.content_hash
    audit.record_by(
        db,
        principal,
        "draft.approved",
        draft_id=row.id,
        content_sha256=row.content_hash,
        findings=kinds(row.findings),
    )
    return row


def publish(db: Session, draft_id: str, principal: Principal) -> tuple[DraftRow, ActionRequested]:
    """Send the draft out: the `post` request is returned for the caller's outbox, in this transaction."""
    row = load(db, draft_id)
    if row.status != DraftStatus.DRAFT:
        raise Conflict(f"the draft is {row.status}: it was already sent")
    platform = Platform(row.platform)
    if platform not in POSTING_PLATFORMS:
        raise Unprocessable(f"{platform.value} does not allow text posts through its API")
    if needs_approval(row) and not principal.role.allows(Role.LEAD):
        raise Conflict(
            "this draft has findings: a lead must approve it, or edit it until the check finds nothing",
            [f"{f['title']}: {f['message']}" for f in row.findings],
        )
    if needs_approval(row):  # a lead publishing a draft with findings approves it by doing so
        approve(db, draft_id, principal)
    row.status = DraftStatus.PUBLISHING.value
    row.action_id = str(uuid4())
    row.published_by, row.published_at = principal.username, now()
    event = ActionRequested(
        event_id=row.action_id,
        action=ActionKind.POST,
        comment_key=f"{KEY_PREFIX}{row.id}",
        platform=platform,
        account=Account(id=row.account_id),
        platform_comment_id="",
        text=row.text,
        requested_by=principal.username
        if row.approved_by in (None, principal.username)
        else f"{principal.username}/{row.approved_by}",
    )
    audit.record_by(
        db,
        principal,
        "draft.published",
        draft_id=row.id,
        action_id=row.action_id,
        platform=row.platform,
        account_id=row.account_id,
        approved_by=row.approved_by,
        text=row.text,
    )
    return row, event


def record_completion(db: Session, completed: ActionCompleted) -> bool:
    """Apply ingest's answer to a `post`; False for one that is not a draft's or was applied already."""
    if completed.action != ActionKind.POST or not completed.comment_key.startswith(KEY_PREFIX):
        return False
    row = db.scalar(select(DraftRow).where(DraftRow.action_id == str(completed.request_id)))
    if row is None or row.status in FINISHED:
        return False
    row.status = {
        ActionStatus.DONE: DraftStatus.PUBLISHED,
        ActionStatus.DRY_RUN: DraftStatus.DRY_RUN,
        ActionStatus.FAILED: DraftStatus.FAILED,
    }[completed.status].value
    row.platform_result_id = completed.platform_result_id
    row.error = (completed.error or "")[:500] or None
    audit.record(
        db,
        SYSTEM_ACTOR,
        "system",
        f"draft.post_{completed.status.value}",
        draft_id=row.id,
        action_id=row.action_id,
        platform_result_id=row.platform_result_id,
        error=row.error,
    )
    return True


def recent(db: Session, limit: int = 50) -> list[DraftRow]:
    return list(db.scalars(select(DraftRow).order_by(DraftRow.created_at.desc()).limit(limit)).all())


def history(db: Session, draft_id: str, scan: int = 2000) -> list[AuditEvent]:
    """The draft's audit entries, oldest first (among the latest `scan` draft entries: the audit table has
    no draft column, so they are found by the `draft_id` in their detail)."""
    rows = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(DRAFT_ACTIONS[1:]))
        .order_by(AuditEvent.id.desc())
        .limit(scan)
    ).all()
    return [r for r in reversed(rows) if (r.detail or {}).get("draft_id") == draft_id]


def purge_old(db: Session, days: int, at: datetime | None = None) -> int:
    """Delete drafts untouched for more than `days` (their text may hold what the check found), except one
    still on its way to the platform; the audit keeps hashes, counts and the published text. Returns how many
    went."""
    cutoff = (at or now()) - timedelta(days=days)
    statement = (
        delete(DraftRow)
        .where(DraftRow.updated_at < cutoff, DraftRow.status != DraftStatus.PUBLISHING.value)
        .returning(DraftRow.id)
    )
    return purge_rows(db, statement, "retention.drafts_purged", days)
