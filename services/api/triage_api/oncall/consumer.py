"""Consumes `AlertRaised` into the alerts table, then wakes the notifier.

The same at-least-once pattern as the flag consumer: the batch is stored in one transaction, then the
offsets are committed. Paging happens after that, driven by the stored row (`next_action_at`), so a crash
between storing and paging still pages on restart, and a redelivered alert finds its dedup key stored and
pages nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session, sessionmaker
from triage_bus.consume import Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import ALERTS, AlertRaised, decode

from triage_api import metrics
from triage_api.oncall import service
from triage_api.oncall.notifier import utcnow
from triage_api.topic_consumer import TopicConsumer, store_batch

log = logging.getLogger(__name__)


def write_alerts(factory: sessionmaker[Session], alerts: list[AlertRaised]) -> list[AlertRaised]:
    with factory() as db, db.begin():
        return service.store_alerts(db, alerts, utcnow())


class AlertConsumer(TopicConsumer[AlertRaised]):
    def __init__(
        self,
        profile: BrokerProfile,
        factory: sessionmaker[Session],
        group_id: str,
        on_stored: Callable[[], None] = lambda: None,
        retry_delay: float = 1.0,
    ) -> None:
        super().__init__(profile, ALERTS, group_id, lambda value: decode(AlertRaised, value), max_records=200)
        self._factory = factory
        self._on_stored = on_stored
        self._retry_delay = retry_delay
        self.stored = 0

    async def handle(self, received: list[Received[AlertRaised]], sink: Sink) -> None:
        alerts = [item.event for item in received]
        write = partial(write_alerts, self._factory)
        stored = await store_batch(received, sink, write, self._retry_delay, "alerts")
        inserted = [alert for batch in stored for alert in batch]
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
