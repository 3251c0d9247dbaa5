"""JSONL replay: demos, backfills and load. Bad lines go to the dead-letter topic with a reason, the file and
the line number; the line itself only when it is JSON, and then with its text masked
(`triage_bus.dlq.masked_part`): a line that is not JSON may be nothing but comment text."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from triage_bus.dlq import dead_letter, dead_letter_part
from triage_events import Account, DeadLetter, InvalidEvent

from triage_ingest.publisher import Publisher
from triage_ingest.replay_lines import from_replay_line

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
                await publisher.dead_letter(_letter(path, number, line, exc))
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


def _letter(path: Path, number: int, line: bytes, exc: InvalidEvent) -> DeadLetter:
    """The dead letter of line `number`: its parsed JSON masked, or no value at all when it is not JSON."""
    source = f"replay:{path.name}"
    try:
        part = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return dead_letter("ingest", source, None, None, exc.reason, str(exc), offset=number)
    return dead_letter_part("ingest", source, part, exc.reason, f"line {number}", str(exc), offset=number)
