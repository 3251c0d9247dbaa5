"""Small helpers for integration tests: waiting, reading and writing topics with aiokafka, and the on-call
alert raised for an urgent comment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from triage_events import Account, AlertRaised, Platform
from triage_events.topics import Topic

from tests.builders import make_alert

T = TypeVar("T")

BRIGHTWATER = Account(id="acct-brightwater", handle="@brightwater")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float, what: str, every: float = 0.2
) -> T:
    """Call `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


async def produce(
    bootstrap_servers: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]
) -> None:
    """Send (key, value) pairs in order and wait for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def read_all(bootstrap_servers: str, topic: str, idle: float = 1.0) -> list[ConsumerRecord]:
    """Every record on `topic` from the beginning, read without a consumer group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # the topic may be new to this client
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord] = []
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batch:
                return records
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()


async def committed_total(bootstrap_servers: str, group_id: str, topic: str, partitions: int) -> int:
    """The sum of a group's committed offsets on `topic` (partitions named explicitly: broker bug B6). On a new
    Kafka cluster the first coordinator lookup creates the offsets topic and is answered "not available"
    meanwhile: asked again for up to 30 s."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                offsets = await admin.list_consumer_group_offsets(
                    group_id, partitions=[TopicPartition(topic, p) for p in range(partitions)]
                )
                break
            except GroupCoordinatorNotAvailableError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values())


async def all_committed(
    bootstrap_servers: str, group_id: str, topic: Topic, count: int, what: str, timeout: float = 45.0
) -> None:
    """Wait until `group_id` has committed exactly `count` records on `topic`, or fail after `timeout` s."""

    async def done() -> bool:
        return await committed_total(bootstrap_servers, group_id, topic.name, topic.partitions) == count

    await eventually(done, timeout, what)


def urgent_alert(
    comment_key: str, platform: Platform = Platform.FACEBOOK, account: Account = BRIGHTWATER
) -> AlertRaised:
    """The on-call alert the classifier raises for one urgent comment (deduplicated by the comment)."""
    return make_alert(
        platform=platform,
        account=account,
        comment_keys=[comment_key],
        dedup_key=f"urgent_comment:{comment_key}",
    )
