"""JSONL replay: demos, backfills and load. Bad lines go to the dead-letter topic with a reason."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from triage_bus.dlq import dead_letter
from triage_events import Account, InvalidEvent

from triage_ingest.normalize import from_replay_line
from triage_ingest.publisher import Publisher

log = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    published: int = 0
    duplicates: int = 0
    dead_letters: int = 0


async def replay_file(
    path: Path, publisher: Publisher, account: Account, rate: float | None = None
) -> ReplayReport:
    """Publish every line of `path`, at most `rate` lines a second (None or 0: as fast as possible)."""
    report = ReplayReport()
    interval = 1.0 / rate if rate else 0.0
    started = time.monotonic()
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = from_replay_line(line.rstrip(b"\r\n"), account)
            except InvalidEvent as exc:
                log.warning("replay line rejected file=%s line=%d reason=%s", path.name, number, exc.reason)
                await publisher.dead_letter(
                    dead_letter(
                        "ingest", f"replay:{path.name}", None, line, exc.reason, str(exc), offset=number
                    )
                )
                report.dead_letters += 1
                continue
            if await publisher.publish(event):
                report.published += 1
            else:
                report.duplicates += 1
            if interval:
                due = started + (report.published + report.duplicates) * interval
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
    log.info(
        "replay done file=%s published=%d duplicates=%d dead_letters=%d",
        path.name,
        report.published,
        report.duplicates,
        report.dead_letters,
    )
    return report
