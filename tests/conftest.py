"""Shared test set-up: every test starts from settings it chose, not from the developer's environment."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.kafka.fixtures"]  # Apache Kafka: kafka_node, kafka_cluster, bus (both brokers)


@pytest.fixture(autouse=True)
def _no_triage_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("TRIAGE_", "CALF_TANSU")) and name != "CALF_TANSU_BIN":
            monkeypatch.delenv(name)
