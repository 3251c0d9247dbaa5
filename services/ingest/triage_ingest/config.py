"""Ingest settings, from `TRIAGE_INGEST_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_INGEST_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8001
    # Replayed once at start (the demo under `triage run`); empty for none.
    replay_file: Path | None = None
    replay_rate: float = 20.0
    # The account replayed comments are attributed to when a line names none.
    default_account_id: str = "demo-health"
    default_account_handle: str = "@demohealth"


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()


def demo_file() -> Path:
    """The bundled demo: realistic comments on a hospital's accounts."""
    return Path(__file__).parent / "demo" / "comments.jsonl"
