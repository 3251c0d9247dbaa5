"""Transactional outbox for `ActionRequested`.

A staff action writes its `flag_actions` row and an `action_outbox` entry (the encoded event, its topic and
Kafka key) in one database transaction, so a crash can no longer separate "recorded" from "will be sent".
The `OutboxRelay` in the API process publishes pending entries in insertion order and marks each sent only
after the broker acknowledged it; while the broker is down it retries with exponential backoff, and at
start it publishes whatever an earlier process left pending. Delivery is at-least-once: a crash between
the acknowledgement and the "sent" mark publishes an entry again, and consumers dedup on `event_id`.

On PostgreSQL only one replica relays at a time (a session advisory lock), which keeps the order and
avoids most duplicates; the others find the lock taken and leave the work to its holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, Integer, LargeBinary, String, func, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from triage_events import ACTIONS, ActionRequested, decode, encode

from triage_api.db import Base
from triage_api.flags.models import Flag, FlagAction
from triage_api.metrics import (
    OUTBOX_OLDEST_PENDING,
    OUTBOX_PENDING,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

QUEUED_NOTE = "not sent yet: the message bus is unavailable; retrying"
# One relay across all replicas on PostgreSQL: an advisory lock keyed by ("trig", the schema), so that
# deployments sharing a database in separate schemas don't wait for each other.
_ADVISORY_LOCK_KEY = 0x74726967
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(:key, hashtext(current_schema()))")


class OutboxEntry(Base):
    __tablename__ = "action_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # publish order
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    kafka_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


def now() -> datetime:
    return datetime.now(UTC)


def enqueue(db: Session, event: ActionRequested) -> OutboxEntry:
    """Add `event` to the outbox in the caller's transaction (committed, or rolled back, with the action)."""
    db.flush()  # the flag's row is updated (and locked on PostgreSQL) first: one flag's entries keep its order
    entry = OutboxEntry(
        event_id=str(event.event_id),
        topic=ACTIONS.name,
        kafka_key=event.comment_key.encode(),
        payload=encode(event),
        created_at=now(),
        attempts=0,
    )
    db.add(entry)
    db.flush()
    return entry


def with_outbox(
    work: Callable[[Session], tuple[T, ActionRequested | None]],
) -> Callable[[Session], tuple[T, ActionRequested | None]]:
    """Wrap a unit of work that may return an event to publish, so the event is enqueued in its transaction."""

    def wrapped(db: Session) -> tuple[T, ActionRequested | None]:
        result, event = work(db)
        if event is not None:
            enqueue(db, event)
        return result, event

    return wrapped


@dataclass(frozen=True)
class Pending:
    id: int
    event_id: str
    topic: str
    kafka_key: bytes | None
    payload: bytes


