"""SLA due times per severity: a flag is due this long after it was flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SLA = {
    "critical": timedelta(minutes=5),
    "high": timedelta(minutes=30),
    "medium": timedelta(hours=4),
    "low": timedelta(hours=24),
}
OPEN_STATUSES = frozenset({"new", "assigned", "in_review", "escalated"})


def due_at(flagged_at: datetime, severity: str) -> datetime:
    flagged = flagged_at if flagged_at.tzinfo else flagged_at.replace(tzinfo=UTC)
    return flagged + SLA.get(severity, SLA["low"])


def breached(flagged_at: datetime, severity: str, status: str, now: datetime | None = None) -> bool:
    """An open flag past its due time."""
    return status in OPEN_STATUSES and due_at(flagged_at, severity) < (now or datetime.now(UTC))
