"""What the API's bus consumers share: a `triage_bus` consumer on one topic, dead letters counted, the lag
recorded after each poll, and storing a batch in one transaction with the store-one-by-one fallback for a
batch the database refuses. Each consumer (flags, comments, alerts, action results) gives its topic, its
decoder and how it handles a batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer
from sqlalchemy.exc import DataError, IntegrityError
from triage_bus.consume import BusConsumer, Decoder, Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import Topic

from triage_api import metrics
from triage_api.db import until_stored

SERVICE = "api"

E = TypeVar("E")
R = TypeVar("R")


class TopicConsumer(Generic[E]):
    """Runs `handle` on each decoded batch of `topic`; the offsets are committed after it returns."""

    def __init__(
        self,
        profile: BrokerProfile,
        topic: Topic,
        group_id: str,
        decode: Decoder[E],
        *,
        max_records: int = 500,
        record_lag: bool = True,
    ) -> None:
        async def lag(consumer: AIOKafkaConsumer) -> None:
            await metrics.record_consumer_lag(consumer, topic.name)

        self._bus = BusConsumer(
            profile,
            topic.name,
            group_id,
            SERVICE,
            decode,
            self.handle,
            max_records=max_records,
            on_dead_letter=metrics.count_dead_letter,
            after_poll=lag if record_lag else None,
        )

    @property
    def running(self) -> bool:
        return self._bus.running

    async def run(self) -> None:
        await self._bus.run()

    async def handle(self, received: list[Received[E]], sink: Sink) -> None:
        raise NotImplementedError


async def store_one_by_one(received: list[Received[E]], sink: Sink, write: Callable[[list[E]], R]) -> list[R]:
    """`write` each record on its own (in a thread) and dead-letter those the database refuses: retried, data it
    refuses (e.g. a NUL character PostgreSQL refuses) would stall the partition for good."""
    stored: list[R] = []
    for item in received:
        try:
            stored.append(await asyncio.to_thread(write, [item.event]))
        except (IntegrityError, DataError) as exc:
            await sink.dead_letter(item.record, "rejected_by_database", type(exc).__name__)
    return stored


async def store_batch(
    received: list[Received[E]], sink: Sink, write: Callable[[list[E]], R], retry_delay: float, what: str
) -> list[R]:
    """`write` the batch's events in one go until the database takes them (`until_stored`), or, if it refuses
    their data, one by one with the refused dead-lettered. Returns what `write` returned: once for the batch,
    or once per record stored."""
    events = [item.event for item in received]
    return await until_stored(
        lambda: [write(events)], retry_delay, what, lambda: store_one_by_one(received, sink, write)
    )
