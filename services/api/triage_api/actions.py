"""Platform actions over the bus: publishing `ActionRequested` and consuming `ActionCompleted`.

Both travel on `triage.actions.v1`, keyed by comment_key; ingest executes requests and publishes results on
the same topic. Requests are not published from the request handler's transaction: they go through the
transactional outbox (`triage_api.outbox`), whose relay calls a publisher from here. The result consumer
follows the flag consumer's pattern: a batch is applied in one transaction and the offsets are committed only
after that commit. Re-delivered results are recognised by their request id and change nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.orm import Session, sessionmaker
from triage_bus.profile import BrokerProfile
from triage_events import ACTIONS, ActionCompleted, ActionRequested, InvalidEvent, decode, encode

from triage_api.db import until_stored
from triage_api.drafts.service import record_completion as record_post_completion
from triage_api.flags.workflow import record_completion

log = logging.getLogger(__name__)


class ActionPublisher(Protocol):
    async def publish(self, event: ActionRequested) -> None: ...


class NoPublisher:
    """Used when the app runs without a bus (tests of pure HTTP, a read-only replica)."""

    async def publish(self, event: ActionRequested) -> None:
        raise ConnectionError("no message bus configured")


class KafkaActionPublisher:
    def __init__(self, profile: BrokerProfile) -> None:
        self._profile = profile
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(self, event: ActionRequested) -> None:
        await self.send_record(ACTIONS.name, event.comment_key.encode(), encode(event))

    async def send_record(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Send stored bytes as they are (the outbox relay) and wait for the broker's acknowledgement."""
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(**self._profile.producer_kwargs())
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # a failed start leaves connections and tasks behind
                    raise
                self._producer = producer
        await self._producer.send_and_wait(topic, value, key=key)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def _event_type(value: bytes | None) -> str | None:
    try:
        parsed = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None
    return parsed.get("type") if isinstance(parsed, dict) else None


def completions(records: list[ConsumerRecord]) -> list[ActionCompleted]:
    """The results among a batch; requests (ours, on the same topic) and malformed records are skipped
    (ingest dead-letters malformed requests; a malformed result has no request to attach to)."""
    found: list[ActionCompleted] = []
    for record in records:
        if _event_type(record.value) != "action_completed":
            continue
        try:
            found.append(decode(ActionCompleted, record.value))
        except InvalidEvent as exc:
            log.warning("malformed action result reason=%s offset=%s", exc.reason, record.offset)
    return found


def apply_completions(factory: sessionmaker[Session], results: list[ActionCompleted]) -> int:
    with factory() as db, db.begin():
        return sum(record_completion(db, r) or record_post_completion(db, r) for r in results)


class ActionResultConsumer:
    def __init__(
        self, profile: BrokerProfile, factory: sessionmaker[Session], group_id: str, retry_delay: float = 1.0
    ) -> None:
        self._profile = profile
        self._factory = factory
        self._group_id = group_id
        self._retry_delay = retry_delay
        self.applied = 0
        self.running = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(ACTIONS.name, **self._profile.consumer_kwargs(self._group_id))
        await consumer.start()
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batches.items():
                    await self._handle(tp, records, consumer)
        finally:
            self.running = False
            await consumer.stop()

    async def _handle(
        self, tp: TopicPartition, records: list[ConsumerRecord], consumer: AIOKafkaConsumer
    ) -> None:
        results = completions(records)
        if results:
            self.applied += await until_stored(
                lambda: apply_completions(self._factory, results), self._retry_delay, "action results"
            )
        await consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "")})
