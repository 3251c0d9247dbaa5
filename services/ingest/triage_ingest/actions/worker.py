"""The outbound actions worker: consumes `ActionRequested` from triage.actions.v1, calls the platform, and
publishes `ActionCompleted` (same topic, keyed by comment_key) before committing the offset.

Transient failures (429, 5xx, Graph throttling, network) are retried with exponential backoff, honouring
Retry-After; permanent ones end as `failed` with a reason. Requests are deduplicated on `event_id` within
the process; a redelivery after a crash may repeat an action (at-least-once), which for hide/unhide/delete
is harmless and for replies is the documented trade-off.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from triage_bus.dlq import dead_letter
from triage_bus.profile import BrokerProfile
from triage_events import (
    ACTIONS,
    DLQ,
    ActionCompleted,
    ActionRequested,
    ActionStatus,
    InvalidEvent,
    Platform,
    decode,
    encode,
)

from triage_ingest import metrics
from triage_ingest.accounts import Accounts
from triage_ingest.actions.base import ActionFailed, DryRun, PlatformClient
from triage_ingest.publisher import RecentKeys

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

    async def run(self, request: ActionRequested) -> ActionCompleted:
        status, result_id, error = await self._attempts(request)
        label = self._accounts.metric_label(request.platform, request.account.id)
        reason = status.value if status is not ActionStatus.FAILED else error or "failed"
        metrics.ACTIONS.labels(request.platform.value, label, request.action.value, reason).inc()
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


class ActionWorker:
    """The consumer loop around an `Executor`. Offsets are committed after the completion is published."""

    def __init__(self, profile: BrokerProfile, group_id: str, executor: Executor) -> None:
        self._profile = profile
        self._group_id = group_id
        self._executor = executor
        self._done = RecentKeys(capacity=50_000)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(ACTIONS.name, **self._profile.consumer_kwargs(self._group_id))
        producer = AIOKafkaProducer(**self._profile.producer_kwargs())
        await producer.start()
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=50)
                for records in batches.values():
                    for record in records:
                        await self._handle(
                            producer, record.value, record.key, record.partition, record.offset
                        )
                if batches:
                    await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()

    async def _handle(
        self, producer: AIOKafkaProducer, value: bytes | None, key: bytes | None, partition: int, offset: int
    ) -> None:
        if _event_type(value) == "action_completed":
            return  # our own results share the topic
        try:
            request = decode(ActionRequested, value)
        except InvalidEvent as exc:
            log.warning(
                "action request rejected reason=%s partition=%d offset=%d", exc.reason, partition, offset
            )
            letter = dead_letter("ingest", ACTIONS.name, key, value, exc.reason, str(exc), partition, offset)
            await producer.send_and_wait(DLQ.name, encode(letter))
            return
        if self._done.seen(str(request.event_id)):
            return
        completed = await self._executor.run(request)
        await producer.send_and_wait(ACTIONS.name, encode(completed), key=request.comment_key.encode())


def _event_type(value: bytes | None) -> str | None:
    """The `type` of a JSON event, without validating the rest."""
    try:
        parsed = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None
    return parsed.get("type") if isinstance(parsed, dict) else None
