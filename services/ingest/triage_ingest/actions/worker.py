"""The outbound actions worker: consumes `ActionRequested` from triage.actions.v1, calls the platform, and
publishes `ActionCompleted` (same topic, keyed by comment_key) before committing the offset.

Transient failures (429, 5xx, Graph throttling, network) are retried with exponential backoff, honouring
Retry-After; permanent ones end as `failed` with a reason.

Effectively once per request `event_id`, across restarts: the `ActionLog` (`triage_ingest.actions.ledger`;
the ingest state file, or memory without one) records each attempt before the platform is called and its
outcome before the completion is published. A redelivered request that finished gets its recorded
`ActionCompleted` again (the API applies a result once per request id), without a platform call; one that
started and never finished is retried when idempotent (hide, unhide, delete) and otherwise (reply, private
reply) answered `failed` / `outcome_unknown` for a person to check, never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from triage_bus.consume import BusConsumer, Received, Sink
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    ActionCompleted,
    ActionRequested,
    ActionStatus,
    Platform,
    decode,
    encode,
    event_type,
)

from triage_ingest import metrics
from triage_ingest.accounts import Accounts
from triage_ingest.actions.base import ActionFailed, DryRun, PlatformClient
from triage_ingest.actions.ledger import IDEMPOTENT, OUTCOME_UNKNOWN, ActionLog, MemoryActionLog, may_repeat

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Executor:
    """Runs one request against its platform client with retries; always returns an `ActionCompleted`."""

    def __init__(
        self,
        clients: Mapping[Platform, PlatformClient],
        accounts: Accounts,
        dry_run: bool = True,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clients = clients
        self._accounts = accounts
        self._dry_run = dry_run
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep

    @property
    def dry_run(self) -> bool:
        return self._dry_run

    def account_label(self, request: ActionRequested) -> str:
        return self._accounts.metric_label(request.platform, request.account.id)

    async def run(self, request: ActionRequested) -> ActionCompleted:
        status, result_id, error = await self._attempts(request)
        return self.report(request, status, result_id, error)

    def report(
        self, request: ActionRequested, status: ActionStatus, result_id: str | None, error: str | None
    ) -> ActionCompleted:
        """The `ActionCompleted` for an outcome, counted and logged (ids and codes only, never text)."""
        reason = status.value if status is not ActionStatus.FAILED else error or "failed"
        metrics.ACTIONS.labels(
            request.platform.value, self.account_label(request), request.action.value, reason
        ).inc()
        log.info(
            "action %s request=%s platform=%s action=%s reason=%s",
            status.value,
            request.event_id,
            request.platform.value,
            request.action.value,
            reason,
        )
        return ActionCompleted(
            request_id=request.event_id,
            action=request.action,
            comment_key=request.comment_key,
            status=status,
            platform_result_id=result_id,
            error=error,
        )

    async def _attempts(self, request: ActionRequested) -> tuple[ActionStatus, str | None, str | None]:
        if self._dry_run:
            await DryRun().execute(request)
            return ActionStatus.DRY_RUN, None, None
        client = self._clients.get(request.platform)
        if client is None:
            return ActionStatus.FAILED, None, "unsupported_platform"
        for attempt in range(1, self._max_attempts + 1):
            try:
                return ActionStatus.DONE, await client.execute(request), None
            except ActionFailed as exc:
                if exc.maybe_applied and request.action not in IDEMPOTENT:
                    # A reply the platform may already have posted is not posted again: a person checks.
                    return ActionStatus.FAILED, None, OUTCOME_UNKNOWN
                if not exc.transient or attempt == self._max_attempts:
                    return ActionStatus.FAILED, None, exc.reason
                delay = exc.retry_after or min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                log.warning(
                    "action retry request=%s reason=%s attempt=%d delay=%.1fs",
                    request.event_id,
                    exc.reason,
                    attempt,
                    delay,
                )
                await self._sleep(min(delay, self._max_delay))
        return ActionStatus.FAILED, None, "exhausted"  # pragma: no cover (the loop always returns)


async def settle(executor: Executor, ledger: ActionLog, request: ActionRequested) -> bytes:
    """The encoded `ActionCompleted` for a request, calling the platform only if no earlier delivery of the
    same `event_id` may have (see the module docstring). The outcome is recorded before it is returned."""
    event_id = str(request.event_id)
    label = executor.account_label(request)
    record = ledger.action_record(event_id)
    if record is not None and record.completion is not None:
        metrics.ACTION_REDELIVERIES.labels(
            request.platform.value, label, request.action.value, "answered_again"
        ).inc()
        log.info(
            "action redelivered, recorded result published again request=%s action=%s state=%s",
            event_id,
            request.action.value,
            record.state,
        )
        return record.completion
    if record is not None and not may_repeat(request.action, record):
        metrics.ACTION_REDELIVERIES.labels(
            request.platform.value, label, request.action.value, OUTCOME_UNKNOWN
        ).inc()
        log.warning(
            "action interrupted after it may have reached the platform; not repeated, check the platform"
            " request=%s platform=%s action=%s attempts=%d",
            event_id,
            request.platform.value,
            request.action.value,
            record.attempts,
        )
        completed = executor.report(request, ActionStatus.FAILED, None, OUTCOME_UNKNOWN)
    else:
        if record is not None:
            metrics.ACTION_REDELIVERIES.labels(
                request.platform.value, label, request.action.value, "retried"
            ).inc()
            log.info(
                "action interrupted, retried (idempotent) request=%s action=%s attempts=%d",
                event_id,
                request.action.value,
                record.attempts,
            )
        ledger.action_started(event_id, request.action.value, executor.dry_run)
        completed = await executor.run(request)
    encoded = encode(completed)
    ledger.action_finished(
        event_id, completed.status.value, completed.platform_result_id, completed.error, encoded
    )
    return encoded


def decode_request(value: bytes | None) -> ActionRequested | None:
    """A request, or None for a result (ours, on the same topic); anything else that is not a valid request
    is dead-lettered here."""
    if event_type(value) == "action_completed":
        return None
    return decode(ActionRequested, value)


class ActionWorker:
    """The consumer of requests around an `Executor`. A batch's offsets are committed after its completions
    are acknowledged by the broker; `ledger` (in memory when not given) makes a redelivery harmless."""

    def __init__(
        self, profile: BrokerProfile, group_id: str, executor: Executor, ledger: ActionLog | None = None
    ) -> None:
        self._executor = executor
        self._ledger: ActionLog = ledger if ledger is not None else MemoryActionLog()
        self._bus = BusConsumer(
            profile,
            ACTIONS.name,
            group_id,
            "ingest",
            decode_request,
            self.handle,
            max_records=50,
            poll_ms=1000,
        )

    async def run(self) -> None:
        await self._bus.run()

    async def handle(self, received: list[Received[ActionRequested]], sink: Sink) -> None:
        for item in received:
            request = item.event
            completed = await settle(self._executor, self._ledger, request)
            await sink.send(ACTIONS.name, completed, key=request.comment_key.encode())
