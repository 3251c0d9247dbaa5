"""Consumes the flags topic (`FlagRaised`, `FlagCleared`) from the bus into the database.

At-least-once and idempotent: each poll's records (all partitions) are written in one transaction, and only
after that commit are the Kafka offsets committed. A crash in between replays the batch, and the unique
`comment_key` makes the replay insert nothing. A later verdict on a stored comment (an edit judged again)
updates that flag when it is newer than the one the flag shows and differs from it (`flags.relabel`); a
redelivery changes nothing. A `FlagCleared` (the comment was deleted, or edited into something benign)
resolves the comment's open flag (`flags.clear`); with no flag stored there is nothing to clear. Malformed
records go to the dead-letter topic; a database outage stalls the consumer (it retries the same batch) rather
than skipping anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeAlias

from sqlalchemy.orm import Session, sessionmaker
from triage_bus.consume import Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import FLAGS, ClearReason, FlagCleared, FlagRaised, decode_flag_event

from triage_api import metrics
from triage_api.flags import clear, relabel
from triage_api.flags.rerouting import Rerouter
from triage_api.flags.service import store_flags
from triage_api.topic_consumer import TopicConsumer, store_batch

log = logging.getLogger(__name__)


FlagEvent: TypeAlias = FlagRaised | FlagCleared


# Forgets what the API keeps of a deleted comment besides its flag (All comments' text), by key and time;
# passed in by the app, so that flags knows nothing of the packages above it.
Forget = Callable[[Session, str, datetime], object]


def write_flags(
    factory: sessionmaker[Session],
    flags: list[FlagEvent],
    router: Rerouter,
    forget: Forget | None = None,
) -> int:
    """Store a batch in one transaction: new comments are inserted (due by `router.sla`) and routed by
    `router`; a verdict on a comment already stored updates its flag when it is newer and says something new
    (`relabel`, which routes a raised severity again); a clear resolves the comment's flag when it has one
    (`clear`), and a deletion is handed to `forget`. Updates apply in the batch's order. Returns how many
    flags were inserted."""
    results: list[relabel.Result] = []
    clears: list[clear.Result] = []
    reopened = 0
    with factory() as db, db.begin():
        stored: list[FlagRaised] = []
        raised = [flag for flag in flags if isinstance(flag, FlagRaised)]
        count = store_flags(db, raised, stored, targets=router.sla)
        if stored:
            router.route(db, stored, datetime.now(UTC))  # routed in the same transaction as the insert
        inserted = {id(flag) for flag in stored}
        verdicts: list[FlagRaised] = []

        def apply_verdicts() -> None:
            nonlocal reopened
            applied = relabel.apply_all(db, router, verdicts)
            for result in applied:
                if result.outcome in (relabel.Outcome.RELABELLED, relabel.Outcome.UNCHANGED):
                    reopened += clear.reopen(db, result.event)
            results.extend(applied)
            verdicts.clear()

        for flag in flags:
            if isinstance(flag, FlagCleared):
                apply_verdicts()  # the verdicts before it in the batch first
                clears.append(clear.apply(db, flag))
                if flag.reason is ClearReason.DELETED and forget is not None:
                    forget(db, flag.comment_key, flag.changed_at)  # All comments keeps no deleted text
                db.flush()
            elif id(flag) not in inserted:
                verdicts.append(flag)
        apply_verdicts()
    metrics.FLAGS_REOPENED.inc(reopened)
    for cleared in clears:  # ids and reasons only: never the comment text
        if cleared.outcome is clear.Outcome.CLEARED:
            metrics.FLAGS_CLEARED.labels(cleared.event.reason.value).inc()
            log.info(
                "flag cleared clear_event=%s reason=%s resolved=%s",
                cleared.event.event_id,
                cleared.event.reason.value,
                cleared.resolved,
            )
        else:
            metrics.FLAG_CLEARS_IGNORED.labels(cleared.outcome.value).inc()
    for flag in stored:  # counted after the commit, so a rolled-back batch counts nothing
        for label in flag.labels:
            metrics.FLAGS_STORED.labels(label.value, flag.severity.value).inc()
    for result in results:
        if result.outcome is relabel.Outcome.RELABELLED:
            metrics.FLAGS_RELABELLED.labels(result.event.severity.value, result.reason).inc()
            log.info(
                "flag relabelled comment_event=%s reason=%s severity=%s",
                result.event.event_id,
                result.reason,
                result.event.severity.value,
            )
        else:
            metrics.FLAG_UPDATES_IGNORED.labels(result.outcome.value).inc()
    return count


class FlagConsumer(TopicConsumer[FlagEvent]):
    """The flags topic into the database: one poll (every partition) in one transaction, then the offsets. A
    comment's records share a partition, so each comment's keep their order."""

    def __init__(
        self,
        profile: BrokerProfile,
        factory: sessionmaker[Session],
        group_id: str,
        router: Rerouter,
        retry_delay: float = 1.0,
        forget: Forget | None = None,
    ) -> None:
        super().__init__(profile, FLAGS, group_id, decode_flag_event)
        self._router = router
        self._forget = forget
        self._factory = factory
        self._retry_delay = retry_delay
        self.stored = 0

    async def handle(self, received: list[Received[FlagEvent]], sink: Sink) -> None:
        # Data the database refuses (e.g. a NUL character PostgreSQL refuses) would stall the partition for
        # good if retried: those flags are stored one by one and the refused ones dead-lettered.
        write = partial(write_flags, self._factory, router=self._router, forget=self._forget)
        inserted = sum(await store_batch(received, sink, write, self._retry_delay, "batch"))
        self.stored += inserted
        log.info("flags stored received=%d inserted=%d", len(received), inserted)
