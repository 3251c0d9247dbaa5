"""The Faust application and its topics. Topics carry raw bytes; agents decode them explicitly."""

from __future__ import annotations

import faust
from triage_bus.profile import BrokerProfile
from triage_bus.settings import get_bus_settings
from triage_events import ALERTS, COMMENTS, DLQ, FLAGS

from triage_classifier.config import get_settings

settings = get_settings()
profile = BrokerProfile.from_settings(get_bus_settings())
profile.apply_client_patches()

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
    web_bind="127.0.0.1",
    consumer_auto_offset_reset="earliest",
)


def _topic(name: str, partitions: int) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions, internal=False)


comments_topic = _topic(COMMENTS.name, COMMENTS.partitions)
flags_topic = _topic(FLAGS.name, FLAGS.partitions)
alerts_topic = _topic(ALERTS.name, ALERTS.partitions)
dlq_topic = _topic(DLQ.name, DLQ.partitions)

# Flags re-keyed by account and label, so each surge window lives on exactly one partition.
account_labels_topic = app.topic(
    f"{settings.app_id}-account-labels",
    key_type=bytes,
    value_type=bytes,
    partitions=COMMENTS.partitions,
    internal=True,
)


def _window_table(name: str, help_text: str) -> faust.types.TableT:
    # Keys are the raw Kafka keys of the source topic; `use_partitioner` puts each key's changelog record on
    # the partition the key hashes to, which is the partition its events arrive on (co-partitioned).
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
