"""Ingest settings, from `TRIAGE_INGEST_*` environment variables, plus the platform secrets.

Platform secrets have fixed names (`TRIAGE_META_APP_SECRET`, `TRIAGE_META_VERIFY_TOKEN`,
`TRIAGE_LINKEDIN_CLIENT_SECRET`); each is read from the environment first, then from the secrets file
(`TRIAGE_INGEST_SECRETS_FILE`, a YAML or JSON mapping of those names to values, kept out of the repo).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_NAMES = {
    "meta_app_secret": "TRIAGE_META_APP_SECRET",
    "meta_verify_token": "TRIAGE_META_VERIFY_TOKEN",
    "linkedin_client_secret": "TRIAGE_LINKEDIN_CLIENT_SECRET",
}


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_INGEST_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8001
    # Replayed once at start (the demo under `triage run`); empty for none.
    replay_file: Path | None = None
    replay_rate: float = 20.0
    # The account replayed comments are attributed to when a line names none.
    default_account_id: str = "demo-health"
    default_account_handle: str = "@demohealth"

    # Accounts (platform, id, handle, credential names, reply variables): a YAML or JSON file.
    accounts_file: Path | None = None
    # Secrets not set in the environment are looked up here (a YAML/JSON mapping NAME -> value).
    secrets_file: Path | None = None

    # Webhook bodies above this are refused (413) before anything is parsed.
    max_body_bytes: int = 1_000_000

    # Outbound actions: consume triage.actions.v1; dry-run (log and report, call nothing) unless turned off.
    actions_enabled: bool = True
    actions_dry_run: bool = True
    actions_group_id: str = "triage-ingest-actions"
    actions_max_attempts: int = 5
    graph_api_url: str = "https://graph.facebook.com/v23.0"

    # Platform API base URLs (overridden in tests to point at local fakes); shared by pollers and actions.
    x_api_url: str = "https://api.x.com"
    youtube_api_url: str = "https://www.googleapis.com/youtube/v3"
    reddit_api_url: str = "https://oauth.reddit.com"
    reddit_auth_url: str = "https://www.reddit.com/api/v1/access_token"
    # Reddit refuses generic agents: `<platform>:<app id>:<version> (by /u/<user>)`.
    reddit_user_agent: str = "server:triage-ingest:0.1.0 (by /u/triage-moderation)"
    # Google's OAuth token endpoint: YouTube accounts with a refresh token exchange it here for an access token.
    google_token_url: str = "https://oauth2.googleapis.com/token"

    # Pollers (X mentions, YouTube comment threads, Reddit listings): one task per configured account of
    # those platforms; none run when no such account is configured.
    poll_enabled: bool = True
    poll_interval_s: float = 120.0
    poll_backoff_initial_s: float = 5.0
    poll_backoff_max_s: float = 900.0
    poll_page_size: int = Field(default=100, ge=5, le=100)
    # Pages read in one run before the rest is left to the next (the cursor remembers where it stopped).
    poll_max_pages: int = Field(default=10, ge=1)
    # Pages read on an account's very first poll (no cursor yet): how far back to start.
    poll_backfill_pages: int = Field(default=1, ge=1)
    # Cursors and the YouTube quota used today (SQLite), so a restart neither misses nor re-reads.
    poll_state_file: Path = Path(".triage/ingest-poll.sqlite3")
    # YouTube Data API units per day for all channels of this project (1 per commentThreads.list call);
    # the platform resets them at midnight Pacific time.
    poll_youtube_daily_quota: int = Field(default=10_000, ge=1)

    meta_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TRIAGE_META_APP_SECRET", "meta_app_secret")
    )
    meta_verify_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TRIAGE_META_VERIFY_TOKEN", "meta_verify_token")
    )
    linkedin_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TRIAGE_LINKEDIN_CLIENT_SECRET", "linkedin_client_secret"),
    )

    @model_validator(mode="after")
    def _secrets_from_file(self) -> IngestSettings:
        """Fill any platform secret the environment did not set from the secrets file."""
        if self.secrets_file is None:
            return self
        stored = read_secrets_file(self.secrets_file)
        for field, name in SECRET_NAMES.items():
            if getattr(self, field) is None and stored.get(name):
                object.__setattr__(self, field, SecretStr(stored[name]))
        return self

    def secret(self, name: str) -> str | None:
        """A named secret (an account credential): the environment first, then the secrets file."""
        if os.environ.get(name):
            return os.environ[name]
        if self.secrets_file is not None:
            return read_secrets_file(self.secrets_file).get(name)
        return None


def read_secrets_file(path: Path) -> dict[str, str]:
    """The NAME -> value mapping in a YAML or JSON secrets file."""
    text = path.read_text(encoding="utf-8")
    data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"secrets file {path} must hold a mapping of names to values")
    return {str(k): str(v) for k, v in data.items() if v is not None}


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()


def demo_file() -> Path:
    """The bundled demo: realistic comments on a hospital's accounts."""
    return Path(__file__).parent / "demo" / "comments.jsonl"
