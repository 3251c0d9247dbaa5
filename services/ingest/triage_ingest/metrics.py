"""Ingest metrics (one registry, the default). Labels: platform, account (configured ids only), reason,
action: never comment ids, author ids or text."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter(
    "triage_ingest_comments_received_total",
    "Comments, edits and deletions normalised from a platform",
    ["platform", "account"],
)
PUBLISHED = Counter(
    "triage_ingest_comments_published_total",
    "Comment events acknowledged by the broker",
    ["platform", "account"],
)
DUPLICATES = Counter(
    "triage_ingest_duplicates_dropped_total",
    "Comment events dropped as redeliveries, replays or stale edits",
    ["platform", "account", "reason"],
)
ERRORS = Counter(
    "triage_ingest_errors_total",
    "Requests or payload parts refused or dead-lettered, by reason",
    ["platform", "account", "reason"],
)
IGNORED = Counter(
    "triage_ingest_changes_ignored_total",
    "Platform notifications that are not comments (reactions, posts, our own replies)",
    ["platform", "account", "reason"],
)
QUOTA_REMAINING = Gauge(
    "triage_ingest_api_quota_remaining_requests",
    "What is left of the platform's limit as last reported: requests in the rate-limit window (X, Reddit),"
    " 100 minus the usage percentage (Meta), quota units left today (YouTube, counted by ingest)",
    ["platform", "account"],
)
WEBHOOK_LATENCY = Histogram(
    "triage_ingest_webhook_latency_seconds",
    "Time from receiving a webhook request to answering it (published before the answer)",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ACTIONS = Counter(
    "triage_ingest_actions_total",
    "Outbound actions executed, by result (done, dry_run, failed reason)",
    ["platform", "account", "action", "reason"],
)
ACTION_REDELIVERIES = Counter(
    "triage_ingest_action_redeliveries_total",
    "Action requests seen again by event id: answered_again (recorded result re-published, platform not"
    " called), retried (idempotent, interrupted before its result was recorded), outcome_unknown (a reply"
    " interrupted the same way: not repeated, reported failed for a person to check)",
    ["platform", "account", "action", "outcome"],
)
POLL_DURATION = Histogram(
    "triage_ingest_poll_duration_seconds",
    "Time one poll run took (fetch, normalise, publish every page, save the cursor), by outcome",
    ["platform", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
POLL_LAST_SUCCESS = Gauge(
    "triage_ingest_poll_last_success_timestamp_seconds",
    "When the account's poller last finished a run (unix time): alert when it stops moving",
    ["platform", "account"],
)
