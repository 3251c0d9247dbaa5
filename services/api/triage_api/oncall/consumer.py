"""Consumes `AlertRaised` into the alerts table, then wakes the notifier.

The same at-least-once pattern as the flag consumer: the batch is stored in one transaction, then the
offsets are committed. Paging happens after that, driven by the stored row (`next_action_at`), so a crash
between storing and paging still pages on restart, and a redelivered alert finds its dedup key stored and
pages nobody twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from triage_bus.dlq import dead_letter
from triage_bus.profile import BrokerProfile
from triage_events import ALERTS, DLQ, AlertRaised, DeadLetter, InvalidEvent, decode, encode

from triage_api import metrics
from triage_api.db import until_stored
from triage_api.oncall import service
from triage_api.oncall.notifier import utcnow

log = logging.getLogger(__name__)

SERVICE = "api"


def split_alerts(records: list[ConsumerRecord]) -> tuple[list[AlertRaised], list[DeadLetter]]:
    alerts: list[AlertRaised] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            alerts.append(decode(AlertRaised, record.value))
        except InvalidEvent as exc:
            letters.append(
                dead_letter(
                    SERVICE,
                    record.topic,
                    record.key,
                    record.value,
                    exc.reason,
                    str(exc),
                    record.partition,
                    record.offset,
                )
            )
    return alerts, letters


def write_alerts(factory: sessionmaker[Session], alerts: list[AlertRaised]) -> list[AlertRaised]:
    with factory() as db, db.begin():
        return service.store_alerts(db, alerts, utcnow())


class AlertConsumer:
    def __init__(
        self,
        profile: BrokerProfile,
        factory: sessionmaker[Session],
        group_id: str,
        on_stored: Callable[[], None] = lambda: None,
        retry_delay: float = 1.0,
    ) -> None:
        self._profile = profile
        self._factory = factory
        self._group_id = group_id
        self._on_stored = on_stored
        self._retry_delay = retry_delay
        self.stored = 0
        self.running = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(ALERTS.name, **self._profile.consumer_kwargs(self._group_id))
        producer = AIOKafkaProducer(**self._profile.producer_kwargs())
        await consumer.start()
        await producer.start()
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batches.items():
                    await self._handle(tp, records, consumer, producer)
                await metrics.record_consumer_lag(consumer, ALERTS.name)
        finally:
            self.running = False
            await consumer.stop()
            await producer.stop()

    async def _handle(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
    ) -> None:
        alerts, letters = split_alerts(records)
        for letter in letters:
            log.warning(
                "dead letter reason=%s partition=%s offset=%s", letter.reason, letter.partition, letter.offset
            )
            metrics.DEAD_LETTERS.labels(ALERTS.name, letter.reason).inc()
            await producer.send_and_wait(DLQ.name, encode(letter))
        inserted: list[AlertRaised] = []
        if alerts:
            inserted = await until_stored(
                lambda: write_alerts(self._factory, alerts),
                self._retry_delay,
                "alerts",
                lambda: self._store_one_by_one(alerts, records, producer),
            )
        await consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "")})
        self.stored += len(inserted)
        for alert in inserted:
            metrics.ALERTS_RECEIVED.labels(alert.kind.value, alert.severity.value).inc()
            log.warning("alert stored id=%s kind=%s severity=%s", alert.event_id, alert.kind, alert.severity)
        fresh = {a.event_id for a in inserted}
        for alert in alerts:
            if alert.event_id not in fresh:
                metrics.ALERTS_DUPLICATE.labels(alert.kind.value).inc()
        if inserted:
            self._on_stored()

    async def _store_one_by_one(
        self, alerts: list[AlertRaised], records: list[ConsumerRecord], producer: AIOKafkaProducer
    ) -> list[AlertRaised]:
        inserted: list[AlertRaised] = []
        for alert in alerts:
            try:
                inserted += await asyncio.to_thread(write_alerts, self._factory, [alert])
            except (IntegrityError, DataError) as exc:
                log.warning(
                    "alert refused by the database id=%s error=%s", alert.event_id, type(exc).__name__
                )
                record = records[-1]
                letter = dead_letter(
                    SERVICE,
                    record.topic,
                    record.key,
                    encode(alert),
                    "rejected_by_database",
                    type(exc).__name__,
                    record.partition,
                    None,
                )
                metrics.DEAD_LETTERS.labels(ALERTS.name, "rejected_by_database").inc()
                await producer.send_and_wait(DLQ.name, encode(letter))
        return inserted
