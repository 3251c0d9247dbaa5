"""Notices comments waiting on the broker while the classifier agent sits idle, and fetches them again.

Seen here under load on a restarted worker: after its first assignment, the records of some partitions that
had a committed offset never reached the agent (not skipped by the stream, not dropped by the fetch loop:
they did not arrive), while their lag stayed above zero and the agent had nothing to do. Faust calls the
same remedy, a seek back to the committed offsets, when it fetches while its flow is paused. Here it is
called only when the agent has received nothing for `patience` readings in a row while some partition has
uncommitted records and no committed offset moved: a busy agent (a burst, a slow model) never triggers it,
and a seek costs at most the records since the last commit being judged again (at-least-once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PartitionKey = tuple[str, int]


@dataclass
class StallWatch:
    patience: int = 3  # readings (of the lag timer) with records waiting and nothing delivered
    _delivered: bool = False
    _idle_readings: int = 0
    _committed: dict[PartitionKey, int | None] = field(default_factory=dict)

    def delivered(self) -> None:
        """The agent received a batch."""
        self._delivered = True

    def stalled(self, lag: Mapping[PartitionKey, int], committed: Mapping[PartitionKey, int | None]) -> bool:
        """One reading. True when the agent should be given its partitions again (then the count restarts)."""
        waiting = any(value > 0 for value in lag.values())
        moved = any(self._committed.get(key) != committed.get(key) for key in lag)
        self._committed = {key: committed.get(key) for key in lag}
        if self._delivered or moved or not waiting:
            self._delivered = False
            self._idle_readings = 0
            return False
        self._idle_readings += 1
        if self._idle_readings < self.patience:
            return False
        self._idle_readings = 0
        return True
