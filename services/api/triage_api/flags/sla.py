"""SLA due times per severity: a flag is due this long after it was flagged.

The targets come from the API settings (`TRIAGE_API_SLA_CRITICAL_S`, `_HIGH_S`, `_MEDIUM_S`, `_LOW_S`;
5 min, 30 min, 4 h and 24 h by default): the queue's due times, the notifier's breach gauges and the
first-action breach counter all read them here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

from triage_api.config import get_settings

SEVERITIES = ("critical", "high", "medium", "low")
OPEN_STATUSES = frozenset({"new", "assigned", "in_review", "escalated"})


def seconds() -> dict[str, float]:
    """The response target of each severity in seconds, as configured."""
    return get_settings().sla_seconds()


class _Targets(Mapping[str, timedelta]):
    """The targets as timedeltas, read from the settings on every access (so there is no second copy)."""

    def __getitem__(self, severity: str) -> timedelta:
        return timedelta(seconds=seconds()[severity])

    def __iter__(self) -> Iterator[str]:
        return iter(SEVERITIES)

    def __len__(self) -> int:
        return len(SEVERITIES)


SLA: Mapping[str, timedelta] = _Targets()


def target(severity: str) -> timedelta:
    """The response target for a severity (an unknown one gets the lowest severity's)."""
    configured = seconds()
    return timedelta(seconds=configured.get(severity, configured["low"]))


def due_at(flagged_at: datetime, severity: str) -> datetime:
    flagged = flagged_at if flagged_at.tzinfo else flagged_at.replace(tzinfo=UTC)
    return flagged + target(severity)


def breached(flagged_at: datetime, severity: str, status: str, now: datetime | None = None) -> bool:
    """An open flag past its due time."""
    return status in OPEN_STATUSES and due_at(flagged_at, severity) < (now or datetime.now(UTC))
