"""The two corrections to Faust's offset bookkeeping (triage_classifier.offsets), on Faust's own consumer."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP
from intervaltree import IntervalTree
from triage_classifier import offsets

offsets.apply()
TOPIC_PARTITION = TP("triage.comments.v1", 3)


def bookkeeping(acked: list[int], committed: int | None) -> Any:
    """The state `Consumer._new_offset` reads, for one partition."""
    return SimpleNamespace(
        _acked=defaultdict(list, {TOPIC_PARTITION: list(acked)}),
        _acked_index=defaultdict(set, {TOPIC_PARTITION: set(acked)}),
        _committed_offset=defaultdict(lambda: None, {TOPIC_PARTITION: committed}),
        _gap=defaultdict(IntervalTree),
    )


def new_offset(state: Any) -> int | None:
    result: int | None = faust.transport.consumer.Consumer._new_offset(state, TOPIC_PARTITION)
    return result


def test_faust_alone_commits_over_a_record_that_was_never_acknowledged() -> None:
    """The flaw being corrected: offset 10 is the committed one (the next to read) and was never
    acknowledged, yet unpatched Faust commits 14, past it."""
    original = faust.transport.consumer.Consumer._new_offset.__wrapped__
    assert original(bookkeeping([11, 12, 13], committed=10), TOPIC_PARTITION) == 14


def test_nothing_is_committed_until_the_record_at_the_committed_offset_is_acknowledged() -> None:
    state = bookkeeping([11, 12, 13], committed=10)
    assert new_offset(state) is None
    assert state._acked[TOPIC_PARTITION] == [11, 12, 13]  # kept for when offset 10 is acknowledged


def test_a_run_from_the_committed_offset_is_committed_up_to_its_first_hole() -> None:
    state = bookkeeping([10, 11, 12, 15], committed=10)
    assert new_offset(state) == 13
    assert state._acked[TOPIC_PARTITION] == [15]


def test_a_partition_never_committed_commits_its_first_run() -> None:
    assert new_offset(bookkeeping([0, 1, 2], committed=None)) == 3


def test_the_worker_consumer_reports_no_read_position_so_no_fetched_record_is_dropped() -> None:
    app = faust.App("offsets-test", broker="kafka://127.0.0.1:1", store="memory://")
    read_offsets = app.consumer._read_offset
    assert isinstance(read_offsets, offsets.NoReadPosition)
    read_offsets[TOPIC_PARTITION] = 416  # what the fetch loop writes after handing a record on
    assert read_offsets[TOPIC_PARTITION] is None  # so a record fetched again at 337 is handed on too


class FakeConsumerThread:
    """What the patched `seek_to_committed` uses of Faust's consumer thread, around a fake aiokafka consumer
    whose committed offsets are given."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.rewound: list[TP] = []
        self.consumer = SimpleNamespace(
            app=SimpleNamespace(tables=SimpleNamespace(changelog_topics={"app-table-changelog"}))
        )

    def _ensure_consumer(self) -> Any:
        return SimpleNamespace(seek_to_committed=lambda: dict(self.committed))

    async def call_thread(self, method: Any, *args: Any) -> Any:
        return method(*args)

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.rewound.extend(partitions)


async def test_partitions_never_committed_are_read_from_their_beginning_after_the_seek() -> None:
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    never, zero, committed = TP("triage.comments.v1", 0), TP("triage.comments.v1", 1), TOPIC_PARTITION
    changelog = TP("app-table-changelog", 0)  # recovery positions changelogs itself
    thread = FakeConsumerThread({never: None, zero: 0, committed: 57, changelog: None})
    result = await AIOKafkaConsumerThread.seek_to_committed(thread)  # type: ignore[arg-type]
    assert result == {never: None, zero: 0, committed: 57, changelog: None}
    assert thread.rewound == [never, zero]
