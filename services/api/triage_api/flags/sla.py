"""SLA due times per severity: a flag is due this long after it was flagged (or after its clock restarted).

The targets come from the API settings (`TRIAGE_API_SLA_CRITICAL_S`, `_HIGH_S`, `_MEDIUM_S`, `_LOW_S`;
5 min, 30 min, 4 h and 24 h by default) and are read here. A flag's due time is stored on it
(`Flag.sla_due_at`, read through `Flag.due_at`): set from these targets when it is stored, restarted
(`restart`) when it is escalated, its severity is raised by a person or by a newer classifier verdict, and kept
by a manual re-route or a verdict that does not raise the severity. The queue, `/api/flags`, the flag page,
the live streams and the breach gauge read the stored time. Time-to-first-action and its breach counter, and
the analytics page, judge the first response against the SLA of the severity the flag arrived with
(`first_action`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from triage_api.config import get_settings
from triage_api.db import as_utc

if TYPE_CHECKING:
    from triage_api.flags.models import Flag

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


def due_at(start: datetime, severity: str) -> datetime:
    """When a clock started at `start` for `severity` runs out (aware UTC)."""
    return as_utc(start) + target(severity)


def restart(flag: Flag, at: datetime) -> datetime:
    """Restart the flag's SLA clock at `at` for its (current) severity; returns the new due time."""
    flag.sla_due_at = due_at(at, flag.severity)
    return flag.sla_due_at


def breached(due: datetime, status: str, now: datetime | None = None) -> bool:
    """A flag in an open status past its due time."""
    return status in OPEN_STATUSES and as_utc(due) < (now or datetime.now(UTC))
