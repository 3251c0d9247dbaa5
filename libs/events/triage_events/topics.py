"""Topic names, partition counts and how long each keeps its records. A breaking schema change gets a new
`.v2` topic, never an edit here."""

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000
# The bus is a pipe, not an archive: the database keeps flags, and comment text (possible PHI) should leave
# the brokers once every consumer has long had it. Seven days cover a long weekend's outage and a replay.
RETENTION_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str  # what the Kafka key is, for readers of this file
    retention_ms: int = RETENTION_MS
    cleanup_policy: str = "delete"  # "compact" only for topics whose latest record per key is the state

    def config(self) -> dict[str, str]:
        """The topic-level settings created with it (replication settings come from `TopicPolicy`)."""
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


# Keyed by comment: every version of a comment (edits, deletion) is judged in order, and the load spreads
# evenly over the partitions whoever writes. Per-author state lives on the classifier's own author-keyed topic.
COMMENTS = Topic("triage.comments.v1", 6, key="comment_key (platform:account_id:platform_comment_id)")
# Two event types since FlagCleared was added: read it with `codec.decode_flag_event` (by `type`).
FLAGS = Topic("triage.flags.v1", 6, key="comment_key")
# Every verdict, benign ones too, for the desk's "All comments" view. The database keeps recent comments (30 days
# by default); the bus keeps them no longer than any other topic.
JUDGED = Topic("triage.judged.v1", 6, key="comment_key")
ALERTS = Topic("triage.alerts.v1", 3, key="account (platform:account_id)")
ACTIONS = Topic("triage.actions.v1", 3, key="comment_key")
# Kept longer: someone has to look at a dead letter, and may only get to it after a holiday.
DLQ = Topic("triage.dlq.v1", 1, key="original key", retention_ms=14 * DAY_MS)

ALL_TOPICS: tuple[Topic, ...] = (COMMENTS, FLAGS, JUDGED, ALERTS, ACTIONS, DLQ)
