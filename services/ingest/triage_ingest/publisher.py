"""Publishes normalised comments (and dead letters) to the bus, dropping recent duplicates.

A comment's first sighting is deduplicated on `comment_key`; an edit on `comment_key` plus a digest of the
new text (a redelivered edit is a duplicate, a second edit is not); a deletion on `comment_key` plus the
marker. An edit older than one already published, or arriving after the deletion, is dropped as stale.
The memory is per process and bounded: downstream consumers stay idempotent on `comment_key` regardless.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from datetime import datetime

from aiokafka import AIOKafkaProducer
from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, DLQ, CommentChange, CommentReceived, DeadLetter, encode

from triage_ingest import metrics
from triage_ingest.accounts import Accounts

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

    def forget(self, key: str) -> None:
        self._keys.pop(key, None)


def dedup_key(event: CommentReceived) -> str:
    """What makes two events the same delivery: see the module docstring."""
    if event.change is CommentChange.CREATED:
        return event.comment_key
    if event.change is CommentChange.DELETED:
        return f"{event.comment_key}:deleted"
    digest = hashlib.sha256(event.comment.text.encode("utf-8")).hexdigest()[:16]
    return f"{event.comment_key}:edited:{digest}"


class ChangeLog:
    """The latest edit time and deletion per comment key (bounded), to drop out-of-order edits."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._state: OrderedDict[str, tuple[datetime | None, bool]] = OrderedDict()

    def stale(self, event: CommentReceived) -> str | None:
        """Why `event` is out of date (`after_delete`, `stale_edit`), or None; records it otherwise."""
        key = event.comment_key
        changed_at, deleted = self._state.get(key, (None, False))
        if event.change is CommentChange.DELETED:
            self._remember(key, event.changed_at or changed_at, True)
            return None
        if deleted:
            return "after_delete"
        if event.change is CommentChange.EDITED:
            if changed_at and event.changed_at and event.changed_at < changed_at:
                return "stale_edit"
            self._remember(key, event.changed_at or changed_at, False)
        return None

    def _remember(self, key: str, changed_at: datetime | None, deleted: bool) -> None:
        self._state[key] = (changed_at, deleted)
        self._state.move_to_end(key)
        if len(self._state) > self.capacity:
            self._state.popitem(last=False)


class Publisher:
    def __init__(self, profile: BrokerProfile, accounts: Accounts | None = None) -> None:
        self._profile = profile
        self._producer: AIOKafkaProducer | None = None
        self._recent = RecentKeys()
        self._changes = ChangeLog()
        self._accounts = accounts or Accounts()
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
        return await self.offer(event) is None

    async def offer(self, event: CommentReceived) -> str | None:
        """Publish unless it is a duplicate or stale; returns why it was dropped, None once acknowledged.

        A send that fails raises, and forgets the key, so the platform's retry is not taken for a duplicate.
        """
        account = self._accounts.metric_label(event.platform, event.account.id)
        metrics.RECEIVED.labels(event.platform.value, account).inc()
        key = dedup_key(event)
        reason = "redelivery" if self._recent.seen(key) else self._changes.stale(event)
        if reason is not None:
            self.duplicates += 1
            metrics.DUPLICATES.labels(event.platform.value, account, reason).inc()
            return reason
        try:
            await self.producer.send_and_wait(COMMENTS.name, encode(event), key=event.kafka_key)
        except BaseException:
            self._recent.forget(key)
            raise
        self.published += 1
        metrics.PUBLISHED.labels(event.platform.value, account).inc()
        return None

    async def dead_letter(self, letter: DeadLetter) -> None:
        await self.producer.send_and_wait(DLQ.name, encode(letter))
