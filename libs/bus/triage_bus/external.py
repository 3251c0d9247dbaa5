"""An Apache Kafka cluster that runs elsewhere (`triage run --kafka HOST:PORT`): nothing to start or stop, only
its topics to make sure of, replicated to fit the cluster."""

from __future__ import annotations

import asyncio
import logging
import os

from aiokafka.admin import AIOKafkaAdminClient
from triage_events.topics import ALL_TOPICS, Topic

from triage_bus.admin import TopicPolicy, create_topics, in_sync_for, wait_until_ready
from triage_bus.embedded import BrokerError

log = logging.getLogger(__name__)


class ExternalKafka:
    """The same face as `EmbeddedBroker` for the supervisor: `start` waits for the cluster and creates missing
    topics, `stop` leaves it running, `service_env` is what the services need to use it."""

    profile = "kafka"
    pid: int | None = None

    def __init__(self, bootstrap_servers: str, topics: tuple[Topic, ...] = ALL_TOPICS) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.policy: TopicPolicy | None = None

    def start(self, timeout: float = 60.0) -> ExternalKafka:
        self.policy = asyncio.run(self._ready(timeout))
        log.info(
            "kafka ready bootstrap=%s replication_factor=%s min_insync_replicas=%s",
            self.bootstrap_servers,
            self.policy.replication_factor,
            self.policy.min_insync_replicas,
        )
        return self

    async def _ready(self, timeout: float) -> TopicPolicy:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await wait_until_ready(self.bootstrap_servers, timeout=2.0):
            if asyncio.get_running_loop().time() > deadline:
                raise BrokerError(
                    f"no Kafka broker answered at {self.bootstrap_servers} within {timeout:.0f} s"
                )
            await asyncio.sleep(1.0)
        policy = fitted_policy(await broker_count(self.bootstrap_servers))
        await create_topics(self.bootstrap_servers, self.topics, policy)
        return policy

    def stop(self) -> None:
        """The cluster is not ours to stop."""

    def service_env(self) -> dict[str, str]:
        policy = self.policy or fitted_policy(1)
        return {
            "TRIAGE_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "TRIAGE_KAFKA_PROFILE": self.profile,
            "TRIAGE_KAFKA_REPLICATION_FACTOR": str(policy.replication_factor),
            "TRIAGE_KAFKA_MIN_INSYNC_REPLICAS": str(policy.min_insync_replicas),
        }


def fitted_policy(brokers: int) -> TopicPolicy:
    """TRIAGE_KAFKA_REPLICATION_FACTOR / _MIN_INSYNC_REPLICAS when set, else three copies (two in sync) or as
    many as there are brokers: a development cluster of one broker works as it is."""
    replication = int(os.environ.get("TRIAGE_KAFKA_REPLICATION_FACTOR") or min(3, max(1, brokers)))
    in_sync = int(os.environ.get("TRIAGE_KAFKA_MIN_INSYNC_REPLICAS") or in_sync_for(replication))
    return TopicPolicy(replication, in_sync)


async def broker_count(bootstrap_servers: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return len((await admin.describe_cluster())["brokers"])
    finally:
        await admin.close()
