"""Event schemas shared by every service (pydantic v2, JSON on the wire).

Changes are additive: consumers ignore unknown fields and new fields get defaults, so payloads written by
an older producer keep decoding (the golden samples in tests/golden pin this). A breaking change is a new
topic version.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

MAX_TEXT_CHARS = 20_000

ShortStr = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Platform(enum.StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    X = "x"
    YOUTUBE = "youtube"
    LINKEDIN = "linkedin"
    REDDIT = "reddit"
    TIKTOK = "tiktok"
    DEMO = "demo"


class CommentKind(enum.StrEnum):
    COMMENT = "comment"
    REPLY = "reply"
    MENTION = "mention"


class Label(enum.StrEnum):
    URGENT = "urgent"
    PRIVACY = "privacy"
    MISINFORMATION = "misinformation"
    CLINICAL_ADVICE = "clinical_advice"
    HOSTILE = "hostile"
    SPAM = "spam"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def highest(cls, severities: list[Severity]) -> Severity:
        return max(severities, key=lambda s: s.rank, default=cls.LOW)

    def raised(self, steps: int = 1) -> Severity:
        order = list(_SEVERITY_RANK)
        return order[min(len(order) - 1, self.rank + steps)]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}

# Each label's default severity (the label table in DESIGN.md): where the classifier's policy starts, and the
# severity of a flag a person raises.
DEFAULT_SEVERITY: dict[Label, Severity] = {
    Label.URGENT: Severity.CRITICAL,
    Label.PRIVACY: Severity.HIGH,
    Label.MISINFORMATION: Severity.MEDIUM,
    Label.CLINICAL_ADVICE: Severity.MEDIUM,
    Label.HOSTILE: Severity.MEDIUM,
    Label.SPAM: Severity.LOW,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(_Model):
    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    schema_version: int = 1


class CommentChange(enum.StrEnum):
    """What happened to the comment on the platform: new, edited in place, or deleted."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"


class Account(_Model):
    id: ShortStr
    handle: str = ""


class Author(_Model):
    id: ShortStr
    handle: str = ""
    display_name: str = ""


class Comment(_Model):
    platform_comment_id: ShortStr
    kind: CommentKind = CommentKind.COMMENT
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
    author: Author
    permalink: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    created_at: AwareDatetime
    language: str | None = None


class CommentReceived(Event):
    """A comment, reply or mention seen on one of the health system's accounts, normalised by ingest."""

    type: Literal["comment_received"] = "comment_received"
    platform: Platform
    account: Account
    comment: Comment
    # Added later (defaults keep older payloads decoding): edits and deletions arrive as further events
    # with the same comment_key; `changed_at` is when the platform says the change happened, so a
    # consumer can ignore an edit older than one it already has.
    change: CommentChange = CommentChange.CREATED
    changed_at: AwareDatetime | None = None

    @property
    def comment_key(self) -> str:
        """The idempotency key everywhere: `platform:account_id:platform_comment_id`."""
        return f"{self.platform.value}:{self.account.id}:{self.comment.platform_comment_id}"

    @property
    def kafka_key(self) -> bytes:
        """Partition by comment: a comment's versions stay in order on one partition, and a prolific author
        weighs on no partition more than another. Earlier producers keyed by author (`platform:author_id`); the
        classifier handles either."""
        return self.comment_key.encode()


class Evidence(_Model):
    """Why a label was given: a rule or the model, and the character span of the text it points at."""

    label: Label
    source: Literal["rule", "model"]
    rule_id: str | None = None
    start: int | None = None
    end: int | None = None
    score: float | None = None
    note: str = ""


class FlagRaised(Event):
    """A comment that needs a human. Never raised for benign comments. A comment the classifier cannot read
    (a language it does not cover) is raised with no labels, low severity and a `review_reason`."""

    type: Literal["flag_raised"] = "flag_raised"
    comment_key: str
    platform: Platform
    account: Account
    comment: Comment
    labels: list[Label]
    scores: dict[Label, float] = Field(default_factory=dict)
    severity: Severity
    evidence: list[Evidence] = Field(default_factory=list)
    model_version: str
    suggested_templates: list[str] = Field(default_factory=list)
    source_event_id: UUID | None = None
    # Added later (None in older payloads): the version of the comment this verdict judged, i.e. when its
    # text was written on the platform: `CommentReceived.changed_at` for an edit, else the comment's
    # `created_at`. Consumers order verdicts on one comment by it (falling back to `occurred_at`, the
    # classification time, when it is missing), so a verdict on older text never overrides a newer one.
    changed_at: AwareDatetime | None = None
    # Added later (None in older payloads): the language of the comment's text as the classifier identified
    # it (an ISO 639-1 code, "und" for a script it cannot tell), else the platform's; None when the text is
    # too short to tell.
    language: str | None = None
    # Added later: why a person should read a comment that got no label, e.g. "unsupported_language" (the
    # classifier does not cover `language`, so its silence means nothing).
    review_reason: str | None = None