class OutboxRelay:
    """Publishes pending outbox entries through `publisher` (an `ActionPublisher`; one with
    `send_record(topic, key, value)` gets the stored bytes and key as they are)."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        publisher: Any,
        *,
        poll_interval: float = 2.0,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        batch_size: int = 100,
    ) -> None:
        self.publisher = publisher
        self._engine = engine
        self._factory = factory
        self._poll_interval = poll_interval
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.running = False
        self.failures = 0  # consecutive failed rounds of the background loop

    # --- the background loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Drain at start (leftovers of an earlier process), then whenever woken or every poll interval."""
        self.running = True
        try:
            while True:
                try:
                    await self.drain()
                    self.failures = 0
                    delay = self._poll_interval
                except Exception as exc:  # broker or database unavailable: the entries stay, retry later
                    self.failures += 1
                    delay = self.backoff(self.failures)
                    log.warning(
                        "outbox relay round failed attempt=%d error=%s retry_in=%.1fs",
                        self.failures,
                        type(exc).__name__,
                        delay,
                    )
                await self._sleep(delay, wakeable=self.failures == 0)
        finally:
            self.running = False

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter so that replicas don't retry in lockstep."""
        delay: float = min(self._retry_max, self._retry_base * 2 ** min(attempt - 1, 16))
        return delay * random.uniform(0.8, 1.0)

    def wake(self) -> None:
        self._wake.set()

    async def _sleep(self, delay: float, wakeable: bool) -> None:
        if not wakeable:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._wake.clear()

    # --- publishing -----------------------------------------------------------------------------------

    async def flush(self, timeout: float) -> bool:
        """Publish what is pending now, waiting at most `timeout` seconds; False when the bus refused or did
        not answer in time (the entries stay pending and the background loop retries them). The drain is
        shielded: a caller that stops waiting doesn't cut a publish off halfway."""
        task = asyncio.ensure_future(self.drain())
        task.add_done_callback(_retrieve)
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except Exception as exc:
            log.warning("action not published yet, the relay retries it error=%s", type(exc).__name__)
            return False
        return True

    async def drain(self) -> int:
        """Publish every pending entry in order; stops at the first failure (raised) so order is kept."""
        async with self._lock:
            lock = await asyncio.to_thread(self._acquire_relay_lock)
            if lock is False:
                return 0  # another replica is relaying
            try:
                sent = 0
                while True:
                    batch = await asyncio.to_thread(self._pending)
                    for position, entry in enumerate(batch):
                        try:
                            await self._deliver(entry)
                        except Exception as exc:
                            OUTBOX_PUBLISH_FAILURES.labels(type(exc).__name__).inc()
                            await asyncio.to_thread(
                                self._record_failure, entry, batch[position:], type(exc).__name__
                            )
                            raise
                        await asyncio.to_thread(self._mark_sent, entry)
                        OUTBOX_PUBLISHED.inc()
                        sent += 1
                    if len(batch) < self._batch_size:
                        return sent
            finally:
                await asyncio.to_thread(self._release_relay_lock, lock)
                with contextlib.suppress(Exception):  # the gauges are best effort
                    await asyncio.to_thread(self.refresh_gauges)

    async def _deliver(self, entry: Pending) -> None:
        send_record = getattr(self.publisher, "send_record", None)
        if send_record is not None:
            await send_record(entry.topic, entry.kafka_key, entry.payload)
        else:
            await self.publisher.publish(decode(ActionRequested, entry.payload))

    # --- database work (run in a thread) ----------------------------------------------------------------

    def _acquire_relay_lock(self) -> Any:
        """On PostgreSQL a dedicated connection holding the relay's advisory lock (False when another replica
        holds it); None on SQLite, where one process owns the file."""
        if self._engine.dialect.name != "postgresql":
            return None
        connection = self._engine.connect()
        try:
            got = connection.execute(_TRY_LOCK, {"key": _ADVISORY_LOCK_KEY}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        return connection

    def _release_relay_lock(self, lock: Any) -> None:
        if lock is None or lock is False:
            return
        try:
            lock.execute(_UNLOCK, {"key": _ADVISORY_LOCK_KEY})
            lock.commit()
        finally:
            lock.close()  # closing the session releases the lock in any case

    def _pending(self) -> list[Pending]:
        with self._factory() as db:
            rows = db.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.sent_at.is_(None))
                .order_by(OutboxEntry.id)
                .limit(self._batch_size)
            ).all()
            return [Pending(r.id, r.event_id, r.topic, r.kafka_key, r.payload) for r in rows]

    def _mark_sent(self, entry: Pending) -> None:
        with self._factory() as db, db.begin():
            db.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == entry.id, OutboxEntry.sent_at.is_(None))
                .values(sent_at=now(), attempts=OutboxEntry.attempts + 1, last_error=None)
            )
            flag = _flag_of(db, entry.event_id)
            if flag is not None and flag.last_action_error == QUEUED_NOTE:
                action = (flag.last_action or "").split(":", 1)[0]
                flag.last_action, flag.last_action_error = f"{action}: requested", None

    def _record_failure(self, entry: Pending, waiting: list[Pending], reason: str) -> None:
        """Count the attempt, and show the delay on the flags of every entry still waiting, so nobody thinks
        those actions went out."""
        with self._factory() as db, db.begin():
            row = db.get(OutboxEntry, entry.id)
            if row is None or row.sent_at is not None:
                return
            row.attempts += 1
            row.last_error = reason[:200]
            for pending in waiting:
                flag = _flag_of(db, pending.event_id)
                if flag is not None and flag.last_action_error is None:
                    action = (flag.last_action or "").split(":", 1)[0]
                    flag.last_action, flag.last_action_error = f"{action}: queued", QUEUED_NOTE

    def refresh_gauges(self) -> None:
        with self._factory() as db:
            count, oldest = db.execute(
                select(func.count(OutboxEntry.id), func.min(OutboxEntry.created_at)).where(
                    OutboxEntry.sent_at.is_(None)
                )
            ).one()
        OUTBOX_PENDING.set(count)
        if oldest is None:
            OUTBOX_OLDEST_PENDING.set(0)
        else:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            OUTBOX_OLDEST_PENDING.set(max(0.0, (now() - oldest).total_seconds()))


def pending_count(db: Session) -> int:
    return int(db.scalar(select(func.count(OutboxEntry.id)).where(OutboxEntry.sent_at.is_(None))) or 0)


def _flag_of(db: Session, action_id: str) -> Flag | None:
    action = db.get(FlagAction, action_id)
    return db.get(Flag, action.flag_id) if action is not None else None


def _retrieve(task: asyncio.Future[Any]) -> None:
    """A flush nobody waits for any more still ends with its exception looked at (no 'never retrieved')."""
    if not task.cancelled():
        task.exception()


__all__ = ["QUEUED_NOTE", "OutboxEntry", "OutboxRelay", "enqueue", "pending_count", "with_outbox"]
