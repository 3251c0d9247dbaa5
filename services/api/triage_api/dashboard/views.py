"""Dashboard pages. Anonymous visitors are sent to the sign-in page; forms carry the session's CSRF token,
checked here on every POST."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.orm import Session
from triage_events import ActionKind, Label, Severity

from triage_api.audit.service import AuditQuery, list_events
from triage_api.dashboard import flash
from triage_api.dashboard.context import context_of
from triage_api.dashboard.highlight import segments
from triage_api.dashboard.stream import flag_state
from triage_api.db import as_utc
from triage_api.deps import DbDep, PrincipalDep, csrf_ok, in_transaction, publish_now
from triage_api.errors import DeskError, Forbidden
from triage_api.flags import claims, escalation, notes, platform_actions, sla, status
from triage_api.flags.language_names import language_label
from triage_api.flags.models import ActionState, FlagAction, FlagStatus
from triage_api.flags.service import (
    CURSOR_MAX_LENGTH,
    DESK_DEFAULT_ORDER,
    ORDER_TITLES,
    FlagQuery,
    InvalidCursor,
    QueueOrder,
    after_cursor,
    counts_by_status,
    cursor_order,
    get_flag,
    known_order,
    list_flags,
    set_preferred_order,
)
from triage_api.flags.suggestions import comment_language, suggestions
from triage_api.outbox import with_outbox
from triage_api.replies.catalogue import LANGUAGE_NAMES, languages
from triage_api.routing.service import Router
from triage_api.staff.models import Role
from triage_api.staff.service import Principal

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).with_name("static")


def install_filters(env: Environment) -> None:
    """The dashboard's template filters: `utc` (a stored time as aware UTC: SQLite hands times back naive, and
    a browser would read a naive ISO time as its own zone) and `local_time` (a `<time>` element the page's
    script shows in the browser's zone, UTC in its title)."""
    env.filters["utc"] = as_utc
    env.filters["local_time"] = local_time


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", element_id: str = "") -> Markup:
    """A time as `<time class="local">`: UTC in the text until `static/times.js` rewrites it in the browser's
    zone (the title keeps the UTC time, for hovering)."""
    if value is None:
        return Markup("")
    at = as_utc(value)
    utc = f"{at.strftime(fmt)} UTC"
    return Markup('<time class="local"{} datetime="{}" title="{}" data-format="{}">{}</time>').format(
        Markup(' id="{}"').format(element_id) if element_id else "", at.isoformat(), utc,
        "time" if fmt == "%H:%M" else "datetime", utc,
    )  # fmt: skip


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says: the desk's icon (an SVG)."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


# What each form operation needs: the least role, and the platform action it becomes (if any).
OPS: dict[str, tuple[Role, ActionKind | None]] = {
    "claim": (Role.MODERATOR, None),
    "release": (Role.MODERATOR, None),
    "hide": (Role.MODERATOR, ActionKind.HIDE),
    "unhide": (Role.MODERATOR, ActionKind.UNHIDE),
    "delete": (Role.LEAD, ActionKind.DELETE),
    "reply": (Role.MODERATOR, ActionKind.REPLY),
    "dismiss": (Role.MODERATOR, None),
    "escalate": (Role.MODERATOR, None),
    "resolve": (Role.MODERATOR, None),
    "note": (Role.MODERATOR, None),
    "feedback": (Role.MODERATOR, None),
    "approve": (Role.LEAD, None),
    "reject": (Role.LEAD, None),
    "severity": (Role.MODERATOR, None),
    "reroute": (Role.LEAD, None),
}
STATUS_OPS = {
    "dismiss": FlagStatus.DISMISSED,
    "escalate": FlagStatus.ESCALATED,
    "resolve": FlagStatus.RESOLVED,
}


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    label: Annotated[Label | None, Query()] = None,
    status: Annotated[FlagStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX_LENGTH)] = None,
    order: Annotated[QueueOrder | None, Query()] = None,
) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    # The order asked for in the URL, else the one the cursor pages through, else the person's choice.
    chosen = order or (cursor_order(cursor) if cursor else None)
    query = FlagQuery(
        label=label.value if label else None,
        status=status.value if status else None,
        limit=50,
        order=chosen or known_order(principal.queue_order) or DESK_DEFAULT_ORDER,
    )
    if cursor:
        try:
            query = after_cursor(query, cursor)
        except InvalidCursor as exc:
            raise HTTPException(422, f"invalid cursor: {exc}") from exc
    # The live stream starts here, not when the browser connects: nothing stored in between is missed.
    listed_at = datetime.now(UTC)
    listing = list_flags(db, query)
    filters = {k: v for k, v in (("label", query.label), ("status", query.status)) if v}
    if order:
        filters["order"] = order.value
    next_cursor = listing.next_cursor
    now = datetime.now(UTC)
    return request.app.state.templates.TemplateResponse(
        request,
        "queue.html",
        {
            "principal": principal,
            "flags": [
                (
                    f,
                    segments(f.text or "", f.evidence),
                    f.due_at,
                    f.sla_breached(now),
                )
                for f in listing.rows
            ],
            "open_statuses": sorted(sla.OPEN_STATUSES),
            "now": now,
            "listed_at": listed_at.isoformat(),
            "total": listing.total,
            "first_url": "?" + urlencode(filters) if cursor else None,
            "next_url": "?" + urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
            "pager": PAGER_WORDS[query.order],
            "paged": bool(cursor),
            "has_more": listing.has_more,
            "order": query.order.value,
            "orders": [(o.value, ORDER_TITLES[o]) for o in QueueOrder],
            "label": label.value if label else "",
            "status": status.value if status else "",
            "labels": [label.value for label in Label],
            "statuses": [s.value for s in FlagStatus],
            "counts": counts_by_status(db),
        },
    )


