"""One micro-batch of raw comment records in; flags, clears, alerts and dead letters out. No Faust, no I/O.

A comment that needs a human raises a `FlagRaised`; so does one in a language the classifier does not cover
and that nothing flags (no labels, low severity, `review_reason`): nothing unread passes silently. A comment
that no longer needs a human raises a `FlagCleared`:
a deletion (not judged: there is nothing left to judge), or an edit judged benign. A new comment judged
benign raises nothing (most comments are benign: a clear for each would flood the flags topic for nothing).
Every judged comment, benign or not, also becomes a `CommentJudged` on its own topic, for the desk's "All
comments" view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from triage_bus.dlq import dead_letter
from triage_events import (
    COMMENTS,
    Account,
    AlertKind,
    AlertRaised,
    ClearReason,
    CommentChange,
    CommentJudged,
    CommentReceived,
    DeadLetter,
    Evidence,
    FlagCleared,
    FlagRaised,
    InvalidEvent,
    Label,
    Platform,
    Severity,
    decode,
    immediate_alerts,
)

from triage_classifier.interface import UNSUPPORTED_LANGUAGE, Classifier, Judgement
from triage_classifier.policy import suggested_templates

SERVICE = "classifier"


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    offset: int | None = None


@dataclass
class BatchResult:
    flags: list[FlagRaised] = field(default_factory=list)
    verdicts: list[CommentJudged] = field(default_factory=list)  # one per judged comment, benign included
    cleared: list[FlagCleared] = field(default_factory=list)
    alerts: list[AlertRaised] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    judged: int = 0
    # The language of each judged comment the classifier does not cover (counted by the worker).
    unsupported_languages: list[str] = field(default_factory=list)
    # The author key (`author_key`) of each cleared comment, by comment key: a clear follows the comment's
    # earlier verdicts through the author's partition.
    clear_authors: dict[str, bytes] = field(default_factory=dict)

    def clear(self, comment: CommentReceived, reason: ClearReason, model_version: str | None) -> None:
        self.cleared.append(make_cleared(comment, reason, model_version))
        self.clear_authors[comment.comment_key] = author_key(comment.platform, comment.comment.author.id)


def author_key(platform: Platform, author_id: str) -> bytes:
    """`platform:author_id`: the key of the classifier's author-verdicts topic and of its hostility table."""
    return f"{platform.value}:{author_id}".encode()


def judge_batch(classifier: Classifier, records: list[Record]) -> BatchResult:
    """Decode, classify and turn verdicts into events. Bad records become dead letters; the rest go on."""
    result = BatchResult()
    comments: list[CommentReceived] = []
    for record in records:
        try:
            comments.append(decode(CommentReceived, record.value))
        except InvalidEvent as exc:
            result.dead_letters.append(
                dead_letter(
                    SERVICE,
                    COMMENTS.name,
                    record.key,
                    record.value,
                    exc.reason,
                    str(exc),
                    record.partition,
                    record.offset,
                )
            )
    # A deletion has nothing left to judge: it clears whatever flag the comment has.
    for comment in comments:
        if comment.change is CommentChange.DELETED:
            result.clear(comment, ClearReason.DELETED, None)
    comments = [c for c in comments if c.change is not CommentChange.DELETED]
    if not comments:
        return result
    judgements = classifier.classify_batch([c.comment.text for c in comments])
    result.judged = len(comments)
    thresholds = label_thresholds(classifier)
    for comment, judgement in zip(comments, judgements, strict=True):
        result.verdicts.append(make_judged(comment, judgement, classifier.version, thresholds))
        if judgement.review == UNSUPPORTED_LANGUAGE:
            result.unsupported_languages.append(judgement.language or "und")
        if not judgement.needs_human:
            if comment.change is CommentChange.EDITED:
                result.clear(comment, ClearReason.EDITED_BENIGN, classifier.version)
            continue
        flag = make_flag(comment, judgement, classifier.version)
        result.flags.append(flag)
        result.alerts.extend(immediate_alerts(flag))
    return result


def verdict_fields(comment: CommentReceived, judgement: Judgement, model_version: str) -> dict[str, Any]:
    """What a flag and a verdict both say: which comment (and which version of it), what it was judged to be,
    and by which model."""
    return {
        "comment_key": comment.comment_key,
        "platform": comment.platform,
        "account": comment.account,
        "comment": comment.comment,
        "labels": judgement.labels,
        "scores": {label: round(score, 4) for label, score in judgement.scores.items()},
        "severity": judgement.severity,
        "model_version": model_version,
        "language": judgement.language or comment.comment.language,
        "review_reason": judgement.review,
        "changed_at": comment.changed_at or comment.comment.created_at,
        "source_event_id": comment.event_id,
    }


def make_flag(comment: CommentReceived, judgement: Judgement, model_version: str) -> FlagRaised:
    return FlagRaised(
        **verdict_fields(comment, judgement, model_version),
        evidence=judgement.evidence,
        suggested_templates=suggested_templates(judgement.labels),
    )


