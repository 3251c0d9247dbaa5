"""API metrics (one registry, the default). Labels are low-cardinality: label, severity, status, kind,
channel, outcome, reason, topic; never flag ids, comment keys or people."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge, Histogram
from triage_events import DeadLetter

FLAGS_STORED = Counter(
    "triage_api_flags_stored_total",
    "Flags stored for the first time (duplicate deliveries excluded), one count per label",
    ["label", "severity"],
)
DEAD_LETTERS = Counter(
    "triage_api_dead_letters_total",
    "Messages the API could not handle and sent to the dead-letter topic, by reason",
    ["topic", "reason"],
)
CONSUMER_LAG = Gauge(
    "triage_api_consumer_lag_messages",
    "Messages on a topic not yet consumed by this replica (high watermark minus position)",
    ["topic"],
)
QUEUE_SIZE = Gauge("triage_api_queue_flags", "Flags in the moderation queue, by status", ["status"])
SLA_BREACHES = Gauge(
    "triage_api_queue_sla_breaches",
    "Flags still new past their SLA due time (restarted by an escalation or a raised severity), by severity",
    ["severity"],
)
OLDEST_NEW = Gauge(
    "triage_api_queue_oldest_new_seconds",
    "Age of the oldest flag nobody has acted on yet (0 when there is none)",
    ["severity"],
)
TIME_TO_ACK = Histogram(
    "triage_api_alert_time_to_ack_seconds",
    "Time from an alert being stored to a person acknowledging it",
    ["kind"],
    buckets=(15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200),
)
ALERTS_RECEIVED = Counter(
    "triage_api_alerts_received_total",
    "Alerts stored for the first time (duplicates by dedup key excluded)",
    ["kind", "severity"],
)
ALERTS_DUPLICATE = Counter(
    "triage_api_alerts_duplicate_total", "Alert deliveries dropped as duplicates of a dedup key", ["kind"]
)
ALERTS_OPEN = Gauge("triage_api_alerts_open", "Alerts raised and not yet acknowledged", ["kind"])
OLDEST_UNACKED = Gauge(
    "triage_api_alert_oldest_unacknowledged_seconds",
    "Age of the oldest alert nobody has acknowledged (0 when there is none)",
    ["kind"],
)
NOTIFICATIONS = Counter(
    "triage_api_notifications_total",
    "On-call notifications by channel type and outcome (sent, failed after retries, retried)",
    ["channel", "outcome"],
)
ESCALATIONS = Counter(
    "triage_api_alert_escalations_total",
    "Alerts re-paged to the next person after no acknowledgement",
    ["kind"],
)
NOTIFICATION_LATENCY = Histogram(
    "triage_api_notification_latency_seconds",
    "Time from an alert being stored to its first page being delivered",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OUTBOX_PENDING = Gauge(
    "triage_api_action_outbox_pending",
    "ActionRequested events committed with their action but not yet acknowledged by the broker",
)
OUTBOX_OLDEST_PENDING = Gauge(
    "triage_api_action_outbox_oldest_pending_seconds",
    "Age of the oldest ActionRequested still waiting in the outbox (0 when there is none)",
)
OUTBOX_PUBLISHED = Counter(
    "triage_api_action_outbox_published_total", "Outbox entries published and acknowledged by the broker"
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "triage_api_action_outbox_publish_failures_total",
    "Failed attempts to publish an outbox entry (it stays pending and is retried), by error type",
    ["reason"],
)

TIME_TO_FIRST_ACTION = Histogram(
    "triage_api_time_to_first_action_seconds",
    "Time from a flag being raised to the first thing a person did about it (claim, status change, "
    "assignment, severity raise, re-route, platform action or an acknowledged alert covering it), by the "
    "severity the flag arrived with; observed once per flag",
    ["severity", "label"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800),
)
SLA_BREACHES_TOTAL = Counter(
    "triage_api_sla_breaches_total",
    "Flags whose first staff action came after the response target of the severity they arrived with "
    "(counted once, at that action; flags still waiting are triage_api_queue_sla_breaches)",
    ["severity"],
)
FLAGS_RELABELLED = Counter(
    "triage_api_flags_relabelled_total",
    "Stored flags updated by a newer verdict on the same comment (an edit judged again), by new severity",
    ["severity", "reason"],
)
FLAG_UPDATES_IGNORED = Counter(
    "triage_api_flag_updates_ignored_total",
    "Later verdicts on an already stored comment that changed nothing (duplicate, stale or unchanged)",
    ["reason"],
)
FLAGS_CLEARED = Counter(
    "triage_api_flags_cleared_total",
    "Stored flags cleared because their comment was deleted or edited into something benign (resolved when "
    "open), by reason",
    ["reason"],
)
FLAG_CLEARS_IGNORED = Counter(
    "triage_api_flag_clears_ignored_total",
    "Clears that changed nothing: no flag for the comment (missing), older than the flag (stale), duplicate",
    ["reason"],
)
FLAGS_REOPENED = Counter(
    "triage_api_flags_reopened_total",
    "Flags resolved by a benign edit and reopened by a later edit that needs a human again",
)


async def record_consumer_lag(consumer: AIOKafkaConsumer, topic: str) -> None:
    """Messages behind the high watermark, summed over this replica's partitions of `topic`."""
    lag = 0
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            lag += max(0, highwater - await consumer.position(tp))
    CONSUMER_LAG.labels(topic).set(lag)


def count_dead_letter(letter: DeadLetter) -> None:
    DEAD_LETTERS.labels(letter.topic, letter.reason).inc()


COMMENTS_STORED = Counter(
    "triage_api_comments_stored_total",
    "Comments stored for the All comments view for the first time (every verdict, benign included)",
)
# Set from the database with the queue gauges (`comments.learning`), so every replica reports the same.
MISSES_FOUND = Gauge(
    "triage_api_misses_found",
    "Labels the classifier missed that people found: labels of flags a person raised on a comment the "
    "classifier passed, and labels marked missing on a flag, by label and comment language (a code from the "
    "desk's fixed list, other or unknown)",
    ["label", "language"],
)
FEEDBACK_PRECISION = Gauge(
    "triage_api_feedback_precision",
    "Precision of the classifier's labels as people judged them: correct / (correct + wrong) over label "
    "feedback on its flags (0 when there is none; see triage_api_feedback_verdicts)",
    ["label"],
)
FEEDBACK_VERDICTS = Gauge(
    "triage_api_feedback_verdicts",
    "Label feedback rows on the classifier's flags, by verdict",
    ["label", "verdict"],
)
