"""The one place that knows how the embedded broker differs from Apache Kafka.

Measured gaps of the embedded broker (Tansu) and how each is handled here (details: shared BROKER.md):
- InitProducerId fails, so no idempotent producer and no transactions: idempotence is on only for real
  Kafka; processing is at-least-once with idempotent consumers everywhere.
- Fetch long-polling is implemented as polling, so latency follows `fetch_max_wait_ms`: 100 ms here.
  Faust hard-codes 1,500 ms; `patch_faust` lowers it for the worker consumer.
- Every JoinGroup waits half the session timeout: short sessions (8 s) in the embedded profile.
- ListOffsets(latest) can under-report the end of a partition (base offset of the last batch + 1):
  `patch_end_offsets` takes the larger of that and the Fetch high watermark, which is what table
  recovery and lag measurements need. On real Kafka both agree, so the patch is not applied there.
- Topics are created on subscribe and metadata lists every topic, asked or not. Kafka (topic
  auto-creation off, as in production) answers only for the topics asked: Faust's producer then knows no
  partitions of a table changelog it has not written yet, and its `key_partition` crashes
  (`patch_faust_key_partition`, both profiles); and services create their own topics before they start
  (`triage_bus.admin.ensure_topics`), replicated as `topic_policy` says, since a consumer that joins before
  a new topic reaches its metadata ignores the topic until the next metadata refresh (5 minutes).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from triage_bus.admin import SINGLE_NODE, TopicPolicy, in_sync_for
from triage_bus.settings import BusSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerProfile:
    bootstrap_servers: str
    embedded: bool
    client_id: str = "triage"
    replication_factor: int | None = None
    min_insync_replicas: int | None = None

    @classmethod
    def from_settings(cls, settings: BusSettings) -> BrokerProfile:
        return cls(
            settings.bootstrap_servers,
            settings.profile == "embedded",
            settings.client_id,
            settings.replication_factor,
            settings.min_insync_replicas,
        )

    def topic_policy(self) -> TopicPolicy:
        """Replication of the topics a service creates: one copy on the embedded broker; on Kafka the
        settings, else three copies, two in sync (a three-broker cluster)."""
        if self.embedded:
            return SINGLE_NODE
        replication = self.replication_factor or 3
        return TopicPolicy(replication, self.min_insync_replicas or in_sync_for(replication))

    @property
    def idempotent_producer(self) -> bool:
        return not self.embedded

    @property
    def fetch_max_wait_ms(self) -> int:
        return 100 if self.embedded else 500

    @property
    def session_timeout_ms(self) -> int:
        return 8_000 if self.embedded else 45_000

    @property
    def heartbeat_interval_ms(self) -> int:
        return 2_000 if self.embedded else 3_000

    def producer_kwargs(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "acks": "all",
            "enable_idempotence": self.idempotent_producer,
            "linger_ms": 5,
            "max_request_size": 2 * 1024 * 1024,
        }

    def consumer_kwargs(self, group_id: str) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_partition_fetch_bytes": 2 * 1024 * 1024,
        }

    def faust_settings(self) -> dict[str, Any]:
        """Keyword arguments for `faust.App` that depend on the broker."""
        return {
            "broker": f"kafka://{self.bootstrap_servers}",
            "processing_guarantee": "at_least_once",
            "broker_session_timeout": self.session_timeout_ms / 1000,
            "broker_heartbeat_interval": self.heartbeat_interval_ms / 1000,
            "broker_request_timeout": max(40.0, self.session_timeout_ms / 1000 + 5),
            "topic_replication_factor": self.topic_policy().replication_factor,
        }

    def apply_client_patches(self) -> None:
        """Install the client-side workarounds this broker needs; call before any consumer is created."""
        patch_faust_key_partition()
        if self.embedded:
            patch_end_offsets()
            patch_faust_fetch_wait(self.fetch_max_wait_ms)


@functools.cache
def patch_end_offsets() -> None:
    """Make `AIOKafkaConsumer.end_offsets` return the true end on the embedded broker (bug B1)."""
    from aiokafka.consumer.consumer import AIOKafkaConsumer
    from aiokafka.consumer.fetcher import Fetcher

    original = Fetcher.end_offsets

    async def end_offsets(self: Fetcher, partitions: Any, timeout_ms: int) -> dict[Any, int]:
        listed: dict[Any, int] = await original(self, partitions, timeout_ms)
        return {tp: max(offset, await _high_watermark(self, tp, offset)) for tp, offset in listed.items()}

    Fetcher.end_offsets = end_offsets  # type: ignore[method-assign]
    log.info("embedded broker profile: end_offsets corrected with the fetch high watermark")
    del AIOKafkaConsumer  # imported only to make sure the consumer module is loaded first


async def _high_watermark(fetcher: Any, tp: Any, listed: int) -> int:
    """Ask the partition leader for one fetch from `listed - 1` and read the high watermark it reports."""
    from aiokafka.protocol.fetch import FetchRequest

    client = fetcher._client
    node_id = client.cluster.leader_for_partition(tp)
    if node_id is None or node_id < 0:
        return listed
    request = FetchRequest(
        10,  # max wait ms: the embedded broker answers a 0 ms fetch with no partitions at all
        1,  # min bytes
        1024,  # max bytes
        0,  # isolation level: read uncommitted
        [(tp.topic, [(tp.partition, max(0, listed - 1), 1024)])],
    )
    try:
        response = await client.send(node_id, request)
    except Exception:  # the listed value is still a valid lower bound
        log.debug("high watermark probe failed topic=%s partition=%s", tp.topic, tp.partition)
        return listed
    for _topic, partitions in response.topics:
        for partition_data in partitions:
            error_code, high_watermark = partition_data[1], partition_data[2]
            if error_code == 0:
                return int(high_watermark)
    return listed


@functools.cache
def patch_faust_fetch_wait(fetch_max_wait_ms: int) -> None:
    """Faust hard-codes `fetch_max_wait_ms=1500` for its worker consumer; use the profile's value instead."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    original = thread_cls._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms
        return consumer

    thread_cls._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]


@functools.cache
def patch_faust_key_partition() -> None:
    """Faust's `Producer.key_partition` (a table with `use_partitioner`) reads the partitions of the changelog
    from its producer's metadata, which on Kafka holds only topics the producer has written to, so the first
    write to a table crashed its agent (`'NoneType' object is not iterable`). When the topic is unknown, ask
    for its metadata for next time and place the key with the same partitioner over the app's
    `topic_partitions` (every internal topic of the classifier has that many partitions)."""
    from faust.transport.drivers import aiokafka as faust_aiokafka
    from faust.types import TP

    producer_cls = faust_aiokafka.Producer
    original = producer_cls.key_partition

    def key_partition(self: Any, topic: str, key: bytes) -> Any:
        producer = self._ensure_producer()
        if producer._metadata.partitions_for_topic(topic) is not None:
            return original(self, topic, key)
        producer.client.add_topic(topic)  # a metadata update for the topic, in the background
        partitions = list(range(self.app.conf.topic_partitions))
        return TP(topic, producer._partitioner(key, partitions, partitions))

    producer_cls.key_partition = key_partition  # type: ignore[method-assign]
