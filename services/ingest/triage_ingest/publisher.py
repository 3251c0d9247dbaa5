"""Publishes normalised comments (and dead letters) to the bus, dropping recent duplicates."""

from __future__ import annotations

import logging
from collections import OrderedDict

from aiokafka import AIOKafkaProducer
from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, DLQ, CommentReceived, DeadLetter, encode

log = logging.getLogger(__name__)


class RecentKeys:
    """A bounded set of recently published comment keys (webhook retries, poller overlaps, replays)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def seen(self, key: str) -> bool:
        """True if `key` was added before; adds it otherwise."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
        return False


class Publisher:
    def __init__(self, profile: BrokerProfile) -> None:
        self._profile = profile
        self._producer: AIOKafkaProducer | None = None
        self._recent = RecentKeys()
        self.published = 0
        self.duplicates = 0

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self._profile.producer_kwargs())
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("publisher not started")
        return self._producer

    async def publish(self, event: CommentReceived) -> bool:
        """Publish and wait for the broker's acknowledgement; False if it was a recent duplicate."""
        if self._recent.seen(event.comment_key):
            self.duplicates += 1
            return False
        await self.producer.send_and_wait(COMMENTS.name, encode(event), key=event.kafka_key)
        self.published += 1
        return True

    async def dead_letter(self, letter: DeadLetter) -> None:
        await self.producer.send_and_wait(DLQ.name, encode(letter))
