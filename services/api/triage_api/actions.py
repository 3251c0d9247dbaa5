"""Platform actions over the bus: publishing `ActionRequested` and consuming `ActionCompleted`.

Both travel on `triage.actions.v1`, keyed by comment_key; ingest executes requests and publishes results on
the same topic. Requests are not published from the request handler's transaction: they go through the
transactional outbox (`triage_api.outbox`), whose relay calls a publisher from here. The result consumer
follows the flag consumer's pattern: a batch is applied in one transaction and the offsets are committed only
after that commit. Re-delivered results are recognised by their request id and change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiokafka import AIOKafkaProducer
from sqlalchemy.orm import Session, sessionmaker
from triage_bus.consume import Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import ACTIONS, ActionCompleted, ActionRequested, decode, encode, event_type

from triage_api.db import until_stored
from triage_api.drafts.service import record_completion as record_post_completion
from triage_api.flags.platform_actions import record_completion
from triage_api.topic_consumer import TopicConsumer

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


def decode_completion(value: bytes | None) -> ActionCompleted | None:
    """A result, or None for the requests (ours, on the same topic; ingest reads them and dead-letters the
    malformed ones). A record that says it is a result and is not a valid one is dead-lettered here."""
    if event_type(value) != "action_completed":
        return None
    return decode(ActionCompleted, value)


def apply_completions(factory: sessionmaker[Session], results: list[ActionCompleted]) -> int:
    with factory() as db, db.begin():
        return sum(record_completion(db, r) or record_post_completion(db, r) for r in results)


class ActionResultConsumer(TopicConsumer[ActionCompleted]):
    def __init__(
        self, profile: BrokerProfile, factory: sessionmaker[Session], group_id: str, retry_delay: float = 1.0
    ) -> None:
        super().__init__(profile, ACTIONS, group_id, decode_completion, max_records=200, record_lag=False)
        self._factory = factory
        self._retry_delay = retry_delay
        self.applied = 0

    async def handle(self, received: list[Received[ActionCompleted]], sink: Sink) -> None:
        results = [item.event for item in received]
        self.applied += await until_stored(
            lambda: apply_completions(self._factory, results), self._retry_delay, "action results"
        )
