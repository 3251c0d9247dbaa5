"""Broker administration: readiness, and topic creation with explicit partition counts, replication and the
retention and cleanup policy of each topic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code
from triage_events.topics import Topic

log = logging.getLogger(__name__)


async def wait_until_ready(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """True when the broker answers a metadata request."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:  # a cheap check first, so a broker still starting doesn't fill the log with refused connections
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
        writer.close()
    except (TimeoutError, OSError):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError):
            await admin.close()


@dataclass(frozen=True)
class TopicPolicy:
    """How many copies of each partition, and how many must have a record before a producer with acks=all
    hears it is written. The defaults fit a three-broker cluster: one broker can be down (or restarting)
    and writes go on, and an acknowledged record is on two brokers."""

    replication_factor: int = 3
    min_insync_replicas: int = 2

    def __post_init__(self) -> None:
        if self.replication_factor < 1 or self.min_insync_replicas < 1:
            raise ValueError("replication factor and min.insync.replicas must be at least 1")
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min.insync.replicas ({self.min_insync_replicas}) cannot exceed the replication factor "
                f"({self.replication_factor}): no write could ever be acknowledged"
            )


def in_sync_for(replication_factor: int) -> int:
    """The copies that must hold a record for a replication factor, leaving one broker free to be down: 2 of 3
    (or more), 1 of 2 or 1."""
    return max(1, min(2, replication_factor - 1))


# One broker: development, the embedded broker, single-node tests.
SINGLE_NODE = TopicPolicy(replication_factor=1, min_insync_replicas=1)


def new_topic(topic: Topic, policy: TopicPolicy) -> NewTopic:
    configs = {**topic.config(), "min.insync.replicas": str(policy.min_insync_replicas)}
    return NewTopic(topic.name, topic.partitions, policy.replication_factor, topic_configs=configs)


async def create_topics(
    bootstrap_servers: str, topics: tuple[Topic, ...], policy: TopicPolicy = SINGLE_NODE
) -> None:
    """Create missing topics with their partitions, retention and cleanup policy, replicated as `policy`
    says. Partition counts are fixed here: the embedded broker can't add partitions. Existing topics are
    left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [new_topic(t, policy) for t in topics if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                response = await admin.create_topics(missing)
                _raise_topic_errors(response)
            log.info(
                "created topics %s replication_factor=%s min_insync_replicas=%s",
                ",".join(t.name for t in missing),
                policy.replication_factor,
                policy.min_insync_replicas,
            )
    except KafkaConnectionError:
        raise
    finally:
        await admin.close()


async def ensure_topics(
    bootstrap_servers: str, topics: tuple[Topic, ...], policy: TopicPolicy, timeout: float = 60.0
) -> None:
    """Create missing topics and wait until the cluster's metadata shows every partition with a leader, so
    a consumer that subscribes next sees them all (one that joins before a new topic reaches its metadata
    leaves the topic out until its next metadata refresh)."""
    deadline = time.monotonic() + timeout
    while not await wait_until_ready(bootstrap_servers, timeout=2.0):
        if time.monotonic() > deadline:
            raise KafkaConnectionError(f"no broker answered at {bootstrap_servers} within {timeout:.0f} s")
        await asyncio.sleep(0.5)
    await create_topics(bootstrap_servers, topics, policy)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        while True:
            described = await admin.describe_topics([t.name for t in topics])
            led = {d["topic"]: sum(p["leader"] >= 0 for p in d["partitions"]) for d in described}
            _raise_partition_mismatch(topics, described, led)
            if all(led.get(t.name, 0) >= t.partitions for t in topics):
                return
            if time.monotonic() > deadline:
                raise KafkaError(f"topics not ready within {timeout:.0f} s: {led}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _raise_partition_mismatch(
    topics: tuple[Topic, ...], described: list[dict[str, Any]], led: dict[str, int]
) -> None:
    """A topic that exists, fully led, with another partition count than declared was not created here: most
    often a client produced to it or subscribed before it was created, and the broker created it with its
    default count. Waiting would not change it, and keys would land on other partitions than the services
    expect, so say so at once."""
    counts = {d["topic"]: len(d["partitions"]) for d in described}
    wrong = [
        f"{t.name} has {counts[t.name]} partitions, declared {t.partitions}"
        for t in topics
        if counts.get(t.name) and counts[t.name] != t.partitions and led.get(t.name) == counts[t.name]
    ]
    if wrong:
        raise KafkaError(
            "topics exist with another partition count (created by a client before the service created them? "
            "delete them, or turn off the broker's automatic topic creation): " + "; ".join(wrong)
        )


def _raise_topic_errors(response: Any) -> None:
    """The admin client returns per-topic errors instead of raising them (a replication factor above the
    number of brokers would otherwise pass silently). A topic that exists already is not an error."""
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code in (0, TopicAlreadyExistsError.errno):
            continue
        raise for_code(code)(f"cannot create topic {name}: {message or 'error code ' + str(code)}")