# The pager's links in each order: back to the first page, and on to the next.
PAGER_WORDS = {
    QueueOrder.NEWEST: ("Newest", "Older"),
    QueueOrder.OLDEST: ("Oldest", "Newer"),
    QueueOrder.PRIORITY: ("Top", "Next"),
    QueueOrder.DUE: ("Top", "Next"),
}


@router.post("/queue/order")
def choose_order(
    request: Request,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form()],
    order: Annotated[QueueOrder, Form()],
    label: Annotated[Label | None, Form()] = None,
    status: Annotated[FlagStatus | None, Form()] = None,
) -> Response:
    """Remember the queue order a person picked (it sticks for them, in every browser) and show the queue in
    it, with the filters they had (POST, then redirect to a GET)."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    if not csrf_ok(principal, csrf_token):
        raise HTTPException(403, "invalid or missing CSRF token")
    in_transaction(request, lambda db: set_preferred_order(db, principal.user_id, order))
    filters = {k: v.value for k, v in (("label", label), ("status", status)) if v}
    return RedirectResponse("/" + ("?" + urlencode(filters) if filters else ""), status_code=303)


def _flag_context(
    request: Request, db: Session, principal: Principal, flag_id: str, language: str | None = None
) -> dict[str, Any]:
    flag = get_flag(db, flag_id)
    if flag is None:
        raise HTTPException(404, "no such flag")
    accounts = request.app.state.accounts
    audit, _ = list_events(db, AuditQuery(flag_id=flag_id, limit=200))
    state = flag_state(db, flag_id)
    assert state is not None  # the flag was just loaded
    due = datetime.fromisoformat(state.data["due_at"])
    return {
        "principal": principal,
        "can_act": principal.role.allows(Role.MODERATOR),
        "is_lead": principal.role.allows(Role.LEAD),
        "flag": flag,
        "segments": segments(flag.text or "", flag.evidence),
        "due": due,  # after an escalation, the restarted SLA clock's
        "breached": state.data["breached"],
        "version": state.version,  # the live stream sends changes from this version on
        "pending_ids": state.data["pending"],
        "raise_to": [s.value for s in Severity if s.rank > Severity(flag.severity).rank],
        "teams": sorted(request.app.state.router.config.teams),
        "open_statuses": sla.OPEN_STATUSES,
        "claim": claims.claim_holder(flag),
        "language": language or comment_language(flag, accounts),
        "comment_language": flag.language,
        "comment_language_label": language_label(flag.language) if flag.language else None,
        "language_names": LANGUAGE_NAMES,
        "languages": languages(),
        "suggestions": suggestions(flag, accounts, language),
        "context": context_of(db, flag),
        "replies": [a for a in platform_actions.actions(db, flag_id) if a.action in REPLY_ACTIONS],
        # Feedback is asked for the labels the flag has or that scored above zero, not for the rest.
        "feedback_labels": {label for label, score in flag.scores.items() if score >= 0.005}
        | set(flag.labels),
        "pending": [
            a for a in platform_actions.actions(db, flag_id) if a.status == ActionState.PENDING_APPROVAL
        ],
        "verdicts": {
            f.label: f.verdict for f in notes.feedback(db, flag_id) if f.username == principal.username
        },
        "notes": notes.notes(db, flag_id),
        "audit": audit,
        "error": None,
        "reasons": [],
        "done": None,
        "draft": None,
    }


@router.get("/flags/{flag_id}", response_class=HTMLResponse)
def flag_page(
    flag_id: str,
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    done: str | None = None,
    language: str | None = None,
) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    context = _flag_context(request, db, principal, flag_id, language)
    context["done"] = DONE_MESSAGES.get(done or "", DONE_MESSAGES["other"]) if done else None
    context["done_kind"] = done
    refused = flash.unpack(principal.csrf_token, request.cookies.get(flash.COOKIE))
    if refused is not None:  # a refused post, redirected here: its error, reasons and draft
        context.update(
            error=str(refused.get("error", "")),
            reasons=[str(r) for r in refused.get("reasons", [])],
            draft=refused.get("draft"),
            done=None,
        )
        if isinstance(refused.get("language"), str) and refused["language"] in context["languages"]:
            context["language"] = refused["language"]
    response = request.app.state.templates.TemplateResponse(request, "flag.html", context)
    if flash.COOKIE in request.cookies:
        response.delete_cookie(flash.COOKIE, path=f"/flags/{flag_id}")
    return response


# The banner after a form post, by operation.
DONE_MESSAGES = {
    "reply": "Reply sent to the platform. Its text is under Replies below; the platform's answer shows there.",
    "reply_pending": "Reply saved: it waits for a lead's approval before it is sent (see Replies below).",
    "hide": "Hide requested: the platform's answer shows under last action.",
    "unhide": "Unhide requested.",
    "delete": "Delete requested.",
    "claim": "Claimed: the flag is yours for now.",
    "release": "Claim released.",
    "dismiss": "Flag dismissed.",
    "escalate": "Flag escalated.",
    "resolve": "Flag resolved.",
    "note": "Note added.",
    "feedback": "Thanks: your verdict is kept for retraining (triage feedback export).",
    "approve": "Approved and sent.",
    "reject": "Rejected.",
    "severity": "Severity raised.",
    "reroute": "Flag re-routed.",
    "other": "Done.",
}
REPLY_ACTIONS = frozenset({ActionKind.REPLY.value, ActionKind.PRIVATE_REPLY.value})


@router.post("/flags/{flag_id}/act")
async def flag_action(
    flag_id: str,
    request: Request,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form()],
    op: Annotated[str, Form()],
    template_id: Annotated[str | None, Form()] = None,
    text: Annotated[str | None, Form()] = None,
    language: Annotated[str | None, Form()] = None,
    private: Annotated[bool, Form()] = False,
    body: Annotated[str | None, Form()] = None,
    label: Annotated[Label | None, Form()] = None,
    verdict: Annotated[str | None, Form()] = None,
    action_id: Annotated[str | None, Form()] = None,
    severity: Annotated[Severity | None, Form()] = None,
    team: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """One form endpoint for the flag page's buttons; the same workflow functions as the REST API."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    # Only browser sessions carry a CSRF token; a bearer token never authorises a form post.
    if not csrf_ok(principal, csrf_token):
        raise HTTPException(403, "invalid or missing CSRF token")
    if op not in OPS:
        raise HTTPException(400, f"unknown operation {op}")
    role, kind = OPS[op]
    try:
        if not principal.role.allows(role):
            raise Forbidden(f"{op} requires the {role.value} role")
        row = await _perform(
            request,
            flag_id,
            principal,
            op,
            kind,
            template_id,
            text,
            language,
            private,
            body,
            label,
            verdict,
            action_id,
            severity,
            team,
        )
    except DeskError as exc:
        # Post, redirect, get: the flag's page shows the refusal (and keeps the draft) from a signed,
        # short-lived cookie; only a flag that does not exist, or a draft too long for a cookie, is answered
        # here, as before.
        refused = {"error": exc.message, "reasons": exc.reasons, "draft": text if op == "reply" else None}
        value = flash.pack(principal.csrf_token or "", {**refused, "language": language})
        if exc.status_code != 404 and value is not None and principal.csrf_token:
            response = RedirectResponse(f"/flags/{flag_id}", status_code=303)
            response.set_cookie(
                flash.COOKIE,
                value,
                max_age=flash.MAX_AGE_S,
                path=f"/flags/{flag_id}",
                httponly=True,
                samesite="strict",
                secure=request.app.state.settings.secure_cookies,
            )
            return response

        def page(db: Session) -> dict[str, Any]:
            return _flag_context(request, db, principal, flag_id, language)

        context = await run_in_threadpool(in_transaction, request, page)
        context.update(error=exc.message, reasons=exc.reasons, draft=text if op == "reply" else None)
        return request.app.state.templates.TemplateResponse(
            request, "flag.html", context, status_code=exc.status_code
        )
    # Only the queue is accepted as a destination besides the flag itself (no open redirect).
    if op == "reply" and row is not None and row.status == ActionState.PENDING_APPROVAL:
        op = "reply_pending"
    target = "/" if next == "/" else f"/flags/{flag_id}?done={op}"
    return RedirectResponse(target, status_code=303)


