"""Consumes `triage.judged.v1` (`CommentJudged`, every verdict) into the comments table.

The flag consumer's pattern: each poll's records are written in one transaction, then the offsets are
committed; a replay stores nothing new (unique `comment_key`, and a verdict replaces the stored one only when
it judged a newer version). Malformed records, and records the database refuses, go to the dead-letter topic
with a reason; a database outage stalls the consumer rather than skipping anything.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.orm import Session, sessionmaker
from triage_bus.consume import Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import JUDGED, CommentJudged, decode

from triage_api import metrics
from triage_api.comments.service import store_judged
from triage_api.topic_consumer import TopicConsumer, store_batch

log = logging.getLogger(__name__)


def write_verdicts(factory: sessionmaker[Session], verdicts: list[CommentJudged]) -> int:
    """One transaction for the batch; returns how many comments were new."""
    with factory() as db, db.begin():
        inserted = store_judged(db, verdicts)
    metrics.COMMENTS_STORED.inc(inserted)
    return inserted


class CommentConsumer(TopicConsumer[CommentJudged]):
    def __init__(
        self, profile: BrokerProfile, factory: sessionmaker[Session], group_id: str, retry_delay: float = 1.0
    ) -> None:
        super().__init__(profile, JUDGED, group_id, lambda value: decode(CommentJudged, value))
        self._factory = factory
        self._retry_delay = retry_delay
        self.stored = 0

    async def handle(self, received: list[Received[CommentJudged]], sink: Sink) -> None:
        write = partial(write_verdicts, self._factory)
        inserted = sum(await store_batch(received, sink, write, self._retry_delay, "comments batch"))
        self.stored += inserted
        log.info("comments stored received=%d inserted=%d", len(received), inserted)
