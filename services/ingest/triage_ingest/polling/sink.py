"""Hands one normalised page to the bus: dead letters for unusable items, then every event, each
acknowledged by the broker before `deliver` returns (the poller advances its cursor only after that).

Events go out oldest first, so one author's comments reach the topic in the order they were written. An
unusable item is dead-lettered once per process even when the overlap of successive polls shows it again,
alone and with its text masked (`triage_bus.dlq.dead_letter_part`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from triage_bus.dlq import dead_letter_part
from triage_events import Platform

from triage_ingest import metrics
from triage_ingest.accounts import Accounts
from triage_ingest.publisher import Publisher, RecentKeys
from triage_ingest.sources.base import Batch

log = logging.getLogger(__name__)


class Sink:
    def __init__(self, publisher: Publisher, accounts: Accounts) -> None:
        self._publisher = publisher
        self._accounts = accounts
        self._dead = RecentKeys(capacity=10_000)

    async def deliver(
        self, platform: Platform, account_id: str, batch: Batch, parts: Mapping[str, Any]
    ) -> int:
        """Publish `batch`; `parts` maps each problem's `where` to the raw item its dead letter is made of.
        Returns how many events were published (not dropped as duplicates)."""
        label = self._accounts.metric_label(platform, account_id)
        for _account, reason in batch.ignored:
            metrics.IGNORED.labels(platform.value, label, reason).inc()
        for problem in batch.problems:
            part = parts.get(problem.where)
            raw = json.dumps(part, sort_keys=True).encode("utf-8")
            key = hashlib.sha256(raw).hexdigest()
            if self._dead.seen(key):
                continue
            metrics.ERRORS.labels(platform.value, label, problem.reason).inc()
            log.warning(
                "poll item dead-lettered platform=%s account=%s reason=%s where=%s",
                platform.value,
                account_id,
                problem.reason,
                problem.where,
            )
            letter = dead_letter_part(
                "ingest", f"poll:{platform.value}", part, problem.reason, problem.where, problem.detail
            )
            try:
                await self._publisher.dead_letter(letter)
            except BaseException:
                self._dead.forget(key)
                raise
        published = 0
        for event in sorted(batch.events, key=lambda e: e.changed_at or e.comment.created_at):
            if await self._publisher.offer(event) is None:
                published += 1
        return published
