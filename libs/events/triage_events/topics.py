"""Topic names and partition counts. A breaking schema change gets a new `.v2` topic, never an edit here."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str  # what the Kafka key is, for readers of this file


# Keyed by comment: every version of a comment (edits, deletion) is judged in order, and the load spreads
# evenly over the partitions whoever writes. Per-author state lives on the classifier's own author-keyed topic.
COMMENTS = Topic("triage.comments.v1", 6, key="comment_key (platform:account_id:platform_comment_id)")
# Two event types since FlagCleared was added: read it with `codec.decode_flag_event` (by `type`).
FLAGS = Topic("triage.flags.v1", 6, key="comment_key")
ALERTS = Topic("triage.alerts.v1", 3, key="account (platform:account_id)")
ACTIONS = Topic("triage.actions.v1", 3, key="comment_key")
DLQ = Topic("triage.dlq.v1", 1, key="original key")

ALL_TOPICS: tuple[Topic, ...] = (COMMENTS, FLAGS, ALERTS, ACTIONS, DLQ)
