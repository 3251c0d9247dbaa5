"""Integration fixtures: the embedded broker, a fresh database (SQLite or PostgreSQL) per test, and the real
classifier loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from triage_bench.databases import postgres_schema
from triage_bus.embedded import EmbeddedBroker

if TYPE_CHECKING:
    from triage_classifier.hybrid import HybridClassifier

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded broker (memory storage, free port) for the session. Topics and consumer groups outlive
    a test on it: use unique group ids, and assert on your own messages only."""
    embedded = EmbeddedBroker().start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own (it starts in a fraction of a second), for tests that need empty topics."""
    embedded = EmbeddedBroker().start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def hybrid_classifier() -> HybridClassifier:
    """The production classifier from the bundled artefact (MiniLM loaded offline), loaded once a session."""
    from triage_classifier.hybrid import HybridClassifier  # torch is imported only by the tests that need it

    return HybridClassifier.load()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'triage.db'}"
        return
    with postgres_schema(POSTGRES_URL, "t") as url:
        yield url
