"""LinkedIn organization social action webhooks (`ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS`).

Validation: `GET ?challengeCode=<uuid>` answered with `hex(HMAC-SHA256(challengeCode, clientSecret))`.
Events: `X-LI-Signature: hex(HMAC-SHA256("hmacsha256=" + raw body, clientSecret))`, up to 10 notifications
per POST; COMMENT / COMMENT_EDIT / COMMENT_DELETE / SHARE_MENTION become events, the rest is ignored.

Both use the one client secret, so an endpoint that HMACs any code it is given is a signing oracle: asked to
sign `hmacsha256=<body>`, it answers the `X-LI-Signature` of that body. LinkedIn's codes are UUIDs, so only a
canonical UUID (36 characters: hex digits and four hyphens) is answered; no such string starts with
`hmacsha256=`, so no answer can ever be a delivery's signature.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from triage_events import Author, Comment, CommentChange, CommentKind, CommentReceived, Platform

from triage_ingest.accounts import Accounts
from triage_ingest.sources.base import Batch, Problem, Unusable, received
from triage_ingest.sources.fields import epoch_or_iso, obj, text_id
from triage_ingest.sources.signatures import hmac_sha256_hex, same_digest

SIGNATURE_HEADER = "X-LI-Signature"
EVENT_TYPE = "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
ORGANIZATION_PREFIX = "urn:li:organization:"
_CHALLENGE_CODE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ACTIONS = {
    "COMMENT": (CommentChange.CREATED, CommentKind.COMMENT),
    "COMMENT_EDIT": (CommentChange.EDITED, CommentKind.COMMENT),
    "COMMENT_DELETE": (CommentChange.DELETED, CommentKind.COMMENT),
    "SHARE_MENTION": (CommentChange.CREATED, CommentKind.MENTION),
}


def challenge_code_valid(challenge_code: str) -> bool:
    """Whether `challenge_code` has the form of LinkedIn's codes (a UUID), the only ones worth signing: see
    the module docstring for why anything else must be refused."""
    return _CHALLENGE_CODE.fullmatch(challenge_code) is not None


def challenge_response(challenge_code: str, client_secret: str) -> dict[str, str]:
    """The validation answer; raises ValueError for a code that is not a UUID (never sign one)."""
    if not challenge_code_valid(challenge_code):
        raise ValueError("challengeCode is not a UUID")
    return {
        "challengeCode": challenge_code,
        "challengeResponse": hmac_sha256_hex(client_secret, challenge_code.encode("utf-8")),
    }


def signature_valid(body: bytes, header: str | None, client_secret: str) -> bool:
    if not header:
        return False
    return same_digest(hmac_sha256_hex(client_secret, b"hmacsha256=" + body), header)


def account_id(organizational_entity: str) -> str:
    """`urn:li:organization:2414183` -> `2414183` (the id accounts are configured by)."""
    return organizational_entity.removeprefix(ORGANIZATION_PREFIX)


def normalise(payload: Any, accounts: Accounts) -> Batch:
    batch = Batch()
    notifications = payload.get("notifications") if isinstance(payload, dict) else None
    if not isinstance(notifications, list):
        batch.problems.append(Problem("", "schema", "<root>", "expected notifications[]"))
        return batch
    for i, notification in enumerate(notifications):
        where = f"notifications[{i}]"
        try:
            notification = obj(notification, where)
            org = account_id(text_id(notification.get("organizationalEntity"), "organizationalEntity"))
        except Unusable as exc:
            batch.problems.append(Problem("", exc.reason, where, exc.detail))
            continue
        batch.collect(org, where, partial(_notification, org, notification, accounts))
    return batch


def _notification(org: str, notification: dict[str, Any], accounts: Accounts) -> CommentReceived | str:
    action = notification.get("action")
    if action == "ADMIN_COMMENT":
        return "own_comment"
    if action not in _ACTIONS:
        return "not_a_comment"  # LIKE, SHARE
    change, kind = _ACTIONS[str(action)]
    comment_id = text_id(notification.get("generatedActivity"), "generatedActivity")
    decorated = notification.get("decoratedGeneratedActivity")
    decorated = decorated if isinstance(decorated, dict) else {}
    activity = decorated.get("comment") or decorated.get("share") or {}
    activity = activity if isinstance(activity, dict) else {}
    text = activity.get("text")
    if change is not CommentChange.DELETED and not isinstance(text, str):
        raise Unusable("schema", "decoratedGeneratedActivity: no text")
    modified = epoch_or_iso(notification.get("lastModifiedAt"))
    source_post = notification.get("sourcePost")
    return received(
        accounts,
        Platform.LINKEDIN,
        org,
        Comment(
            platform_comment_id=comment_id,
            kind=kind,
            text=text if isinstance(text, str) else "",
            author=Author(id=str(activity.get("owner") or "unknown")),
            thread_id=source_post if isinstance(source_post, str) else None,
            parent_id=source_post if isinstance(source_post, str) else None,
            created_at=modified,
        ),
        change=change,
        changed_at=modified,
    )
