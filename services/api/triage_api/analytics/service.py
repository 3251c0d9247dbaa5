"""The numbers behind the analytics page, for flags raised in a time window.

- Flags per label and per platform, counted in UTC hour or day buckets (a flag counts once for each of its
  labels). Rows are bucketed in Python, so the same code runs on SQLite and PostgreSQL.
- Time to first action: from the flag being raised to the first thing a person did about it, taken from the
  audit log (the flags table keeps no such time), with the same definition as the
  `triage_api_time_to_first_action_seconds` metric (`flags.first_action.FIRST_ACTIONS`): a claim, a status
  change, an assignment, a platform action requested (or put up for approval), a re-route, a raised
  severity, or the acknowledgement of an on-call alert covering the flag. Notes, label feedback and
  everything the system does (routing, relabels, action results) are not. Median and 90th percentile (linear
  interpolation between the nearest ranks) per label and per severity (the severity the flag arrived with).
- SLA breaches per severity: a flag breached its SLA when its first action came after its due time (late),
  or it has had none and its due time has passed (unanswered). The due time here is the flagged time plus
  the SLA of the severity the flag arrived with (`first_action.arrival_severities`: before a person raised
  it, since raising it was the response, or a newer classifier verdict relabelled it), the same judgement
  as the `triage_api_sla_breaches_total` counter. It is not the flag's stored `sla_due_at`, the working
  deadline the queue shows, which escalations and raised severities restart: this page measures the first
  response to the flag as it arrived.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from triage_events import Label

from triage_api.audit.models import AuditEvent
from triage_api.audit.service import SYSTEM_ROLE
from triage_api.db import as_utc
from triage_api.flags import sla
from triage_api.flags.first_action import FIRST_ACTIONS, arrival_severities  # shared with the metric
from triage_api.flags.models import Flag

SEVERITIES = ("critical", "high", "medium", "low")
MAX_BUCKETS = 1000


class Bucket(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self is Bucket.HOUR else timedelta(days=1)

    def floor(self, at: datetime) -> datetime:
        at = as_utc(at)
        at = at.replace(minute=0, second=0, microsecond=0)
        return at.replace(hour=0) if self is Bucket.DAY else at


class WindowError(ValueError):
    """A window that cannot be reported on; `parameter` names the one at fault (for the 422)."""

    def __init__(self, message: str, parameter: str = "since") -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    bucket: Bucket

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None, bucket: Bucket, now: datetime) -> Window:
        """The window asked for: `until` defaults to now, `since` to a day (hourly) or a week (daily) before."""
        end = as_utc(until) if until else as_utc(now)
        start = (
            as_utc(since)
            if since
            else end - (timedelta(days=1) if bucket is Bucket.HOUR else timedelta(days=7))
        )
        if start >= end:
            raise WindowError("since must be before until")
        window = cls(start, end, bucket)
        if len(window.starts()) > MAX_BUCKETS:
            raise WindowError(
                f"at most {MAX_BUCKETS} {bucket.value} buckets: narrow the range or use days", "bucket"
            )
        return window

    def starts(self) -> list[datetime]:
        """The start of every bucket that overlaps the window."""
        out: list[datetime] = []
        at = self.bucket.floor(self.since)
        while at < self.until and len(out) <= MAX_BUCKETS:
            out.append(at)
            at += self.bucket.step
        return out


@dataclass(frozen=True)
class Series:
    key: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Timing:
    key: str
    flags: int
    acted: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class SlaRow:
    severity: str
    target_seconds: float
    flags: int
    met: int
    late: int
    unanswered: int
    pending: int

    @property
    def breached(self) -> int:
        return self.late + self.unanswered


@dataclass
class Report:
    window: Window
    generated_at: datetime
    buckets: list[datetime]
    total: int
    by_label: list[Series]
    by_platform: list[Series]
    first_action_by_label: list[Timing]
    first_action_by_severity: list[Timing]
    sla: list[SlaRow]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of `values` by linear interpolation between the nearest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class _FlagRow:
    id: str
    flagged_at: datetime
    platform: str
    severity: str
    labels: list[str]


def _flags(db: Session, window: Window) -> list[_FlagRow]:
    rows = db.execute(
        select(Flag.id, Flag.flagged_at, Flag.platform, Flag.severity, Flag.labels).where(
            Flag.flagged_at >= window.since, Flag.flagged_at < window.until
        )
    ).all()
    return [_FlagRow(r.id, as_utc(r.flagged_at), r.platform, r.severity, list(r.labels or [])) for r in rows]


def _in_window(window: Window) -> Select[str]:
    return select(Flag.id).where(Flag.flagged_at >= window.since, Flag.flagged_at < window.until)


def first_actions(db: Session, window: Window) -> dict[str, datetime]:
    """When a person first acted on each flag raised in the window (flags nobody acted on are absent)."""
    rows = db.execute(
        select(AuditEvent.flag_id, func.min(AuditEvent.at))
        .where(
            AuditEvent.flag_id.in_(_in_window(window)),
            AuditEvent.action.in_(sorted(FIRST_ACTIONS)),
            AuditEvent.role != SYSTEM_ROLE,
        )
        .group_by(AuditEvent.flag_id)
    ).all()
    return {flag_id: as_utc(at) for flag_id, at in rows if flag_id is not None and at is not None}


def _timing(key: str, flags: int, seconds: list[float]) -> Timing:
    return Timing(key, flags, len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9))


def report(db: Session, window: Window, now: datetime, targets: sla.Targets) -> Report:
    """The report on the flags raised in `window`, as seen at `now`, judged against `targets`."""
    now = as_utc(now)
    flags = _flags(db, window)
    acted = first_actions(db, window)
    arrived = arrival_severities(db, _in_window(window))
    starts = window.starts()
    index = {start: i for i, start in enumerate(starts)}

    labels = [label.value for label in Label]
    labels += sorted({label for f in flags for label in f.labels} - set(labels))
    platforms = sorted({f.platform for f in flags})
    by_label = {key: [0] * len(starts) for key in labels}
    by_platform = {key: [0] * len(starts) for key in platforms}
    waits_by_label: dict[str, list[float]] = {key: [] for key in labels}
    flags_by_label = dict.fromkeys(labels, 0)
    severities = list(SEVERITIES) + sorted({arrived.get(f.id, f.severity) for f in flags} - set(SEVERITIES))
    waits_by_severity: dict[str, list[float]] = {key: [] for key in severities}
    flags_by_severity = dict.fromkeys(severities, 0)
    outcome = {key: {"met": 0, "late": 0, "unanswered": 0, "pending": 0} for key in severities}

    for f in flags:
        i = index[window.bucket.floor(f.flagged_at)]
        by_platform[f.platform][i] += 1
        severity = arrived.get(f.id, f.severity)
        first = acted.get(f.id)
        for label in dict.fromkeys(f.labels):
            by_label[label][i] += 1
            flags_by_label[label] += 1
        flags_by_severity[severity] += 1
        due = targets.due_at(f.flagged_at, severity)
        if first is None:
            outcome[severity]["unanswered" if now > due else "pending"] += 1
            continue
        wait = max(0.0, (first - f.flagged_at).total_seconds())
        for label in dict.fromkeys(f.labels):
            waits_by_label[label].append(wait)
        waits_by_severity[severity].append(wait)
        outcome[severity]["met" if first <= due else "late"] += 1

    return Report(
        window=window,
        generated_at=now,
        buckets=starts,
        total=len(flags),
        by_label=[Series(key, counts) for key, counts in by_label.items()],
        by_platform=[Series(key, counts) for key, counts in by_platform.items()],
        first_action_by_label=[_timing(k, flags_by_label[k], waits_by_label[k]) for k in labels],
        first_action_by_severity=[_timing(k, flags_by_severity[k], waits_by_severity[k]) for k in severities],
        sla=[
            SlaRow(
                severity=key,
                target_seconds=targets.target(key).total_seconds(),
                flags=flags_by_severity[key],
                **outcome[key],
            )
            for key in severities
        ],
    )
