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
    # Request bodies over this many bytes are refused (413) before they are read, authentication included.
    max_body_bytes: int = Field(1_048_576, ge=1024)
    accounts_file: Path | None = None  # per-account reply settings; the bundled example when unset
    routing_file: Path | None = None  # routing rules and teams; the bundled example when unset
    retention_days: int = 90  # comment text is purged this long after the flag; 0 keeps it forever
    # Every judged comment (All comments) is deleted this long after it was judged; 0 keeps them forever.
    comments_retention_days: int = Field(30, ge=0)
    claim_minutes: int = 15  # how long a moderator's claim on a flag holds without renewal
    # Response targets by severity (seconds): a flag is due this long after it was flagged (or after its clock
    # restarted). The one source for the due times stored on flags (`Flag.sla_due_at`), the first-action
    # breach counter and the analytics page.
    sla_critical_s: float = Field(300.0, gt=0)
    sla_high_s: float = Field(1800.0, gt=0)
    sla_medium_s: float = Field(4 * 3600.0, gt=0)
    sla_low_s: float = Field(24 * 3600.0, gt=0)
    # Transactional outbox for ActionRequested: how long a request waits for its own publish before it answers
    # 202 anyway (the relay keeps retrying), the relay's poll interval, and its retry backoff bounds.
    outbox_publish_wait_seconds: float = 5.0
    outbox_poll_seconds: float = 2.0
    outbox_retry_base_seconds: float = 0.5
    outbox_retry_max_seconds: float = 30.0
    # OIDC sign-in (authorization code + PKCE), off unless an issuer and a client id are set. The client
    # secret comes from TRIAGE_API_OIDC_CLIENT_SECRET or a mounted secrets file, never from code. Accounts are
    # linked or created by e-mail. Who may sign in: an e-mail in an allowed domain, or claims that match a
    # role mapping (JSON in the environment: {"groups=triage-leads": "lead"}); at least one must be set.
    # The role of a new account: the highest mapped role whose claim matches, else `oidc_default_role`.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None
    oidc_redirect_url: str | None = None  # the public callback URL; derived from the request when unset
    oidc_scopes: str = "openid email profile"
    oidc_allowed_domains: list[str] = []
    oidc_role_claims: dict[str, str] = {}
    oidc_default_role: str = "viewer"
    oidc_button_label: str = "Sign in with SSO"
    oidc_http_timeout_seconds: float = 10.0
    oidc_jwks_cache_seconds: int = 3600
    # Sign-in throttling (`staff.throttle`): attempts allowed per window for one account (the username asked
    # for) and for one client address; then a lock of `signin_lockout_seconds`, doubling with each lock in a
    # row up to `signin_lockout_max_seconds`.
    signin_account_failures: int = Field(5, ge=1)
    signin_address_failures: int = Field(50, ge=1)
    signin_window_seconds: float = Field(900.0, gt=0)
    signin_lockout_seconds: float = Field(60.0, gt=0)
    signin_lockout_max_seconds: float = Field(3600.0, gt=0)
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
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def sla_seconds(self) -> dict[str, float]:
        """The response target of each severity, in seconds."""
        return {
            "critical": self.sla_critical_s,
            "high": self.sla_high_s,
            "medium": self.sla_medium_s,
            "low": self.sla_low_s,
        }


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
