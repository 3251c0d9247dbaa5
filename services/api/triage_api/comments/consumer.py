"""Consumes `triage.judged.v1` (`CommentJudged`, every verdict) into the comments table.

The flag consumer's pattern: each poll's records are written in one transaction, then the offsets are
committed; a replay stores nothing new (unique `comment_key`, and a verdict replaces the stored one only when
it judged a newer version). Malformed records, and records the database refuses, go to the dead-letter topic
with a reason; a database outage stalls the consumer rather than skipping anything.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from triage_bus.dlq import dead_letter
from triage_bus.profile import BrokerProfile
from triage_events import DLQ, JUDGED, CommentJudged, DeadLetter, InvalidEvent, decode, encode

from triage_api import metrics
from triage_api.comments.service import store_judged
from triage_api.db import until_stored

log = logging.getLogger(__name__)

SERVICE = "api"


def _letter(record: ConsumerRecord, reason: str, error: str) -> DeadLetter:
    return dead_letter(
        SERVICE, record.topic, record.key, record.value, reason, error, record.partition, record.offset
    )


def split_verdicts(records: list[ConsumerRecord]) -> tuple[list[CommentJudged], list[DeadLetter]]:
    verdicts: list[CommentJudged] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            verdicts.append(decode(CommentJudged, record.value))
        except InvalidEvent as exc:
            letters.append(_letter(record, exc.reason, str(exc)))
    return verdicts, letters


def write_verdicts(factory: sessionmaker[Session], verdicts: list[CommentJudged]) -> int:
    """One transaction for the batch; returns how many comments were new."""
    with factory() as db, db.begin():
        inserted = store_judged(db, verdicts)
    metrics.COMMENTS_STORED.inc(inserted)
    return inserted


class CommentConsumer:
    def __init__(
        self, profile: BrokerProfile, factory: sessionmaker[Session], group_id: str, retry_delay: float = 1.0
    ) -> None:
        self._profile = profile
        self._factory = factory
        self._group_id = group_id
        self._retry_delay = retry_delay
        self.stored = 0
        self.running = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(JUDGED.name, **self._profile.consumer_kwargs(self._group_id))
        producer = AIOKafkaProducer(**self._profile.producer_kwargs())
        await consumer.start()
        await producer.start()
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                if batches:
                    await self._handle(batches, consumer, producer)
                await metrics.record_consumer_lag(consumer, JUDGED.name)
        finally:
            self.running = False
            await consumer.stop()
            await producer.stop()

    async def _dead_letter(self, producer: AIOKafkaProducer, letter: DeadLetter) -> None:
        log.warning(
            "dead letter reason=%s partition=%s offset=%s", letter.reason, letter.partition, letter.offset
        )
        metrics.DEAD_LETTERS.labels(JUDGED.name, letter.reason).inc()
        await producer.send_and_wait(DLQ.name, encode(letter))

    async def _handle(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
    ) -> None:
        records = [record for partition_records in batches.values() for record in partition_records]
        verdicts, letters = split_verdicts(records)
        for letter in letters:
            await self._dead_letter(producer, letter)
        inserted = 0
        if verdicts:
            inserted = await until_stored(
                lambda: write_verdicts(self._factory, verdicts),
                self._retry_delay,
                "comments batch",
                lambda: self._store_one_by_one(records, producer),
            )
        self.stored += inserted
        await consumer.commit({tp: OffsetAndMetadata(rs[-1].offset + 1, "") for tp, rs in batches.items()})
        log.info(
            "comments stored partitions=%d received=%d inserted=%d", len(batches), len(records), inserted
        )

    async def _store_one_by_one(self, records: list[ConsumerRecord], producer: AIOKafkaProducer) -> int:
        inserted = 0
        for record in records:
            try:
                verdict = decode(CommentJudged, record.value)
            except InvalidEvent:
                continue  # already dead-lettered
            try:
                inserted += await asyncio.to_thread(write_verdicts, self._factory, [verdict])
            except (IntegrityError, DataError) as exc:
                log.warning(
                    "comment refused by the database partition=%s offset=%s error=%s",
                    record.partition,
                    record.offset,
                    type(exc).__name__,
                )
                await self._dead_letter(producer, _letter(record, "rejected_by_database", type(exc).__name__))
        return inserted
