"""Pytest fixtures for Apache Kafka (loaded for the whole suite by tests/conftest.py): a single node shared by
the session, a three-node cluster per test module, and `bus`, which runs a test on the embedded broker and on
Kafka. Every test that touches Kafka carries the `kafka` marker (`make test-kafka` runs those); the jars are
fetched before the first of them. Starting and stopping Kafka is `triage_bench.kafka_launcher`, which
`triage bench pipeline --broker kafka` uses too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import pytest
from triage_bench.kafka_launcher import KafkaCluster, fetch_jars
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile

Bus: TypeAlias = EmbeddedBroker | KafkaCluster


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The jars from Maven Central before the first test on Kafka (a no-op once they are cached)."""
    if item.get_closest_marker("kafka") is not None:
        fetch_jars()


def _started(cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    print(f"kafka logs: {cluster.folder}")  # shown with a failing test's output
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        print(f"kafka logs kept in {cluster.folder}")


@pytest.fixture(scope="session")
def kafka_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One Apache Kafka node (broker and controller) for the session, the product's topics created.
    Topics and groups outlive a test on it: use unique group ids and assert on your own messages."""
    yield from _started(KafkaCluster(tmp_path_factory.mktemp("kafka-node"), size=1))


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three Kafka nodes, each broker and controller; the product's topics with replication factor 3 and
    min.insync.replicas 2. One per module: fault tests leave it in states of their own."""
    yield from _started(KafkaCluster(tmp_path_factory.mktemp("kafka-cluster"), size=3))


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def fresh_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """A broker of this test's own, empty: the embedded one, then a Kafka node (a few seconds to start)."""
    if request.param == "embedded":
        embedded = EmbeddedBroker().start()
        try:
            yield embedded
        finally:
            embedded.stop()
        return
    yield from _started(KafkaCluster(tmp_path / "kafka", size=1))


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus(request: pytest.FixtureRequest) -> Bus:
    """The session's embedded broker, then the session's Kafka node: the same test on both."""
    name = "broker" if request.param == "embedded" else "kafka_node"
    found: Bus = request.getfixturevalue(name)
    return found


def bus_env(bus: Bus) -> dict[str, str]:
    """The TRIAGE_KAFKA_* settings of a service on this broker (on Kafka, topics replicated to fit it)."""
    env = {"TRIAGE_KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers, "TRIAGE_KAFKA_PROFILE": bus.profile}
    if isinstance(bus, KafkaCluster):
        env["TRIAGE_KAFKA_REPLICATION_FACTOR"] = str(bus.policy.replication_factor)
        env["TRIAGE_KAFKA_MIN_INSYNC_REPLICAS"] = str(bus.policy.min_insync_replicas)
    return env


def bus_profile(bus: Bus) -> BrokerProfile:
    """The broker profile an in-process service uses on this broker."""
    policy = bus.policy if isinstance(bus, KafkaCluster) else None
    return BrokerProfile(
        bus.bootstrap_servers,
        embedded=bus.profile == "embedded",
        replication_factor=policy.replication_factor if policy else None,
        min_insync_replicas=policy.min_insync_replicas if policy else None,
    )
