"""API settings, from `TRIAGE_API_*` environment variables (and `TRIAGE_BOOTSTRAP_ADMIN_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    # populate_by_name: `ApiSettings(bootstrap_admin_token=...)` works too; without it the aliased fields
    # silently ignore their own names (extra="ignore").
    model_config = SettingsConfigDict(env_prefix="TRIAGE_API_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///.triage/triage.db"
    consumer_enabled: bool = True
    consumer_group: str = "triage-api"
    session_hours: int = 12
    secure_cookies: bool = False  # true behind HTTPS in production
    accounts_file: Path | None = None  # per-account reply settings; the bundled example when unset
    routing_file: Path | None = None  # routing rules and teams; the bundled example when unset
    retention_days: int = 90  # comment text is purged this long after the flag; 0 keeps it forever
    claim_minutes: int = 15  # how long a moderator's claim on a flag holds without renewal
    bootstrap_admin_username: str = Field(
        "admin",
        validation_alias=AliasChoices(
            "TRIAGE_BOOTSTRAP_ADMIN_USERNAME", "TRIAGE_API_BOOTSTRAP_ADMIN_USERNAME"
        ),
    )
    bootstrap_admin_password: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "TRIAGE_BOOTSTRAP_ADMIN_PASSWORD", "TRIAGE_API_BOOTSTRAP_ADMIN_PASSWORD"
        ),
    )
    bootstrap_admin_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TRIAGE_BOOTSTRAP_ADMIN_TOKEN", "TRIAGE_API_BOOTSTRAP_ADMIN_TOKEN"),
    )

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        return Path(self.database_url[len(prefix) :]) if self.database_url.startswith(prefix) else None


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
