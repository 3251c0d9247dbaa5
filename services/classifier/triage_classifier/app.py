"""The Faust application and its topics. Topics carry raw bytes; agents decode them explicitly."""

from __future__ import annotations

import logging

import faust
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from triage_bus.profile import BrokerProfile
from triage_bus.settings import get_bus_settings
from triage_events import ALERTS, COMMENTS, DLQ, FLAGS, JUDGED, Topic

from triage_classifier import lag as consumer_lag
from triage_classifier import offsets
from triage_classifier.config import get_settings
from triage_classifier.stall import StallWatch

log = logging.getLogger(__name__)
settings = get_settings()
profile = BrokerProfile.from_settings(get_bus_settings())
profile.apply_client_patches()
offsets.apply()  # before the app creates its consumer: Faust would otherwise lose records after a rebalance

app = faust.App(
    settings.app_id,
    **profile.faust_settings(),
    autodiscover=False,
    origin="triage_classifier",
    store="memory://",
    datadir=str(settings.data_dir),
    key_serializer="raw",
    value_serializer="raw",
    topic_partitions=COMMENTS.partitions,
    web_port=settings.web_port,
    web_bind=settings.web_host,
    consumer_auto_offset_reset="earliest",
)


def _topic(name: str, partitions: int) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions, internal=False)


comments_topic = _topic(COMMENTS.name, COMMENTS.partitions)
flags_topic = _topic(FLAGS.name, FLAGS.partitions)
judged_topic = _topic(JUDGED.name, JUDGED.partitions)
alerts_topic = _topic(ALERTS.name, ALERTS.partitions)
dlq_topic = _topic(DLQ.name, DLQ.partitions)


def _internal_topic(suffix: str) -> faust.TopicT:
    return app.topic(
        f"{settings.app_id}-{suffix}",
        key_type=bytes,
        value_type=bytes,
        partitions=COMMENTS.partitions,
        internal=True,
    )


# Surge marks, keyed by account and label, so each surge window lives on exactly one partition.
account_labels_topic = _internal_topic("account-labels")
# Hostile flags and clears, keyed by author (`platform:author_id`), so each author's hostility window lives
# on exactly one partition, and a clear stays behind the hostile flag of its comment. Carries comment text
# (the flags do), like the comments and flags topics.
author_verdicts_topic = _internal_topic("author-verdicts")


def _window_table(name: str, help_text: str) -> faust.types.TableT:
    # Keys are the raw Kafka keys of the internal topic the table's agent reads; `use_partitioner` puts each
    # key's changelog record on the partition the key hashes to, which is the partition its events arrive on
    # (co-partitioned).
    return app.Table(
        name,
        default=dict,
        key_type=bytes,  # bytes keys: raw serializer; dict values: JSON
        partitions=COMMENTS.partitions,
        use_partitioner=True,
        help=help_text,
    )


author_to_hostility = _window_table("author_to_hostility", "recent hostile flags per author")
account_label_to_surge = _window_table("account_label_to_surge", "recent flags per account and label")


def internal_topics() -> tuple[Topic, ...]:
    """This app's own topics, created before the worker starts (`worker.main`) with the profile's replication:
    the two internal topics (kept like the product's topics), the tables' changelogs (compacted: the latest
    record per key is the table) and Faust's leader-election topic."""
    changelogs = tuple(
        Topic(
            table.changelog_topic.get_topic_name(),
            COMMENTS.partitions,
            key="table key",
            cleanup_policy="compact",
        )
        for table in (author_to_hostility, account_label_to_surge)
    )
    return (
        Topic(account_labels_topic.get_topic_name(), COMMENTS.partitions, key="account and label"),
        Topic(author_verdicts_topic.get_topic_name(), COMMENTS.partitions, key="author"),
        *changelogs,
        Topic(f"{settings.app_id}-__assignor-__leader", 1, key="none"),
    )


# Metrics (the default registry), served by Faust's web server at /metrics. Labels: label, severity, kind,
# reason; never comment keys or authors.
COMMENTS_CONSUMED = Counter(
    "triage_classifier_comments_total", "Comment records taken off the comments topic"
)
COMMENTS_JUDGED = Counter("triage_classifier_comments_judged_total", "Comments decoded and judged")
FLAGS_RAISED = Counter(
    "triage_classifier_flags_total", "Flags published, one count per label", ["label", "severity"]
)
FLAGS_CLEARED = Counter(
    "triage_classifier_flags_cleared_total",
    "Clears published: a deleted comment, or an edit judged benign",
    ["reason"],
)
UNSUPPORTED_LANGUAGE = Counter(
    "triage_classifier_unsupported_language_total",
    "Comments in a language the classifier does not cover, sent for review, by language (an ISO 639 code "
    "from the identifier's fixed list, or und)",
    ["language"],
)
ALERTS_RAISED = Counter("triage_classifier_alerts_total", "Alerts published", ["kind"])
DEAD_LETTERS = Counter("triage_classifier_dead_letters_total", "Records sent to the DLQ", ["reason"])
BATCH_SIZE = Histogram(
    "triage_classifier_batch_size",
    "Comments per micro-batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
BATCH_LATENCY = Histogram(
    "triage_classifier_batch_latency_seconds",
    "Time to decode and judge one micro-batch (model and rules, off the event loop)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# triage_classifier_consumer_lag{topic, partition}, refreshed by a timer on every worker (see lag.py).
CONSUMER_LAG = consumer_lag.CONSUMER_LAG
_lag_exporter = consumer_lag.LagExporter()


STALL_RECOVERIES = Counter(
    "triage_classifier_stall_recoveries_total",
    "Times the worker sought back to its committed offsets because comments waited while its agent sat idle",
)
# Told by the classify agent of every batch; read with each lag reading (see stall.py). Only the comments are
# watched: while comments queue (a burst), the fetch loop feeds the classify agent first, and the author
# topic's agent may get nothing for a while without anything being wrong; a seek then would make the worker
# judge again what it had fetched. A seek sends every partition back, the author topic's too.
stall_watch = StallWatch()


@app.timer(interval=consumer_lag.INTERVAL_S)
async def export_consumer_lag() -> None:
    """Lag of this worker's partitions of the topics its agents read; comments waiting while the classify
    agent sits idle are fetched again."""
    consumer = app.consumer
    committed = consumer_lag.committed_offsets(consumer, app.monitor)
    topics = (COMMENTS.name, account_labels_topic.get_topic_name(), author_verdicts_topic.get_topic_name())
    lag = _lag_exporter.record(consumer, committed, topics)
    if lag is None:
        return
    comments_lag = {key: value for key, value in lag.items() if key[0] == COMMENTS.name}
    by_partition = {(tp.topic, tp.partition): offset for tp, offset in committed.items()}
    if stall_watch.stalled(comments_lag, by_partition):
        log.warning(
            "comments waiting while the agent is idle: seeking back to the committed offsets partitions=%s",
            sorted(partition for (_topic, partition), value in comments_lag.items() if value > 0),
        )
        STALL_RECOVERIES.inc()
        await consumer.perform_seek()


@app.page("/metrics")
async def metrics_page(web, request):  # type: ignore[no-untyped-def]
    """Prometheus exposition of this worker's metrics."""
    # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 either way.
    return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split("; charset")[0])
