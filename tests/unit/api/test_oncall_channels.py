"""Channel payloads: PagerDuty Events v2 shape, the signed webhook, Slack text, e-mail; links, never text."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from triage_api.oncall.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    EmailChannel,
    Link,
    Page,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    build_channels,
)
from triage_api.oncall.config import (
    EmailChannelConfig,
    OncallSettings,
    PagerDutyChannelConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
)


def make_page(**overrides: object) -> Page:
    fields: dict[str, object] = {
        "alert_id": "a-1",
        "dedup_key": "urgent_comment:facebook:acct:c1",
        "kind": "urgent_comment",
        "label": "urgent",
        "severity": "critical",
        "platform": "facebook",
        "account": "@brightwater",
        "count": 1,
        "summary": "Triage critical: urgent comment: someone may be in danger on facebook @brightwater",
        "links": [Link("https://triage.example/flags/f-1", "Open the flag")],
        "person": "alice",
        "level": 0,
        "email": "alice@example.org",
    }
    return Page(**{**fields, **overrides})  # type: ignore[arg-type]


class Recorder:
    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._statuses = statuses or []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self._statuses.pop(0) if self._statuses else 202
        return httpx.Response(status, json={"status": "success"})


async def test_pagerduty_trigger_and_acknowledge_follow_events_api_v2() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        channel = PagerDutyChannel(PagerDutyChannelConfig(name="pd", routing_key="R" * 32), client)
        await channel.send(make_page())
        await channel.send(make_page(action="acknowledge"))

    trigger, ack = (json.loads(r.content) for r in recorder.requests)
    assert str(recorder.requests[0].url) == "https://events.pagerduty.com/v2/enqueue"
    assert trigger["routing_key"] == "R" * 32
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "urgent_comment:facebook:acct:c1"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "triage/facebook/@brightwater"
    assert trigger["payload"]["summary"].startswith("Triage critical")
    assert trigger["links"] == [{"href": "https://triage.example/flags/f-1", "text": "Open the flag"}]
    assert ack == {"routing_key": "R" * 32, "event_action": "acknowledge", "dedup_key": trigger["dedup_key"]}


async def test_the_generic_webhook_is_signed_over_timestamp_and_body() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        config = WebhookChannelConfig(name="hook", url="https://hooks.example/triage", secret="s3cret")
        await WebhookChannel(config, client).send(make_page())

    [request] = recorder.requests
    timestamp = request.headers[TIMESTAMP_HEADER]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request.content, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"v1={expected}"
    body = json.loads(request.content)
    assert body["dedup_key"] == "urgent_comment:facebook:acct:c1"
    assert body["links"][0]["href"] == "https://triage.example/flags/f-1"
    assert request.headers["Idempotency-Key"] == "urgent_comment:facebook:acct:c1:0"


async def test_slack_gets_a_text_with_links() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        await SlackChannel(SlackChannelConfig(name="s", url="https://hooks.slack.test/x"), client).send(
            make_page()
        )
    text = json.loads(recorder.requests[0].content)["text"]
    assert "<https://triage.example/flags/f-1|Open the flag>" in text and "alice" in text


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False), (404, False)])
async def test_http_errors_say_whether_a_retry_can_help(status: int, retryable: bool) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorder([status]))) as client:
        channel = WebhookChannel(WebhookChannelConfig(name="hook", url="https://hooks.example/"), client)
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_page())
    assert caught.value.retryable is retryable


async def test_connection_errors_are_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        channel = WebhookChannel(WebhookChannelConfig(name="hook", url="https://hooks.example/"), client)
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_page())
    assert caught.value.retryable


def test_email_goes_to_the_person_with_links_and_the_dedup_key() -> None:
    config = EmailChannelConfig(
        name="mail", host="smtp.example", sender="triage@example.org", to=["team@x.org"]
    )
    message = EmailChannel(config).message(make_page())
    assert message["To"] == "alice@example.org"
    assert message["X-Triage-Dedup-Key"] == "urgent_comment:facebook:acct:c1"
    assert "[CRITICAL]" in message["Subject"]
    assert "https://triage.example/flags/f-1" in message.get_content()
    assert EmailChannel(config).message(make_page(email=None))["To"] == "team@x.org"


def test_settings_from_environment_and_yaml(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "oncall.yaml"
    path.write_text(
        "ack_timeout_s: 120\n"
        "channels:\n"
        "  - {name: pager, type: pagerduty, routing_key: abc}\n"
        "  - {name: team, type: slack, url: 'https://hooks.slack.test/x'}\n"
        "escalation:\n"
        "  - {name: alice, channels: [pager, team]}\n"
        "  - {name: bob, channels: [pager]}\n"
    )
    monkeypatch.setenv("TRIAGE_ONCALL_CONFIG_FILE", str(path))
    monkeypatch.setenv("TRIAGE_ONCALL_ACK_TIMEOUT_S", "60")
    settings = OncallSettings()
    assert settings.ack_timeout_s == 60  # the environment wins over the file
    assert [r.name for r in settings.roster()] == ["alice", "bob"]
    async_client = httpx.AsyncClient()
    assert {n: c.type for n, c in build_channels(settings.channels, async_client).items()} == {
        "pager": "pagerduty",
        "team": "slack",
    }


def test_defaults_page_nobody_and_unknown_channel_names_are_refused() -> None:
    assert OncallSettings().roster() == []
    with pytest.raises(ValueError, match="unknown channels"):
        OncallSettings(escalation=[{"name": "alice", "channels": ["nope"]}])  # type: ignore[list-item]
