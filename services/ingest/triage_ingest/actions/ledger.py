"""The actions ledger: what became of each `ActionRequested`, by its `event_id`, so a request delivered twice
(the API's outbox publishes at least once; a worker that crashed before committing its offset reads it
again) reaches the platform once.

A row is written `started` before the platform is called and finished (`done`, `dry_run` or `failed`, with
the encoded `ActionCompleted`) before that completion is published. On a redelivery the worker reads it:

- finished: the recorded `ActionCompleted` is published again, byte for byte; the platform is not called;
- `started` only (the process died between calling the platform and recording the answer): hide, unhide and
  delete are idempotent and run again; a reply or private reply is not repeated, because it may already be
  public, and ends `failed` with `outcome_unknown` so a person checks the platform. An attempt that was a
  dry run called nothing and runs again.

Rows live in the ingest state file (`CursorStore`, SQLite, which owns the schema) beside the poll cursors
and the YouTube quota, or in `MemoryActionLog` when there is no state file.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

from triage_events import ActionKind

STARTED = "started"
OUTCOME_UNKNOWN = "outcome_unknown"
# Safe to send again when an earlier attempt may or may not have reached the platform.
IDEMPOTENT = frozenset({ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.DELETE})
# How long finished rows are kept: far longer than Kafka keeps a request (7 days) or an outbox retries one.
KEEP_S = 30 * 86_400


@dataclass(frozen=True)
class ActionRecord:
    state: str  # STARTED, or the ActionStatus value of the completion
    action: str
    dry_run: bool  # whether the last attempt was a dry run (nothing was sent)
    attempts: int
    completion: bytes | None  # the encoded ActionCompleted, once finished


class ActionLog(Protocol):
    def action_record(self, event_id: str) -> ActionRecord | None: ...

    def action_started(self, event_id: str, action: str, dry_run: bool) -> None: ...

    def action_finished(
        self, event_id: str, state: str, platform_result_id: str | None, error: str | None, completion: bytes
    ) -> None: ...


def may_repeat(action: ActionKind, record: ActionRecord) -> bool:
    """Whether an attempt that never finished may be made again (see the module docstring)."""
    return action in IDEMPOTENT or record.dry_run


class MemoryActionLog:
    """The ledger of this process only (no state file): redeliveries within the process are caught, not
    those after a restart. Bounded: the oldest entries go first."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[str, ActionRecord] = OrderedDict()

    def action_record(self, event_id: str) -> ActionRecord | None:
        return self._rows.get(event_id)

    def action_started(self, event_id: str, action: str, dry_run: bool) -> None:
        previous = self._rows.pop(event_id, None)
        attempts = previous.attempts + 1 if previous else 1
        self._rows[event_id] = ActionRecord(STARTED, action, dry_run, attempts, None)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)

    def action_finished(
        self, event_id: str, state: str, platform_result_id: str | None, error: str | None, completion: bytes
    ) -> None:
        row = self._rows.get(event_id) or ActionRecord(STARTED, "", False, 1, None)
        self._rows[event_id] = replace(row, state=state, completion=completion)
