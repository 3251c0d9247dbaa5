"""Turn a replay line (a JSON object with at least `text`) into a `CommentReceived`."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from triage_events import (
    Account,
    Author,
    Comment,
    CommentKind,
    CommentReceived,
    InvalidEvent,
    Platform,
    describe_validation_error,
)


def from_replay_line(line: bytes, account: Account) -> CommentReceived:
    """Parse one JSONL line. Raises `InvalidEvent` (with a reason, never the text) when it can't."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidEvent("not_json", str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise InvalidEvent("not_object", f"expected a JSON object, got {type(obj).__name__}")
    return from_replay_object(obj, account, fallback_id=hashlib.sha256(line).hexdigest()[:20])


def from_replay_object(obj: dict[str, Any], account: Account, fallback_id: str) -> CommentReceived:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidEvent("schema", "text: missing or empty")
    author = obj.get("author") or {}
    if isinstance(author, str):
        author = {"id": author, "handle": author}
    if not isinstance(author, dict):
        raise InvalidEvent("schema", "author: must be a string or an object")
    account_obj = obj.get("account")
    try:
        return CommentReceived(
            platform=_platform(obj),
            account=Account.model_validate(account_obj) if isinstance(account_obj, dict) else account,
            comment=Comment(
                platform_comment_id=str(obj.get("id") or fallback_id),
                kind=CommentKind(obj.get("kind") or CommentKind.COMMENT),
                text=text,
                author=Author(
                    id=str(author.get("id") or author.get("handle") or "anonymous"),
                    handle=str(author.get("handle") or ""),
                    display_name=str(author.get("display_name") or author.get("name") or ""),
                ),
                permalink=obj.get("permalink"),
                parent_id=obj.get("parent_id"),
                thread_id=obj.get("thread_id"),
                created_at=_timestamp(obj.get("created_at")),
                language=obj.get("language") or obj.get("lang"),
            ),
        )
    except (ValidationError, ValueError) as exc:
        raise InvalidEvent("schema", _describe(exc)) from None


# What exports call the platforms besides their names here, and the fields that may name it.
_PLATFORM_ALIASES = {
    "twitter": "x",
    "fb": "facebook",
    "ig": "instagram",
    "yt": "youtube",
    "tik tok": "tiktok",
}
_PLATFORM_FIELDS = ("platform", "network", "source", "channel")


def _platform(obj: dict[str, Any]) -> Platform:
    """The platform the line (or its account object) names, in any case, under `platform` or another usual
    field name, aliases included ("Twitter" is x); `demo` only when it names none."""
    named_account = obj.get("account")
    account: dict[str, Any] = named_account if isinstance(named_account, dict) else {}
    for named in [obj.get(f) for f in _PLATFORM_FIELDS] + [account.get("platform")]:
        if isinstance(named, str) and named.strip():
            name = named.strip().lower()
            return Platform(_PLATFORM_ALIASES.get(name, name))  # an unknown one: a dead letter saying so
    return Platform.DEMO


def _timestamp(value: Any) -> datetime:
    if value in (None, ""):
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _describe(exc: Exception) -> str:
    """Fields and error types only: a ValueError's message quotes the value (`'…' is not a valid Platform`,
    `Invalid isoformat string: '…'`), which may be comment text put in the wrong field."""
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc, CommentReceived)
    return f"{type(exc).__name__}: platform, kind or created_at has a value that is not allowed"
