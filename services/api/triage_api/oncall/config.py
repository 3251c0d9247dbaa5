"""On-call settings: channels, the escalation roster and the acknowledgement timeout.

From `TRIAGE_ONCALL_*` environment variables (lists as JSON) or a YAML file named by
`TRIAGE_ONCALL_CONFIG_FILE`; the environment wins over the file. The default has no channels: alerts are
stored and logged, nothing is sent, so a demo needs no accounts anywhere.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage_api.config import ApiSettings


class _Channel(BaseModel):
    name: str
    timeout_s: float = 10.0


class WebhookChannelConfig(_Channel):
    """A generic JSON webhook, signed with HMAC-SHA256 over `timestamp.body` when a secret is set."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret: SecretStr | None = None


class SlackChannelConfig(_Channel):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)."""

    type: Literal["slack"] = "slack"
    url: str


class PagerDutyChannelConfig(_Channel):
    """PagerDuty Events API v2; the routing key is the integration key of a PagerDuty service."""

    type: Literal["pagerduty"] = "pagerduty"
    routing_key: SecretStr
    url: str = "https://events.pagerduty.com/v2/enqueue"


class EmailChannelConfig(_Channel):
    """E-mail over SMTP; the person's `email` in the roster is the recipient, else `to`."""

    type: Literal["email"] = "email"
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    to: list[str] = Field(default_factory=list)


ChannelConfig = Annotated[
    WebhookChannelConfig | SlackChannelConfig | PagerDutyChannelConfig | EmailChannelConfig,
    Field(discriminator="type"),
]


class Responder(BaseModel):
    """One step of the escalation roster: a person and the channels that reach them."""

    name: str
    channels: list[str] = Field(default_factory=list)  # channel names; empty means all channels
    email: str | None = None


class OncallSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_ONCALL_", extra="ignore", env_ignore_empty=True)

    config_file: Path | None = None
    public_url: str = ""  # where the links in alerts point; unset: the API's own address
    channels: list[ChannelConfig] = Field(default_factory=list)
    escalation: list[Responder] = Field(default_factory=list)
    ack_timeout_s: float = 300.0
    poll_interval_s: float = 1.0
    retry_attempts: int = 4
    retry_base_delay_s: float = 0.5
    claim_lease_s: float = 120.0  # a replica that crashed mid-page gives the alert back after this

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        """Fill what the environment did not set from the YAML file, if one is named."""
        if not isinstance(data, dict) or not data.get("config_file"):
            return data
        loaded = yaml.safe_load(Path(data["config_file"]).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError("the on-call config file must hold a mapping")
        return {**loaded, **data}

    @model_validator(mode="after")
    def _public_url_from_api(self) -> OncallSettings:
        """Links point at the API itself unless told otherwise (`TRIAGE_API_HOST`/`_PORT`, a wildcard
        address read as this host's loopback)."""
        if not self.public_url:
            api = ApiSettings()
            host = "127.0.0.1" if api.host in ("0.0.0.0", "::", "") else api.host
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{api.port}"
        return self

    @model_validator(mode="after")
    def _names_exist(self) -> OncallSettings:
        names = {c.name for c in self.channels}
        if len(names) != len(self.channels):
            raise ValueError("channel names must be unique")
        for person in self.escalation:
            unknown = set(person.channels) - names
            if unknown:
                raise ValueError(f"responder {person.name} names unknown channels: {sorted(unknown)}")
        return self

    def roster(self) -> list[Responder]:
        """The escalation levels; with channels but no roster, one level that uses every channel."""
        if self.escalation:
            return self.escalation
        return [Responder(name="on-call")] if self.channels else []


@lru_cache
def get_oncall_settings() -> OncallSettings:
    return OncallSettings()
