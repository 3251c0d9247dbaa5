"""`triage topics create` on Apache Kafka: on three brokers by default every topic is replicated three times
with min.insync.replicas 2 and its own retention and cleanup policy; on one broker the defaults are refused
with a clear message and `--single-node` is what works."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError
from triage_bench.kafka_launcher import KafkaCluster
from triage_bus.admin import SINGLE_NODE, TopicPolicy, create_topics
from triage_events import ALL_TOPICS, COMMENTS, DLQ, Topic

from tests.builders import unique
from tests.integration import processes
from tests.integration.helpers import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kafka]


@pytest.fixture(scope="module")
def bare_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three nodes and no topics yet."""
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-bare"), size=3, topics=())
    print(f"kafka logs: {cluster.folder}")
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def topics_create(servers: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage_cli", "topics", "create", "--bootstrap-servers", servers, *options],
        env=processes.service_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def describe(servers: str, names: list[str]) -> tuple[dict[str, list[int]], dict[str, dict[str, str]]]:
    """Replica counts per partition, and the topic-level configs, of each named topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    replicas = {t["topic"]: [len(p["replicas"]) for p in t["partitions"]] for t in described}
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            configs[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    return replicas, configs


async def test_topics_on_three_brokers_are_replicated_three_times_with_their_policies(
    bare_cluster: KafkaCluster,
) -> None:
    result = topics_create(bare_cluster.bootstrap_servers)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replication factor 3, min.insync.replicas 2" in result.stdout

    replicas, configs = await describe(bare_cluster.bootstrap_servers, [t.name for t in ALL_TOPICS])

    for topic in ALL_TOPICS:
        assert replicas[topic.name] == [3] * topic.partitions, topic.name
        assert configs[topic.name]["min.insync.replicas"] == "2", topic.name
        assert configs[topic.name]["cleanup.policy"] == topic.cleanup_policy, topic.name
        assert configs[topic.name]["retention.ms"] == str(topic.retention_ms), topic.name
    assert configs[COMMENTS.name]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert configs[DLQ.name]["retention.ms"] == str(14 * 24 * 3600 * 1000)

    again = topics_create(bare_cluster.bootstrap_servers)  # existing topics are left as they are
    assert again.returncode == 0, again.stderr[-3000:]


async def test_one_broker_refuses_the_production_defaults_and_takes_single_node(
    kafka_node: KafkaCluster,
) -> None:
    topic = Topic(unique("test.policy"), 2, key="none", retention_ms=3_600_000)

    with pytest.raises(InvalidReplicationFactorError, match=topic.name):
        await create_topics(kafka_node.bootstrap_servers, (topic,), TopicPolicy())  # 3 copies, 1 broker

    await create_topics(kafka_node.bootstrap_servers, (topic,), SINGLE_NODE)

    async def described() -> tuple[dict[str, list[int]], dict[str, dict[str, str]]] | None:
        found = await describe(kafka_node.bootstrap_servers, [topic.name])
        return found if found[0][topic.name] else None  # a new topic's partitions reach metadata shortly

    replicas, configs = await eventually(described, 10, "the new topic's partitions")
    assert replicas[topic.name] == [1, 1]
    assert (configs[topic.name]["min.insync.replicas"], configs[topic.name]["retention.ms"]) == (
        "1",
        "3600000",
    )

    single = topics_create(kafka_node.bootstrap_servers, "--single-node")
    assert single.returncode == 0, single.stderr[-3000:]
    assert "replication factor 1, min.insync.replicas 1" in single.stdout


def test_min_insync_replicas_above_the_replication_factor_is_refused_before_any_broker_is_asked() -> None:
    result = topics_create("127.0.0.1:1", "--replication-factor", "2", "--min-insync-replicas", "3")
    assert result.returncode == 2
    assert "cannot exceed the replication factor" in result.stderr
