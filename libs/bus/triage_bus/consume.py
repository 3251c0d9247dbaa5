"""One way to consume a topic of the bus, for every service that is not a Faust agent.

A `BusConsumer` polls its topic, turns each record into an event with the decoder it is given, sends a record
that cannot be decoded to the dead-letter topic with the reason, hands the rest of the poll to its handler as
one batch, and commits the poll's offsets only after the handler returned. A handler that raises leaves the
offsets where they were, so the records come back: delivery is at least once and every handler is idempotent.
A decoder that returns None passes over a record meant for another reader of a shared topic.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata
from triage_events import DLQ, DeadLetter, InvalidEvent, encode

from triage_bus.dlq import Record, dead_letter_record
from triage_bus.profile import BrokerProfile

log = logging.getLogger(__name__)

E = TypeVar("E")


class Producer(Protocol):
    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> object: ...


@dataclass(frozen=True)
class Received(Generic[E]):
    """A decoded event with the record it came from (for its key, partition and offset)."""

    record: Record
    event: E


class Sink:
    """Where a handler sends what it produces: records for other topics, and dead letters."""

    def __init__(
        self,
        producer: Producer,
        service: str,
        on_dead_letter: Callable[[DeadLetter], None] = lambda _letter: None,
    ) -> None:
        self._producer = producer
        self._service = service
        self._on_dead_letter = on_dead_letter

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        """Publish and wait for the broker's acknowledgement."""
        await self._producer.send_and_wait(topic, value, key=key)

    async def dead_letter(self, record: Record, reason: str, error: str) -> None:
        """Copy `record` to the dead-letter topic with why it could not be handled (logged by position and
        reason only: never the payload)."""
        letter = dead_letter_record(self._service, record, reason, error)
        log.warning(
            "dead letter topic=%s reason=%s partition=%s offset=%s",
            record.topic,
            reason,
            record.partition,
            record.offset,
        )
        self._on_dead_letter(letter)
        await self._producer.send_and_wait(DLQ.name, encode(letter))


Decoder = Callable[[bytes | None], E | None]
Handler = Callable[[list[Received[E]], Sink], Awaitable[None]]


async def handle_records(records: list[Record], decode: Decoder[E], handle: Handler[E], sink: Sink) -> None:
    """Decode a poll's records (dead-lettering the malformed ones) and hand the decoded ones to `handle`."""
    received: list[Received[E]] = []
    for record in records:
        try:
            event = decode(record.value)
        except InvalidEvent as exc:
            await sink.dead_letter(record, exc.reason, str(exc))
            continue
        if event is not None:
            received.append(Received(record, event))
    if received:
        await handle(received, sink)


class BusConsumer(Generic[E]):
    """Consumes `topic` as `group_id` until cancelled. `after_poll` runs after every poll, empty ones too
    (a lag gauge); `max_records` bounds a batch."""

    def __init__(
        self,
        profile: BrokerProfile,
        topic: str,
        group_id: str,
        service: str,
        decode: Decoder[E],
        handle: Handler[E],
        *,
        max_records: int = 500,
        poll_ms: int = 500,
        on_dead_letter: Callable[[DeadLetter], None] = lambda _letter: None,
        after_poll: Callable[[AIOKafkaConsumer], Awaitable[None]] | None = None,
    ) -> None:
        self._profile = profile
        self._topic = topic
        self._group_id = group_id
        self._service = service
        self._decode = decode
        self._handle = handle
        self._max_records = max_records
        self._poll_ms = poll_ms
        self._on_dead_letter = on_dead_letter
        self._after_poll = after_poll
        self.running = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(self._topic, **self._profile.consumer_kwargs(self._group_id))
        producer = AIOKafkaProducer(**self._profile.producer_kwargs())
        await producer.start()
        try:
            await consumer.start()
        except BaseException:
            await producer.stop()
            raise
        sink = Sink(producer, self._service, self._on_dead_letter)
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=self._poll_ms, max_records=self._max_records)
                if batches:
                    records: list[Record] = [r for partition in batches.values() for r in partition]
                    await handle_records(records, self._decode, self._handle, sink)
                    await consumer.commit(
                        {tp: OffsetAndMetadata(rs[-1].offset + 1, "") for tp, rs in batches.items()}
                    )
                if self._after_poll is not None:
                    await self._after_poll(consumer)
        finally:
            self.running = False
            await consumer.stop()
            await producer.stop()
