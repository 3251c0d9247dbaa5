"""Where the bus is and what kind of broker it is. Every service reads these from `TRIAGE_KAFKA_*`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    # "embedded": the Tansu broker started by `triage run` / `triage broker` (no idempotence, short
    # fetch waits, short sessions). "kafka": real Apache Kafka (idempotent producer, library defaults).
    profile: Literal["embedded", "kafka"] = "embedded"
    client_id: str = "triage"
    # Copies of each partition of the topics a service creates itself (the classifier's internal topics and
    # table changelogs), and how many must hold a record before it is acknowledged. Unset: 3 and 2 on Kafka
    # (a three-broker cluster), 1 and 1 on the embedded broker. A single Kafka broker (development) takes 1/1.
    replication_factor: int | None = Field(default=None, ge=1)
    min_insync_replicas: int | None = Field(default=None, ge=1)


@lru_cache
def get_bus_settings() -> BusSettings:
    return BusSettings()
