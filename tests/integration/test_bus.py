"""The bus plumbing against the shared embedded broker: topics, readiness, publishing, the end-offset fix."""

from __future__ import annotations

import asyncio
import base64

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from triage_bus.admin import SINGLE_NODE, create_topics, ensure_topics, wait_until_ready
from triage_bus.dlq import dead_letter
from triage_bus.embedded import EmbeddedBroker, free_port
from triage_bus.profile import BrokerProfile, patch_end_offsets
from triage_events import ALL_TOPICS, COMMENTS, DLQ, CommentReceived, DeadLetter, Topic, decode
from triage_ingest.publisher import Publisher

from tests.builders import make_comment, unique
from tests.integration.helpers import read_all

pytestmark = pytest.mark.integration


async def test_the_broker_has_every_topic_with_its_partition_count(broker: EmbeddedBroker) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in ALL_TOPICS])
    finally:
        await admin.close()

    assert {d["topic"]: len(d["partitions"]) for d in described} == {t.name: t.partitions for t in ALL_TOPICS}


async def test_creating_topics_again_is_harmless(broker: EmbeddedBroker) -> None:
    extra = Topic(unique("test.extra"), 2, key="none")

    await create_topics(broker.bootstrap_servers, (*ALL_TOPICS, extra))
    await create_topics(broker.bootstrap_servers, (extra,))

    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([extra.name])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 2


async def test_a_topic_auto_created_with_another_partition_count_is_named_at_once(
    broker: EmbeddedBroker,
) -> None:
    """A client that produces to a topic before the service creates it gets the broker's default count;
    ensure_topics says which topic and both counts instead of waiting out its timeout."""
    declared = Topic(unique("test.auto"), 6, key="none")
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(declared.name, b"first")
    finally:
        await producer.stop()

    with pytest.raises(KafkaError, match=rf"{declared.name} has 4 partitions, declared 6"):
        await asyncio.wait_for(
            ensure_topics(broker.bootstrap_servers, (declared,), SINGLE_NODE, timeout=30), 20
        )


async def test_readiness(broker: EmbeddedBroker) -> None:
    assert await wait_until_ready(broker.bootstrap_servers) is True
    assert await wait_until_ready(f"127.0.0.1:{free_port()}", timeout=0.5) is False


async def test_publisher_sends_keyed_comments_once_and_dead_letters(broker: EmbeddedBroker) -> None:
    publisher = Publisher(BrokerProfile(broker.bootstrap_servers, embedded=True))
    event = make_comment(text="Is the pharmacy open on Sunday?")
    letter = dead_letter("ingest", "replay:test.jsonl", None, b"{not json", "not_json", "bad", offset=3)
    await publisher.start()
    try:
        first = await publisher.publish(event)
        again = await publisher.publish(make_comment(comment=event.comment))  # same comment_key, new event
        await publisher.dead_letter(letter)
    finally:
        await publisher.stop()

    assert (first, again) == (True, False)
    mine = [
        r
        for r in await read_all(broker.bootstrap_servers, COMMENTS.name)
        if decode(CommentReceived, r.value).comment_key == event.comment_key
    ]
    assert len(mine) == 1
    assert mine[0].key == event.kafka_key
    assert decode(CommentReceived, mine[0].value) == event
    letters = [decode(DeadLetter, r.value) for r in await read_all(broker.bootstrap_servers, DLQ.name)]
    assert letter in letters
    assert base64.b64decode(letter.value_b64 or "") == b"{not json"


async def test_end_offsets_are_right_after_multi_record_batches(broker: EmbeddedBroker) -> None:
    """Broker bug B1: ListOffsets(latest) answers the newest batch's base offset + 1. The embedded profile's
    patch takes the fetch high watermark instead."""
    topic = unique("test.batches")
    await create_topics(broker.bootstrap_servers, (Topic(topic, 1, key="none"),))
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=200)
    await producer.start()
    try:
        for size in (10, 5):  # two batches: offsets 0-9 and 10-14
            batch = producer.create_batch()
            for i in range(size):
                batch.append(key=None, value=f"m{i}".encode(), timestamp=None)
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 0)

    patch_end_offsets()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        assert await consumer.end_offsets([tp]) == {tp: 15}
    finally:
        await consumer.stop()