class CommentJudged(Event):
    """The classifier's verdict on one comment, whatever it was: benign ones too (no labels), so the desk can
    show every comment and a person can flag what the model passed. Published on `triage.judged.v1` (keyed
    by comment_key) for every version of a comment it judged; never for a deletion. Carries the comment's
    text (possible PHI), like `FlagRaised`."""

    type: Literal["comment_judged"] = "comment_judged"
    comment_key: str
    platform: Platform
    account: Account
    comment: Comment
    labels: list[Label] = Field(default_factory=list)  # empty: judged benign
    scores: dict[Label, float] = Field(default_factory=dict)
    # The decision threshold of each label at the time, so "close to a threshold" can be told downstream.
    thresholds: dict[Label, float] = Field(default_factory=dict)
    severity: Severity = Severity.LOW
    model_version: str
    language: str | None = None
    review_reason: str | None = None
    changed_at: AwareDatetime | None = None
    source_event_id: UUID | None = None


class ClearReason(enum.StrEnum):
    """Why a comment no longer needs a human."""

    DELETED = "deleted"  # deleted on the platform: nothing left to act on
    EDITED_BENIGN = "edited_benign"  # edited, and the new text was judged harmless


class FlagCleared(Event):
    """A comment that may have been flagged no longer needs a human. Published on the flags topic (keyed by
    comment_key, like `FlagRaised`) for a deletion, and for an edit judged benign; never for a new comment
    judged benign. Carries ids and times, never comment text. A consumer with no flag for the comment has
    nothing to clear."""

    type: Literal["flag_cleared"] = "flag_cleared"
    comment_key: str
    platform: Platform
    account: Account
    reason: ClearReason
    # The platform's time of the edit or deletion (for a deletion reported without one: when ingest saw it);
    # ordered against `FlagRaised.changed_at`.
    changed_at: AwareDatetime
    source_event_id: UUID | None = None
    model_version: str | None = None  # the model that judged the edit benign; None for a deletion


class AlertKind(enum.StrEnum):
    URGENT_COMMENT = "urgent_comment"
    SURGE = "surge"
    PHI_EXPOSURE = "phi_exposure"


class AlertRaised(Event):
    """Something the on-call person must hear about now. Carries ids and counts, never comment text."""

    type: Literal["alert_raised"] = "alert_raised"
    kind: AlertKind
    platform: Platform
    account: Account
    label: Label
    severity: Severity
    count: int = 1
    window_seconds: int = 0
    comment_keys: list[str] = Field(default_factory=list)
    dedup_key: str


class ActionKind(enum.StrEnum):
    REPLY = "reply"
    PRIVATE_REPLY = "private_reply"
    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"
    POST = "post"  # a new post on the account (a draft from the desk's Drafts page); comment_key "draft:<id>"


class ActionStatus(enum.StrEnum):
    DONE = "done"
    DRY_RUN = "dry_run"
    FAILED = "failed"


class ActionRequested(Event):
    """A staff member asked for something to happen on the platform (executed by ingest)."""

    type: Literal["action_requested"] = "action_requested"
    action: ActionKind
    comment_key: str
    platform: Platform
    account: Account
    platform_comment_id: str
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | None = None
    requested_by: str


class ActionCompleted(Event):
    type: Literal["action_completed"] = "action_completed"
    request_id: UUID
    action: ActionKind
    comment_key: str
    status: ActionStatus
    platform_result_id: str | None = None
    error: str | None = None


class DeadLetter(Event):
    """A message a service could not handle, kept whole (base64) with the reason, so nothing is lost."""

    type: Literal["dead_letter"] = "dead_letter"
    service: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    key_b64: str | None = None
    value_b64: str | None = None
    reason: str
    error: str
