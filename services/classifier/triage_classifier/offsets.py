"""Three corrections to Faust's offset bookkeeping, without which the classifier loses comments after a
restart or a rebalance (faust-streaming 0.15.3; the same code is in its current releases).

Faust remembers, per partition, the offset of the last record its fetch loop handed on (its "read offset")
and silently drops any later record at or below it, to skip records it has already seen. When a worker is
(re)assigned partitions it resumes them, starts fetching, and only then seeks every partition back to its
committed offset. A fetch that arrived in between is still being walked by the fetch loop after the seek
has reset the read offsets, and that walk raises them again, past records that never reached the agent.
The same records, fetched again from the committed offset, are then dropped as already read. Measured here
with a worker SIGKILLed during a replay and restarted: in 3 of 15 rounds, 5 to 66 comments of one or two
partitions were never judged, while the other partitions were judged twice.

1. `deliver_every_fetched_record`: the read offset is never reported, so every fetched record reaches the
   agent. After a seek that means some records are judged twice; the pipeline is at-least-once and every
   consumer downstream is idempotent on `comment_key`, so a duplicate costs a little CPU and a lost comment
   costs a missed emergency.
2. `commit_only_from_the_committed_offset`: Faust commits the longest run of acknowledged offsets, and it
   also accepts a run that starts one past the committed offset (it treats the committed offset as the last
   one processed; Kafka's is the next one to read). A record that was never acknowledged would then be
   committed over. With this, nothing is committed until the record at the committed offset is acknowledged:
   a stuck record shows as consumer lag (and its alert) instead of vanishing.
3. `rewind_partitions_never_committed`: the same post-assignment seek leaves a partition with no committed
   offset where the fetcher already is, and records fetched for it while the tables were being recovered
   were skipped (only the changelogs are "active" then). Seen here on a restarted worker: 2 of 4 comments
   on partitions nobody had committed yet never judged. Such a partition is sent back to its beginning,
   which is what `auto_offset_reset="earliest"` asks for anyway.

All three are applied once, before the Faust app creates its consumer.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from typing import Any

log = logging.getLogger(__name__)


class NoReadPosition(defaultdict[Any, int | None]):
    """Stores what Faust writes, but reads as "nothing read yet" for every partition."""

    def __init__(self) -> None:
        super().__init__(lambda: None)

    def __getitem__(self, tp: Any) -> int | None:
        return None


@functools.cache
def apply() -> None:
    deliver_every_fetched_record()
    commit_only_from_the_committed_offset()
    rewind_partitions_never_committed()


def deliver_every_fetched_record() -> None:
    from faust.transport.consumer import Consumer

    original_init = Consumer.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._read_offset = NoReadPosition()

    Consumer.__init__ = init  # type: ignore[method-assign]


def commit_only_from_the_committed_offset() -> None:
    from faust.transport.consumer import Consumer

    original = Consumer._new_offset

    @functools.wraps(original)
    def new_offset(self: Any, tp: Any) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and min(acked) > committed:
            log.warning(
                "not committing past an unacknowledged record topic=%s partition=%s offset=%s",
                tp.topic,
                tp.partition,
                committed,
            )
            return None
        result: int | None = original(self, tp)
        return result

    Consumer._new_offset = new_offset  # type: ignore[method-assign]


def rewind_partitions_never_committed() -> None:
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = AIOKafkaConsumerThread.seek_to_committed

    @functools.wraps(original)
    async def seek_to_committed(self: Any) -> Any:
        committed = await original(self)
        changelogs = self.consumer.app.tables.changelog_topics
        never = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if never:
            log.info(
                "partitions never committed read from their beginning %s",
                ", ".join(f"{tp.topic}[{tp.partition}]" for tp in never),
            )
            await self.seek_to_beginning(*never)
        return committed

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
