"""Analytics over HTTP: `GET /api/analytics` (JSON) and the dashboard's `/analytics` page (server-rendered
HTML with inline SVG bars, no script). Both need the viewer role; the page sends anonymous visitors to the
sign-in page like the rest of the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from triage_api.analytics.service import Bucket, Report, Series, Window, WindowError, report
from triage_api.comments import learning
from triage_api.deps import DbDep, SlaDep, ViewerDep, current_principal
from triage_api.params import EARLIEST, LATEST, QueryDateTime, UtcDateTime
from triage_api.staff.service import Principal

router = APIRouter(tags=["analytics"])


class SeriesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    total: int
    counts: list[int]  # one per bucket, in the order of `buckets`


class TimingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    flags: int  # flags raised in the window with this label or severity
    acted: int  # of those, flags a person has acted on
    median_seconds: float | None
    p90_seconds: float | None


class SlaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    severity: str
    target_seconds: float
    flags: int
    met: int  # first action at or before the due time
    late: int  # first action after the due time
    unanswered: int  # no action yet, past the due time
    pending: int  # no action yet, not due yet
    breached: int  # late + unanswered


class FirstActionOut(BaseModel):
    by_label: list[TimingOut]
    by_severity: list[TimingOut]


class AnalyticsOut(BaseModel):
    since: UtcDateTime
    until: UtcDateTime
    bucket: Bucket
    generated_at: UtcDateTime
    buckets: list[UtcDateTime]  # the start of each bucket (UTC)
    total: int
    by_label: list[SeriesOut]
    by_platform: list[SeriesOut]
    first_action: FirstActionOut
    sla: list[SlaOut]


def to_out(r: Report) -> AnalyticsOut:
    return AnalyticsOut(
        since=r.window.since,
        until=r.window.until,
        bucket=r.window.bucket,
        generated_at=r.generated_at,
        buckets=r.buckets,
        total=r.total,
        by_label=[SeriesOut.model_validate(s) for s in r.by_label],
        by_platform=[SeriesOut.model_validate(s) for s in r.by_platform],
        first_action=FirstActionOut(
            by_label=[TimingOut.model_validate(t) for t in r.first_action_by_label],
            by_severity=[TimingOut.model_validate(t) for t in r.first_action_by_severity],
        ),
        sla=[SlaOut.model_validate(row) for row in r.sla],
    )


@router.get("/api/analytics", response_model=AnalyticsOut)
def analytics_route(
    db: DbDep,
    targets: SlaDep,
    _: ViewerDep,
    since: Annotated[
        QueryDateTime | None,
        Query(
            description="flagged at or after (ISO 8601; default: a week "
            "before `until`, a day for hourly buckets)"
        ),
    ] = None,
    until: Annotated[
        QueryDateTime | None, Query(description="flagged before (ISO 8601; default: now)")
    ] = None,
    bucket: Bucket = Bucket.DAY,
) -> AnalyticsOut:
    """Flags per label and per platform over time (UTC buckets), time to first action (median and p90 per
    label and per severity) and SLA breaches per severity, for flags raised in [since, until)."""
    now = datetime.now(UTC)
    try:
        window = Window.of(since, until, bucket, now)
    except WindowError as exc:  # shaped like FastAPI's own validation errors: at the parameter at fault
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", exc.parameter), "msg": str(exc), "input": None}]
        ) from exc
    return to_out(report(db, window, now, targets))


# --- the dashboard page ------------------------------------------------------------------------------------

CHART_HEIGHT = 120
FIRST_DAY, LAST_DAY = EARLIEST.date(), LATEST.date() - timedelta(days=1)
COLUMN_WIDTH = 12


@dataclass(frozen=True)
class Rect:
    key: str
    index: int  # the key's position, for its colour class
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class Column:
    x: int
    start: datetime
    total: int
    rects: list[Rect]


def chart(buckets: list[datetime], series: list[Series]) -> list[Column]:
    """Stacked columns (SVG user units), one per bucket, scaled to the busiest bucket."""
    totals = [sum(s.counts[i] for s in series) for i in range(len(buckets))]
    peak = max(totals, default=0) or 1
    columns = []
    for i, start in enumerate(buckets):
        y = float(CHART_HEIGHT)
        rects = []
        for k, s in enumerate(series):
            if s.counts[i]:
                height = CHART_HEIGHT * s.counts[i] / peak
                y -= height
                rects.append(Rect(s.key, k, round(y, 2), round(height, 2), s.counts[i]))
        columns.append(Column(i * COLUMN_WIDTH, start, totals[i], rects))
    return columns


def duration(seconds: float | None) -> str:
    """4m 10s, 2h 5m, 1d 3h; a dash for no value."""
    if seconds is None:
        return "\u2013"  # an en dash, as elsewhere on the dashboard
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"


def share(part: float | None, whole: float | None) -> float:
    """`part` as a percentage of `whole` (0 when either is missing), for bar widths."""
    return round(100 * part / whole, 2) if part and whole else 0.0


@router.get("/analytics", response_class=HTMLResponse, include_in_schema=False)
def analytics_page(
    request: Request,
    db: DbDep,
    targets: SlaDep,
    principal: Annotated[Principal | None, Depends(current_principal)],
    start: Annotated[date | None, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY)] = None,
    end: Annotated[date | None, Query(alias="to", ge=FIRST_DAY, le=LAST_DAY)] = None,
    bucket: Bucket = Bucket.DAY,
) -> Response:
    """The analytics page: whole UTC days from `from` to `to` (inclusive; default the last 7 days)."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    now = datetime.now(UTC)
    last = end or now.date()
    first = start or last - timedelta(days=6 if bucket is Bucket.DAY else 0)
    since = datetime.combine(first, datetime.min.time(), UTC)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    context: dict[str, Any] = {
        "principal": principal,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "bucket": bucket.value,
        "buckets": [b.value for b in Bucket],
        "report": None,
        "error": None,
        "duration": duration,
        "share": share,
        "chart_height": CHART_HEIGHT,
        "column_width": COLUMN_WIDTH,
    }
    status = 200
    try:
        window = Window.of(since, until, bucket, now)
    except WindowError as exc:
        context["error"], status = str(exc), 422
    else:
        r = report(db, window, now, targets)
        context.update(
            report=r,
            label_chart=chart(r.buckets, r.by_label),
            platform_chart=chart(r.buckets, r.by_platform),
            slowest=max(
                (t.p90_seconds or 0 for t in r.first_action_by_label + r.first_action_by_severity), default=0
            ),
            bucket_format="%Y-%m-%d %H:00" if bucket is Bucket.HOUR else "%Y-%m-%d",
            learning=learning.snapshot(db).as_dict(),
        )
    return request.app.state.templates.TemplateResponse(
        request, "analytics.html", context, status_code=status
    )
