"""Data retention: comment text is purged after a configurable number of days; the flag's metadata (labels,
scores, evidence offsets, status, actions, audit) is kept for reporting and retraining feedback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from triage_api.flags.models import Flag
from triage_api.purge import purge_rows

log = logging.getLogger(__name__)


def purge_text(db: Session, days: int, at: datetime | None = None) -> int:
    """Blank the text of comments flagged more than `days` ago; returns how many were purged."""
    cutoff = (at or datetime.now(UTC)) - timedelta(days=days)
    statement = (
        update(Flag)
        .where(Flag.flagged_at < cutoff, Flag.text.is_not(None))
        .values(text=None)
        .returning(Flag.id)
    )
    return purge_rows(db, statement, "retention.purged", days)


Purge = Callable[[Session, int], int]


async def run_retention(
    factory: sessionmaker[Session],
    days: int,
    every_s: float = 3600.0,
    purges: Sequence[Purge] = (purge_text,),
) -> None:
    """Run each purge once an hour (each idempotent, so every replica may run them)."""
    while True:

        def once() -> int:
            with factory() as db, db.begin():
                return sum(purge(db, days) for purge in purges)

        try:
            purged = await asyncio.to_thread(once)
            if purged:
                log.info("retention purged rows count=%d days=%d", purged, days)
        except Exception as exc:  # a database hiccup must not end the API; try again next round
            log.warning("retention run failed error=%s", type(exc).__name__)
        await asyncio.sleep(every_s)
