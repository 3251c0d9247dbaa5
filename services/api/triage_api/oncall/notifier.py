"""The dispatcher: pages due alerts through the roster's channels, retries with backoff, escalates to the
next person when nobody acknowledges in time, and tells the channels when someone does.

State lives in the database, not in memory: an alert is due when `next_action_at` has passed; a replica
claims it (moving `next_action_at` a lease ahead) before paging, so two replicas don't page twice, and a
replica that dies mid-page gives the alert back when the lease runs out (at-least-once paging; PagerDuty
and well-behaved receivers deduplicate on the dedup key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker
from triage_events import AlertKind

from triage_api import metrics
from triage_api.db import as_utc
from triage_api.flags.models import FlagStatus
from triage_api.flags.sla import Targets
from triage_api.oncall import service
from triage_api.oncall.channels import Channel, DeliveryError, Link, Page
from triage_api.oncall.config import OncallSettings, Responder
from triage_api.oncall.models import Alert, AlertEvent

log = logging.getLogger(__name__)

# Queue and alert gauges are aggregate queries: refreshed this often (about a scrape interval), not every poll.
GAUGE_REFRESH_S = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def summary(alert: Alert) -> str:
    """One line for a pager: what, where, how bad. Never comment text or an author."""
    account = alert.account_handle or alert.account_id
    if alert.kind == "surge":
        what = f"surge of {alert.count} {alert.label} flags in {max(1, alert.window_seconds // 60)} min"
    elif alert.kind == "phi_exposure":
        what = "possible PHI exposed in a public comment"
    else:
        what = "urgent comment: someone may be in danger"
    return f"Triage {alert.severity}: {what} on {alert.platform} {account}"


# Alerts paged concurrently by one notifier (each holds a database connection and a worker thread while it
# claims and records; the default thread pool has cpu + 4 threads).
PAGES_AT_ONCE = 4


class Notifier:
    def __init__(
        self,
        settings: OncallSettings,
        factory: sessionmaker[Session],
        channels: dict[str, Channel],
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        targets: Targets,
        gauges: Sequence[Callable[[Session], object]] = (),
    ) -> None:
        """`targets`: the SLA the breach gauge judges by; `gauges`: more gauges refreshed with the queue's
        (passed in by the app, so that oncall knows nothing of the packages that own them)."""
        self._targets = targets
        self._gauges = tuple(gauges)
        self._settings = settings
        self._factory = factory
        self._channels = channels
        self._roster = settings.roster()
        self._clock = clock
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self.running = False

    def wake(self) -> None:
        """Look for due alerts now (the consumer calls this after storing new ones)."""
        self._wake.set()

    async def run(self) -> None:
        self.running = True
        refreshed = -GAUGE_REFRESH_S
        try:
            while True:
                try:
                    await self.dispatch_due()
                    if time.monotonic() - refreshed >= GAUGE_REFRESH_S:
                        refreshed = time.monotonic()
                        await asyncio.to_thread(self.refresh_gauges)
                except Exception as exc:  # a database blip must not end paging for good
                    log.error("on-call dispatch failed, retrying error=%s", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_interval_s)
                self._wake.clear()
        finally:
            self.running = False
            for task in list(self._background):
                task.cancel()

    async def dispatch_due(self) -> int:
        """Page (or escalate) every due alert once; returns how many were handled."""
        now = self._clock()
        with self._factory() as db:
            due = service.due_alerts(db, now)
            db.expunge_all()
        if not self._roster:  # nobody to page: every due alert is logged, all in one transaction
            return len(await asyncio.to_thread(self._log_only, due, now))
        # Several at a time: a page waits mostly on the database and the channel, and a surge of urgent
        # comments must not queue behind one another's webhook round trips. Each alert is claimed in its own
        # transaction (a lease), so no two tasks or replicas page the same one.
        gate = asyncio.Semaphore(PAGES_AT_ONCE)

        async def handle(alert: Alert) -> bool:
            async with gate:
                if not await asyncio.to_thread(self._claim, alert, now):
                    return False
                await self._advance(alert)
                return True

        return sum(await asyncio.gather(*(handle(alert) for alert in due)))

    def _log_only(self, due: list[Alert], now: datetime) -> list[Alert]:
        with self._factory() as db, db.begin():
            logged = service.log_only(db, due, now)
        for alert in logged:
            log.warning("alert raised, no on-call channels configured id=%s kind=%s", alert.id, alert.kind)
        return logged

    def _claim(self, alert: Alert, now: datetime) -> bool:
        lease = now + timedelta(seconds=self._settings.claim_lease_s)
        with self._factory() as db, db.begin():
            return service.claim(db, alert.id, alert.level, now, lease)

    async def _advance(self, alert: Alert) -> None:
        level = alert.level + 1
        now = self._clock()
        events: list[AlertEvent] = []
        if level >= len(self._roster):  # the last person was paged and the lease ran out: nobody is left
            await asyncio.to_thread(self._record, alert.id, alert.level, None, events)
            return
        person = self._roster[level]
        if level > 0:
            metrics.ESCALATIONS.labels(alert.kind).inc()
            events.append(
                AlertEvent(alert_id=alert.id, at=now, event="escalated", level=level, person=person.name)
            )
            log.warning("alert escalated id=%s kind=%s level=%d", alert.id, alert.kind, level)
        page = await asyncio.to_thread(self._page, alert, person, level, "trigger")
        delivered = await self._deliver(alert.id, page, person, events)
        now = self._clock()
        if delivered:
            if level == 0:
                metrics.NOTIFICATION_LATENCY.labels(alert.kind).observe(
                    max(0.0, (now - as_utc(alert.stored_at)).total_seconds())
                )
            last = level + 1 >= len(self._roster)
            next_at = None if last else now + timedelta(seconds=self._settings.ack_timeout_s)
            await asyncio.to_thread(self._record, alert.id, level, next_at, events)
        elif level + 1 < len(self._roster):
            # Nobody could be reached at this level: go to the next person at once.
            await asyncio.to_thread(self._record, alert.id, level, now, events)
        else:
            retry_at = now + timedelta(seconds=self._settings.ack_timeout_s)
            await asyncio.to_thread(self._record, alert.id, alert.level, retry_at, events)

    def _record(self, alert_id: str, level: int, next_at: datetime | None, events: list[AlertEvent]) -> None:
        with self._factory() as db, db.begin():
            service.record_attempt(db, alert_id, level, next_at, events)

    def _page(
        self, alert: Alert, person: Responder, level: int, action: Literal["trigger", "acknowledge"]
    ) -> Page:
        base = self._settings.public_url.rstrip("/")
        with self._factory() as db:
            ids = service.flag_ids(db, alert.comment_keys[:5])
        links = [Link(f"{base}/flags/{flag_id}", "Open the flag") for flag_id in ids.values()]
        if alert.kind == "surge" or not links:
            links.append(Link(f"{base}/?label={alert.label}", f"Queue: {alert.label}"))
        links.append(Link(f"{base}/api/alerts/{alert.id}", "Alert (acknowledge: POST …/ack)"))
        return Page(
            alert_id=alert.id,
            dedup_key=alert.dedup_key,
            kind=alert.kind,
            label=alert.label,
            severity=alert.severity,
            platform=alert.platform,
            account=alert.account_handle or alert.account_id,
            count=alert.count,
            summary=summary(alert),
            links=links,
            person=person.name,
            level=level,
            action=action,
            email=person.email,
        )

    def _channels_for(self, person: Responder) -> list[Channel]:
        names = person.channels or list(self._channels)
        return [self._channels[name] for name in names if name in self._channels]

    async def _deliver(self, alert_id: str, page: Page, person: Responder, events: list[AlertEvent]) -> bool:
        """Send through each of the person's channels with retries; True when at least one delivered."""
        delivered = False
        for channel in self._channels_for(person):
            error = await self._send_with_retries(channel, page)
            now = self._clock()
            event = "paged" if page.action == "trigger" else "ack_sent"
            if error is None:
                delivered = True
                metrics.NOTIFICATIONS.labels(channel.type, "sent").inc()
                events.append(
                    AlertEvent(
                        alert_id=alert_id,
                        at=now,
                        event=event,
                        level=page.level,
                        person=person.name,
                        channel=channel.name,
                    )
                )
                log.info("notification sent id=%s channel=%s level=%d", alert_id, channel.name, page.level)
            else:
                metrics.NOTIFICATIONS.labels(channel.type, "failed").inc()
                events.append(
                    AlertEvent(
                        alert_id=alert_id,
                        at=now,
                        event=f"{event}_failed",
                        level=page.level,
                        person=person.name,
                        channel=channel.name,
                        detail=error[:500],
                    )
                )
                log.error("notification failed id=%s channel=%s error=%s", alert_id, channel.name, error)
        return delivered

    async def _send_with_retries(self, channel: Channel, page: Page) -> str | None:
        """None when delivered, else the last error. Exponential backoff between attempts."""
        attempts = max(1, self._settings.retry_attempts)
        error = "not attempted"
        for attempt in range(attempts):
            try:
                await channel.send(page)
                return None
            except DeliveryError as exc:
                error = str(exc)
                if not exc.retryable or attempt + 1 == attempts:
                    break
                metrics.NOTIFICATIONS.labels(channel.type, "retried").inc()
                await self._sleep(min(30.0, self._settings.retry_base_delay_s * 2**attempt))
        return error

    async def acknowledge(
        self, alert_id: str, username: str, role: str = "moderator", via: str = "api"
    ) -> Alert | None:
        """Record the acknowledgement (on the alert and in the audit trail of its flags), stop escalation,
        and tell the channels (in the background). `via`: how it came in (`api`, `dashboard`, a channel)."""
        now = self._clock()
        alert, changed = await asyncio.to_thread(self._acknowledge, alert_id, username, now, role, via)
        if alert is None or not changed:
            return alert
        metrics.TIME_TO_ACK.labels(alert.kind).observe(
            max(0.0, (now - as_utc(alert.stored_at)).total_seconds())
        )
        log.info("alert acknowledged id=%s kind=%s via=%s", alert.id, alert.kind, via)
        if 0 <= alert.level < len(self._roster):
            task = asyncio.create_task(self._send_acknowledgement(alert, username))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return alert

    def _acknowledge(
        self, alert_id: str, username: str, now: datetime, role: str, via: str
    ) -> tuple[Alert | None, bool]:
        with self._factory() as db, db.begin():
            alert, changed = service.acknowledge(db, alert_id, username, now, role, via)
            if alert is not None:
                db.flush()
                db.expunge(alert)
            return alert, changed

    async def _send_acknowledgement(self, alert: Alert, username: str) -> None:
        people = {p.name: p for p in self._roster[: alert.level + 1]}
        events: list[AlertEvent] = []
        for person in people.values():
            page = await asyncio.to_thread(self._page, alert, person, alert.level, "acknowledge")
            page = Page(**{**page.__dict__, "summary": f"{page.summary} (acknowledged by {username})"})
            await self._deliver(alert.id, page, person, events)
        await asyncio.to_thread(self._add_events, events)

    def _add_events(self, events: list[AlertEvent]) -> None:
        with self._factory() as db, db.begin():
            db.add_all(events)

    def refresh_gauges(self) -> None:
        """Queue size by status, SLA breaches and open alerts, for /metrics (cheap aggregate queries)."""
        now = self._clock()
        with self._factory() as db:
            by_status, breaches, oldest_new = service.queue_snapshot(db, now, dict(self._targets.seconds))
            open_alerts, oldest_alert = service.alerts_snapshot(db, now)
            for refresh in self._gauges:
                refresh(db)

        for status in FlagStatus:
            metrics.QUEUE_SIZE.labels(status.value).set(by_status.get(status.value, 0))
        for severity, count in breaches.items():
            metrics.SLA_BREACHES.labels(severity).set(count)
            metrics.OLDEST_NEW.labels(severity).set(oldest_new.get(severity, 0.0))
        for kind in AlertKind:
            metrics.ALERTS_OPEN.labels(kind.value).set(open_alerts.get(kind.value, 0))
            metrics.OLDEST_UNACKED.labels(kind.value).set(oldest_alert.get(kind.value, 0.0))