async def _perform(
    request: Request,
    flag_id: str,
    principal: Principal,
    op: str,
    kind: ActionKind | None,
    template_id: str | None,
    text: str | None,
    language: str | None,
    private: bool,
    body: str | None,
    label: Label | None,
    verdict: str | None,
    action_id: str | None,
    severity: Severity | None = None,
    team: str | None = None,
) -> FlagAction | None:
    """Carry out one form operation; the platform action it recorded, if any."""
    accounts = request.app.state.accounts
    minutes = request.app.state.settings.claim_minutes
    if kind is not None:
        reply = None
        if kind is ActionKind.REPLY:
            reply = platform_actions.ReplyRequest(template_id or None, text, language, None, private)
            kind = ActionKind.PRIVATE_REPLY if private else ActionKind.REPLY
        action_kind = kind
        row, event = await run_in_threadpool(
            in_transaction,
            request,
            with_outbox(
                lambda db: platform_actions.request_action(
                    db, flag_id, action_kind, principal, accounts, reply
                )
            ),
        )
        await publish_now(request, event)
        return row
    if op in ("approve", "reject"):
        row, event = await run_in_threadpool(
            in_transaction,
            request,
            with_outbox(lambda db: platform_actions.decide(db, action_id or "", op == "approve", principal)),
        )
        await publish_now(request, event)
        return row

    routing: Router = request.app.state.router

    def work(db: Session) -> None:
        if op == "claim":
            claims.claim(db, flag_id, principal, minutes)
        elif op == "release":
            claims.release(db, flag_id, principal)
        elif op in STATUS_OPS:
            status.set_status(db, routing, flag_id, STATUS_OPS[op], principal)
        elif op == "note":
            notes.add_note(db, flag_id, body or "", principal)
        elif op == "feedback" and label is not None:
            notes.set_feedback(db, flag_id, label, verdict == "correct", principal)
        elif op == "severity" and severity is not None:
            escalation.raise_severity(db, routing, flag_id, severity, principal)
        elif op == "reroute" and team:
            escalation.reroute(db, routing, flag_id, team, None, principal)

    await run_in_threadpool(in_transaction, request, work)
    return None
