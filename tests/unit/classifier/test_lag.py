"""The classifier's consumer lag: high watermark minus committed offset per assigned partition of the topics
its agents read; partitions not fetched yet are left out, revoked ones drop out of the exported series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from triage_classifier.lag import LagExporter, committed_offsets, partition_lag

COMMENTS = "triage.comments.v1"
LABELS = "triage-classifier-account-labels"


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


class FakeConsumer:
    def __init__(
        self, highwaters: dict[TP, int | None], committed: dict[TP, int | None] | None = None
    ) -> None:
        self.highwaters = highwaters
        self._committed_offset = committed or {}

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: Any) -> int | None:
        return self.highwaters[tp]


class Monitor:
    def __init__(self, committed: dict[TP, int]) -> None:
        self.tp_committed_offsets = committed


def gauge() -> tuple[Gauge, CollectorRegistry]:
    registry = CollectorRegistry()
    return Gauge("lag", "test", ["topic", "partition"], registry=registry), registry


def test_lag_is_highwater_minus_committed_for_the_agents_topics_only() -> None:
    consumer = FakeConsumer(
        {
            TP(COMMENTS, 0): 120,
            TP(COMMENTS, 1): 50,
            TP(COMMENTS, 2): None,  # nothing fetched yet
            TP(LABELS, 0): 40,
            TP("triage-classifier-author_to_hostility-changelog", 0): 999,
        },
        committed={TP(COMMENTS, 0): 100, TP(COMMENTS, 1): None},
    )
    lag = partition_lag(consumer, committed_offsets(consumer), (COMMENTS, LABELS))
    # Never committed: everything up to the high watermark is behind.
    assert lag == {(COMMENTS, 0): 20, (COMMENTS, 1): 50, (LABELS, 0): 40}


def test_the_monitor_knows_the_latest_commits_and_lag_never_goes_negative() -> None:
    consumer = FakeConsumer({TP(COMMENTS, 0): 120, TP(COMMENTS, 1): 10}, committed={TP(COMMENTS, 0): 100})
    committed = committed_offsets(consumer, Monitor({TP(COMMENTS, 0): 118, TP(COMMENTS, 1): 11}))
    assert partition_lag(consumer, committed, [COMMENTS]) == {(COMMENTS, 0): 2, (COMMENTS, 1): 0}


def test_revoked_partitions_drop_out_and_a_consumer_not_started_changes_nothing() -> None:
    lag_gauge, registry = gauge()
    exporter = LagExporter(lag_gauge)
    exporter.export({(COMMENTS, 0): 5, (COMMENTS, 1): 7})
    assert registry.get_sample_value("lag", {"topic": COMMENTS, "partition": "1"}) == 7
    exporter.export({(COMMENTS, 0): 3})  # partition 1 went to another worker
    assert registry.get_sample_value("lag", {"topic": COMMENTS, "partition": "0"}) == 3
    assert registry.get_sample_value("lag", {"topic": COMMENTS, "partition": "1"}) is None

    class NotStarted(FakeConsumer):
        def assignment(self) -> set[TP]:
            raise RuntimeError("Consumer thread not yet started")

    exporter.record(NotStarted({}), {}, [COMMENTS])
    assert registry.get_sample_value("lag", {"topic": COMMENTS, "partition": "0"}) == 3
