"""Plain builder functions for test data: sensible defaults, any field overridable by keyword."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from typing import Any
from uuid import uuid4

from triage_classifier.pipeline import Record
from triage_events import (
    Account,
    AlertKind,
    AlertRaised,
    Author,
    Comment,
    CommentJudged,
    CommentReceived,
    Evidence,
    FlagRaised,
    Label,
    Platform,
    Severity,
    encode,
)

_ids = count(1)


def unique(prefix: str) -> str:
    """A name no other test uses (consumer groups and app ids outlive a test on the shared broker)."""
    return f"{prefix}-{uuid4().hex[:10]}"


def make_account(**overrides: Any) -> Account:
    fields: dict[str, Any] = {"id": "acct-brightwater", "handle": "@brightwaterhealth"}
    return Account(**{**fields, **overrides})


def make_author(**overrides: Any) -> Author:
    fields: dict[str, Any] = {"id": "author-1", "handle": "river_w", "display_name": "River W"}
    return Author(**{**fields, **overrides})


def make_comment_body(**overrides: Any) -> Comment:
    fields: dict[str, Any] = {
        "platform_comment_id": f"c-{next(_ids)}-{uuid4().hex[:6]}",
        "text": "What time does the pharmacy on Birch Avenue close on Sundays?",
        "author": make_author(),
        "created_at": datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    }
    return Comment(**{**fields, **overrides})


def make_comment(
    *, text: str | None = None, comment: Comment | None = None, **overrides: Any
) -> CommentReceived:
    """A `CommentReceived`; `text=` is a shortcut for the comment's text."""
    if comment is None:
        comment = make_comment_body(**({"text": text} if text is not None else {}))
    fields: dict[str, Any] = {"platform": Platform.FACEBOOK, "account": make_account(), "comment": comment}
    return CommentReceived(**{**fields, **overrides})


def make_judged(
    *, text: str | None = None, comment: CommentReceived | None = None, **overrides: Any
) -> CommentJudged:
    """A `CommentJudged` for `comment` (a fresh one by default): benign, urgent scored 0.2 against 0.35."""
    comment = comment or make_comment(text=text)
    fields: dict[str, Any] = {
        "comment_key": comment.comment_key,
        "platform": comment.platform,
        "account": comment.account,
        "comment": comment.comment,
        "labels": [],
        "scores": {Label.URGENT: 0.2, Label.SPAM: 0.01},
        "thresholds": {Label.URGENT: 0.35, Label.SPAM: 0.6},
        "severity": Severity.LOW,
        "model_version": "test-model-1",
        "language": "en",
        "changed_at": comment.comment.created_at,
        "source_event_id": comment.event_id,
    }
    return CommentJudged(**{**fields, **overrides})


def make_flag(
    *,
    labels: list[Label] | None = None,
    comment: CommentReceived | None = None,
    **overrides: Any,
) -> FlagRaised:
    """A `FlagRaised` for `comment` (a fresh one by default)."""
    labels = labels or [Label.HOSTILE]
    comment = comment or make_comment(text="You are all useless clowns")
    fields: dict[str, Any] = {
        "comment_key": comment.comment_key,
        "platform": comment.platform,
        "account": comment.account,
        "comment": comment.comment,
        "labels": labels,
        "scores": {label: 0.97 for label in labels},
        "severity": Severity.MEDIUM,
        "evidence": [Evidence(label=labels[0], source="rule", rule_id="test.rule", start=0, end=3)],
        "model_version": "test-1",
        "suggested_templates": [f"{label.value}.public" for label in labels],
        "source_event_id": comment.event_id,
    }
    return FlagRaised(**{**fields, **overrides})


def make_alert(flag: FlagRaised | None = None, **overrides: Any) -> AlertRaised:
    """An urgent-comment `AlertRaised` about `flag` (a fresh one by default), deduplicated by its comment."""
    flag = flag or make_flag(labels=[Label.URGENT], severity=Severity.CRITICAL)
    fields: dict[str, Any] = {
        "kind": AlertKind.URGENT_COMMENT,
        "platform": flag.platform,
        "account": flag.account,
        "label": Label.URGENT,
        "severity": Severity.CRITICAL,
        "comment_keys": [flag.comment_key],
        "dedup_key": f"urgent_comment:{flag.comment_key}",
    }
    return AlertRaised(**{**fields, **overrides})


def make_record(
    event: CommentReceived | None = None, *, value: bytes | None = None, **overrides: Any
) -> Record:
    """A raw classifier input record: the encoded event, or `value` verbatim (for malformed input)."""
    if value is None:
        event = event or make_comment()
        value = encode(event)
        key: bytes | None = event.kafka_key
    else:
        key = b"facebook:author-1"
    fields: dict[str, Any] = {"key": key, "value": value, "partition": 0, "offset": next(_ids)}
    return Record(**{**fields, **overrides})


def replay_line(**overrides: Any) -> bytes:
    """One JSONL replay line (no trailing newline)."""
    fields: dict[str, Any] = {
        "id": f"r-{next(_ids)}",
        "platform": "instagram",
        "kind": "comment",
        "text": "Is the Birch Avenue pharmacy open late tonight?",
        "author": {"id": "u-77", "handle": "sam_77"},
        "created_at": "2026-11-22T10:00:00Z",
    }
    return json.dumps({**fields, **overrides}).encode()
