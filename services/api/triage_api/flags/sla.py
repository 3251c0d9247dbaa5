"""SLA due times per severity: a flag is due this long after it was flagged (or after its clock restarted).

The targets come from the API settings (`TRIAGE_API_SLA_CRITICAL_S`, `_HIGH_S`, `_MEDIUM_S`, `_LOW_S`;
5 min, 30 min, 4 h and 24 h by default): `main.create_app` builds one `Targets` from them and passes it to
what needs it (kept on `app.state.sla` for the views); nothing here reads the settings. A flag's due time is
stored on it (`Flag.sla_due_at`, read through `Flag.due_at`): set from these targets when it is stored
(`flags.service.store_flags`), restarted (`Targets.restart`) when it is escalated, its severity is raised by
a person or by a newer classifier verdict, and kept by a manual re-route or a verdict that does not raise the
severity. The queue, `/api/flags`, the flag page, the live streams and the breach gauge read the stored time.
Time-to-first-action and its breach counter, and the analytics page, judge the first response against the
SLA of the severity the flag arrived with (`first_action`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING

from triage_api.db import as_utc

if TYPE_CHECKING:
    from triage_api.flags.models import Flag

SEVERITIES = ("critical", "high", "medium", "low")
OPEN_STATUSES = frozenset({"new", "assigned", "in_review", "escalated"})


@dataclass(frozen=True)
class Targets:
    """The response target of each severity, in seconds (`ApiSettings.sla_seconds()`)."""

    seconds: Mapping[str, float]

    def __post_init__(self) -> None:
        missing = sorted(set(SEVERITIES) - set(self.seconds))
        if missing:
            raise ValueError(f"no SLA target for {missing}")
        object.__setattr__(self, "seconds", MappingProxyType(dict(self.seconds)))

    def target(self, severity: str) -> timedelta:
        """The response target for a severity (an unknown one gets the lowest severity's)."""
        return timedelta(seconds=self.seconds.get(severity, self.seconds["low"]))

    def timedeltas(self) -> dict[str, timedelta]:
        """Every severity's target, most severe first."""
        return {severity: self.target(severity) for severity in SEVERITIES}

    def due_at(self, start: datetime, severity: str) -> datetime:
        """When a clock started at `start` for `severity` runs out (aware UTC)."""
        return as_utc(start) + self.target(severity)

    def restart(self, flag: Flag, at: datetime) -> datetime:
        """Restart the flag's SLA clock at `at` for its (current) severity; returns the new due time."""
        flag.sla_due_at = self.due_at(at, flag.severity)
        return flag.sla_due_at


# The settings' defaults, for code run without an app (tests, benchmarks, a row stored before migration 0006).
DEFAULT = Targets({"critical": 300.0, "high": 1800.0, "medium": 4 * 3600.0, "low": 24 * 3600.0})


def breached(due: datetime, status: str, now: datetime | None = None) -> bool:
    """A flag in an open status past its due time."""
    return status in OPEN_STATUSES and as_utc(due) < (now or datetime.now(UTC))
