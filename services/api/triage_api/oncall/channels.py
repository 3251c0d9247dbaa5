"""Notification channels: PagerDuty Events API v2, Slack-compatible webhook, signed generic webhook, SMTP.

Every channel takes a `Page` (ids, counts and links, never comment text) and either delivers it or raises
`DeliveryError`; retries and bookkeeping are the notifier's job. `retryable=False` marks errors that a
retry cannot fix (a 4xx other than 408/429), so the notifier gives up at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx

from triage_api.oncall.config import (
    ChannelConfig,
    EmailChannelConfig,
    PagerDutyChannelConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
)

SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"

_PD_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}


class DeliveryError(Exception):
    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Page:
    """What a channel sends. `action` is `trigger` for a page and `acknowledge` once someone has it."""

    alert_id: str
    dedup_key: str
    kind: str
    label: str
    severity: str
    platform: str
    account: str
    count: int
    summary: str
    links: list[Link]
    person: str
    level: int
    action: Literal["trigger", "acknowledge"] = "trigger"
    email: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "dedup_key": self.dedup_key,
            "action": self.action,
            "kind": self.kind,
            "label": self.label,
            "severity": self.severity,
            "platform": self.platform,
            "account": self.account,
            "count": self.count,
            "summary": self.summary,
            "person": self.person,
            "level": self.level,
            "links": [{"href": link.href, "text": link.text} for link in self.links],
            "details": self.details,
        }


class Channel(Protocol):
    name: str
    type: str

    async def send(self, page: Page) -> None: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `timestamp.body`: receivers recompute it and reject old timestamps."""
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def _post(client: httpx.AsyncClient, url: str, timeout: float, **kwargs: Any) -> httpx.Response:
    try:
        response = await client.post(url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}") from None
    if response.status_code >= 300:
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}", retryable=retryable)
    return response


class _NamedConfig(Protocol):
    @property
    def name(self) -> str: ...


ConfigT = TypeVar("ConfigT", bound=_NamedConfig)


class _HttpChannel(Generic[ConfigT]):
    """A channel that posts over the app's shared HTTP client."""

    def __init__(self, config: ConfigT, client: httpx.AsyncClient) -> None:
        self.name = config.name
        self._config = config
        self._client = client


class WebhookChannel(_HttpChannel[WebhookChannelConfig]):
    type = "webhook"

    async def send(self, page: Page) -> None:
        body = json.dumps(page.as_json(), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"{page.dedup_key}:{page.level}"}
        if self._config.secret is not None:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self._config.secret.get_secret_value().encode(), timestamp, body)
        await _post(self._client, self._config.url, self._config.timeout_s, content=body, headers=headers)


class SlackChannel(_HttpChannel[SlackChannelConfig]):
    type = "slack"

    async def send(self, page: Page) -> None:
        links = " | ".join(f"<{link.href}|{link.text}>" for link in page.links)
        prefix = ":white_check_mark: Acknowledged" if page.action == "acknowledge" else ":rotating_light:"
        text = f"{prefix} {page.summary} (for {page.person})\n{links}"
        await _post(self._client, self._config.url, self._config.timeout_s, json={"text": text})


class PagerDutyChannel(_HttpChannel[PagerDutyChannelConfig]):
    type = "pagerduty"

    def event(self, page: Page) -> dict[str, Any]:
        """The Events API v2 body; an acknowledge carries only the routing and dedup keys."""
        body: dict[str, Any] = {
            "routing_key": self._config.routing_key.get_secret_value(),
            "event_action": page.action,
            "dedup_key": page.dedup_key,
        }
        if page.action == "trigger":
            body["payload"] = {
                "summary": page.summary[:1024],
                "severity": _PD_SEVERITY.get(page.severity, "error"),
                "source": f"triage/{page.platform}/{page.account}",
                "component": page.label,
                "group": page.platform,
                "class": page.kind,
                "custom_details": {"count": page.count, "level": page.level, "person": page.person},
            }
            body["links"] = [{"href": link.href, "text": link.text} for link in page.links]
        return body

    async def send(self, page: Page) -> None:
        await _post(self._client, self._config.url, self._config.timeout_s, json=self.event(page))


class EmailChannel:
    type = "email"

    def __init__(self, config: EmailChannelConfig) -> None:
        self.name = config.name
        self._config = config

    def message(self, page: Page) -> EmailMessage:
        recipients = [page.email] if page.email else self._config.to
        if not recipients:
            raise DeliveryError("no recipient", retryable=False)
        message = EmailMessage()
        verb = "Acknowledged" if page.action == "acknowledge" else "Triage alert"
        message["Subject"] = f"[{page.severity.upper()}] {verb}: {page.summary}"[:200]
        message["From"] = self._config.sender
        message["To"] = ", ".join(recipients)
        message["X-Triage-Dedup-Key"] = page.dedup_key
        links = "\n".join(f"{link.text}: {link.href}" for link in page.links)
        message.set_content(f"{page.summary}\n\nFor: {page.person} (level {page.level + 1})\n\n{links}\n")
        return message

    def _send_blocking(self, message: EmailMessage) -> None:
        config = self._config
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
                if config.starttls:
                    smtp.starttls()
                if config.username and config.password:
                    smtp.login(config.username, config.password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            # 4xx is a temporary refusal worth retrying; 5xx is permanent.
            raise DeliveryError(f"SMTP {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(type(exc).__name__) from None

    async def send(self, page: Page) -> None:
        await asyncio.to_thread(self._send_blocking, self.message(page))


def build_channels(configs: list[ChannelConfig], client: httpx.AsyncClient) -> dict[str, Channel]:
    """The configured channels by name, sharing one HTTP client."""
    channels: dict[str, Channel] = {}
    for config in configs:
        if isinstance(config, WebhookChannelConfig):
            channels[config.name] = WebhookChannel(config, client)
        elif isinstance(config, SlackChannelConfig):
            channels[config.name] = SlackChannel(config, client)
        elif isinstance(config, PagerDutyChannelConfig):
            channels[config.name] = PagerDutyChannel(config, client)
        else:
            channels[config.name] = EmailChannel(config)
    return channels
