"""Consumer lag of the classifier worker, per topic and partition, for /metrics.

Lag is the partition's high watermark (the offset the next produced message will get) minus the offset the
worker has committed for it (the next one it will process after a restart): what is on the broker and not
yet durably handled. Only the topics the agents read count (comments, the re-keyed account labels and the
author verdicts), not the tables' changelogs. Partitions are few (the comments topic's count), so the labels
stay small; a partition given to another worker in a rebalance drops out of this worker's series.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import Gauge

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "triage_classifier_consumer_lag",
    "Messages on a partition this worker has not committed yet (high watermark minus committed offset)",
    ["topic", "partition"],
)
INTERVAL_S = 5.0  # about a scrape interval


class LagSource(Protocol):
    """What lag is read from: a Faust consumer (or a fake of one in tests)."""

    def assignment(self) -> Iterable[Any]: ...

    def highwater(self, tp: Any) -> int | None: ...


def committed_offsets(consumer: Any, monitor: Any = None) -> Mapping[Any, int | None]:
    """The offsets the worker committed, by partition: Faust's monitor sees every commit; the consumer also
    knows the ones it resumed from after a restart (before its first commit)."""
    offsets: dict[Any, int | None] = dict(getattr(consumer, "_committed_offset", None) or {})
    offsets.update(getattr(monitor, "tp_committed_offsets", None) or {})
    return offsets


def partition_lag(
    consumer: LagSource, committed: Mapping[Any, int | None], topics: Iterable[str]
) -> dict[tuple[str, int], int]:
    """Lag per (topic, partition) for the assigned partitions of `topics` whose high watermark is known."""
    wanted = set(topics)
    lag: dict[tuple[str, int], int] = {}
    for tp in consumer.assignment():
        if tp.topic not in wanted:
            continue
        highwater = consumer.highwater(tp)
        if highwater is None:  # nothing fetched from this partition yet
            continue
        offset = committed.get(tp)
        lag[(tp.topic, tp.partition)] = max(0, highwater - (offset or 0))
    return lag


class LagExporter:
    """Sets the gauge from one reading and removes the series of partitions no longer assigned here."""

    def __init__(self, gauge: Gauge = CONSUMER_LAG) -> None:
        self._gauge = gauge
        self._exported: set[tuple[str, int]] = set()

    def export(self, lag: Mapping[tuple[str, int], int]) -> None:
        for (topic, partition), value in lag.items():
            self._gauge.labels(topic, str(partition)).set(value)
        for topic, partition in self._exported - set(lag):
            self._gauge.remove(topic, str(partition))
        self._exported = set(lag)

    def record(
        self, consumer: LagSource, committed: Mapping[Any, int | None], topics: Iterable[str]
    ) -> dict[tuple[str, int], int] | None:
        """Export one reading and return it (None when the consumer cannot say yet)."""
        try:
            lag = partition_lag(consumer, committed, topics)
        except Exception as exc:  # not started yet, or between assignments: try again next round
            log.debug("consumer lag not available error=%s", type(exc).__name__)
            return None
        self.export(lag)
        return lag