def label_thresholds(classifier: Classifier) -> dict[Label, float]:
    """Each label's decision threshold: the artefact's for the trained classifier, the rules' one threshold
    for the rules alone, none for a classifier that exposes neither."""
    artefact = getattr(classifier, "artefact", None)
    if artefact is not None:
        return {
            Label(name): float(value)
            for name, value in artefact.thresholds.items()
            if name in Label.__members__.values()
        }
    threshold = getattr(classifier, "threshold", None)
    return {label: float(threshold) for label in Label} if isinstance(threshold, float) else {}


def make_judged(
    comment: CommentReceived, judgement: Judgement, model_version: str, thresholds: dict[Label, float]
) -> CommentJudged:
    return CommentJudged(**verdict_fields(comment, judgement, model_version), thresholds=thresholds)


def make_cleared(comment: CommentReceived, reason: ClearReason, model_version: str | None) -> FlagCleared:
    """The comment no longer needs a human. Its time is the platform's time of the change; a change reported
    without one is dated when ingest saw it (never earlier than the change itself)."""
    return FlagCleared(
        comment_key=comment.comment_key,
        platform=comment.platform,
        account=comment.account,
        reason=reason,
        changed_at=comment.changed_at or comment.occurred_at,
        source_event_id=comment.event_id,
        model_version=model_version,
    )


def escalate_repeat_hostility(flag: FlagRaised, count: int, threshold: int, window_s: int) -> FlagRaised:
    """A hostile author who keeps going is more serious: one severity step up, with the reason."""
    if count < threshold:
        return flag
    note = f"repeat hostility: {count} hostile comments by this author within {window_s // 60} minutes"
    return flag.model_copy(
        update={
            "severity": Severity(flag.severity).raised(),
            "evidence": [
                *flag.evidence,
                Evidence(label=Label.HOSTILE, source="rule", rule_id="hostile.repeat", note=note),
            ],
        }
    )


class SurgeMark(BaseModel):
    """What the surge agent needs of a micro-batch's flags with one label on one account, on the classifier's
    internal account-labels topic: which comments (in the batch's order), which account and when (the last
    flag's time). No comment text and no author: nothing of the comments is copied there. One record per
    account and label per batch, not per flag: a burst on one account is what surges are about, and each
    record costs the broker and the surge agent the same whatever it carries."""

    model_config = ConfigDict(frozen=True)

    comment_keys: list[str]
    platform: Platform
    account: Account
    occurred_at: datetime

    @classmethod
    def of(cls, flag: FlagRaised) -> SurgeMark:
        return cls(
            comment_keys=[flag.comment_key],
            platform=flag.platform,
            account=flag.account,
            occurred_at=flag.occurred_at,
        )

    @classmethod
    def per_account_label(cls, flags: list[FlagRaised]) -> list[tuple[bytes, SurgeMark]]:
        """The marks of a batch's flags, keyed `platform:account|label`, in order of first appearance."""
        grouped: dict[tuple[str, Label], list[FlagRaised]] = {}
        for flag in flags:
            account_key = f"{flag.platform.value}:{flag.account.id}"
            for label in flag.labels:
                grouped.setdefault((account_key, label), []).append(flag)
        return [
            (
                f"{account_key}|{label.value}".encode(),
                cls.of(same[-1]).model_copy(update={"comment_keys": [flag.comment_key for flag in same]}),
            )
            for (account_key, label), same in grouped.items()
        ]

    @property
    def account_key(self) -> str:
        """The alerts topic's key, and the first part of the account-labels topic's."""
        return f"{self.platform.value}:{self.account.id}"

    @classmethod
    def read(cls, value: bytes) -> SurgeMark:
        """A mark, or a record of an earlier format still in flight during an upgrade: the whole flag (the
        first format) or a mark of one comment (the second)."""
        payload = json.loads(value)
        if "flag" in payload:
            return cls.of(FlagRaised.model_validate_json(payload["flag"]))
        if "comment_key" in payload:
            payload["comment_keys"] = [payload.pop("comment_key")]
        return cls.model_validate(payload)


def read_surge_record(key: bytes | None, value: bytes | None) -> tuple[Label, SurgeMark]:
    """The label (the end of the key `platform:account|label`) and the mark of an account-labels record;
    ValueError, naming only the kind of fault, when either cannot be read."""
    try:
        label = Label((key or b"").decode().rsplit("|", 1)[-1])
        return label, SurgeMark.read(value or b"")
    except (TypeError, AttributeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"unreadable surge record: {type(exc).__name__}") from None


def surge_alert(
    mark: SurgeMark, label: Label, count: int, window_s: int, comment_keys: list[str]
) -> AlertRaised:
    window_start = int(mark.occurred_at.timestamp()) // window_s * window_s
    return AlertRaised(
        kind=AlertKind.SURGE,
        platform=mark.platform,
        account=mark.account,
        label=label,
        severity=Severity.HIGH,
        count=count,
        window_seconds=window_s,
        comment_keys=comment_keys,
        dedup_key=f"surge:{mark.account_key}:{label.value}:{window_start}",
    )
