"""Faults on a three-node Apache Kafka cluster (each node broker and controller; the product's topics and the
classifier's own with replication factor 3 and min.insync.replicas 2), each during a burst of comments through
replay -> classifier (Faust, rules mode) -> API -> PostgreSQL: a partition leader killed with SIGKILL, a broker
restarted, the active controller killed, a broker paused (SIGSTOP) for longer than its session with the
controller. Each ends with every flaggable comment stored as exactly one flag, no benign one flagged, and every
urgent comment alerted. The time the flow of flags into the database stopped, and the time until it ran again,
is printed and appended to `test-results/kafka-recovery.txt`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from triage_bench.kafka_launcher import ROOT, KafkaCluster
from triage_events import COMMENTS

from tests.builders import unique
from tests.integration.conftest import POSTGRES_URL
from tests.integration.faults import CERTAIN, CuttableProxy, write_comments
from tests.integration.helpers import eventually
from tests.integration.test_fault_pipeline import FaultStack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

BURST = 300  # comments per fault test, at RATE a second
RATE = 100.0
RESULTS = ROOT / "test-results"  # git-ignored; kept after the run, unlike pytest's rotated temporary folders
URGENT_TEXT = next(text for text, label in CERTAIN if label == "urgent")


@dataclass
class FlowMonitor:
    """Samples how many flag rows an account has, four times a second, to time the pause a fault causes."""

    stack: FaultStack
    account: str
    samples: list[tuple[float, int]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            count = sum((await asyncio.to_thread(self.stack.rows_per_key, self.account)).values())
            self.samples.append((time.monotonic(), count))
            await asyncio.sleep(0.25)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def report(self, fault_at: float, done_at: float) -> dict[str, float]:
        """`paused_s`: the longest stretch after the fault with no new flag row while the burst was not yet
        stored; `flowing_again_s`: from the fault to the end of that stretch; `all_stored_s`: from the fault
        to the last row."""
        rises = [t for (_, before), (t, n) in itertools.pairwise(self.samples) if n > before]
        after = [t for t in rises if t >= fault_at]
        points = [fault_at, *after]
        gaps = [(b - a, b) for a, b in itertools.pairwise(points)]
        paused, resumed = max(gaps, default=(0.0, fault_at))
        last = after[-1] if after else fault_at
        return {
            "paused_s": round(paused, 1),
            "flowing_again_s": round(resumed - fault_at, 1),
            "all_stored_s": round(min(last, done_at) - fault_at, 1),
        }


@pytest.fixture(scope="module")
def stack(kafka_cluster: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """The API and a classifier worker on the three-node cluster, the API's database in PostgreSQL."""
    proxy = CuttableProxy("127.0.0.1", 5432)  # FaultStack's; these tests never cut it
    try:
        with running_stack(
            kafka_cluster, proxy, tmp_path_factory.mktemp("kafka-faults"), POSTGRES_URL, "kfault"
        ) as fault_stack:
            yield fault_stack
    finally:
        proxy.close()
        print(kafka_cluster.describe())


def urgent_alerts(stack: FaultStack, account: str) -> dict[str, int]:
    """Urgent-comment alerts per comment id of the account."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        rows = connection.execute(
            f"SELECT comment_keys FROM {stack.schema}.alerts WHERE kind = 'urgent_comment' AND account_id = %s",
            (account,),
        ).fetchall()
    counts: dict[str, int] = {}
    for (keys,) in rows:
        comment_id = keys[0].rsplit(":", 1)[1]
        counts[comment_id] = counts.get(comment_id, 0) + 1
    return counts


@contextlib.asynccontextmanager
async def burst_with_fault(
    stack: FaultStack, cluster: KafkaCluster, name: str, prefix: str
) -> AsyncIterator[dict[str, float]]:
    """A burst of BURST comments; the body injects the fault (and sets `fault_at`) while it runs. Afterwards:
    exactly one flag per flaggable comment, none for a benign one, an alert per urgent one; the recovery
    timings recorded."""
    account = unique(f"acct-{prefix}")
    path = stack.work / f"{account}.jsonl"
    flagged, benign = write_comments(path, prefix, BURST)
    urgent = [f"{prefix}-{i}" for i in range(BURST) if CERTAIN[i % len(CERTAIN)][0] == URGENT_TEXT]
    monitor = FlowMonitor(stack, account)
    monitor.start()
    timing: dict[str, float] = {}
    try:
        async with stack.replaying(path, account, rate=RATE):
            await asyncio.sleep(1.5)  # about 150 comments published, the pipeline busy with them
            yield timing
        await stack.assert_exactly_once(account, flagged, benign)
        done_at = time.monotonic()

        async def alerted() -> dict[str, int] | None:
            found = urgent_alerts(stack, account)
            return found if set(found) >= set(urgent) else None

        alerts = await eventually(alerted, 60, "an alert for every urgent comment", every=1.0)
        assert alerts == {comment_id: 1 for comment_id in urgent}
    finally:
        await monitor.stop()
    report = monitor.report(timing["fault_at"], done_at)
    line = (
        f"{name}: node {int(timing['node'])}; flags paused {report['paused_s']} s, flowing again "
        f"{report['flowing_again_s']} s after the fault, burst of {BURST} stored {report['all_stored_s']} s "
        "after it; 0 lost, 0 duplicated flags and urgent alerts"
    )
    print(line)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "kafka-recovery.txt").open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    await cluster_healthy(cluster)


async def cluster_healthy(cluster: KafkaCluster, timeout: float = 120.0) -> None:
    """Every node back, and every partition of the product's topics with all three replicas in sync."""
    for node in cluster.nodes:
        if node.paused:
            node.resume()
        if not node.alive():
            cluster.start_node(node.node_id)

    async def in_sync() -> bool:
        if not await cluster.brokers_up(len(cluster.nodes)):
            return False
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, request_timeout_ms=5000)
        try:
            await admin.start()
            described = await admin.describe_topics([COMMENTS.name, "triage.flags.v1", "triage.alerts.v1"])
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        return all(len(p["isr"]) == 3 for t in described for p in t["partitions"])

    await eventually(in_sync, timeout, "the cluster to be whole again", every=1.0)


async def test_the_classifier_s_own_topics_are_replicated_and_kept_as_configured(
    stack: FaultStack, kafka_cluster: KafkaCluster
) -> None:
    """Faust's changelogs and internal topics, created by the worker before it starts: RF 3, min ISR 2,
    changelogs compacted, internal topics deleted after the retention."""
    app_id = stack.classifier_app_id
    names = {
        f"{app_id}-author_to_hostility-changelog": "compact",
        f"{app_id}-account_label_to_surge-changelog": "compact",
        f"{app_id}-author-verdicts": "delete",
        f"{app_id}-account-labels": "delete",
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    assert {t["topic"]: {len(p["replicas"]) for p in t["partitions"]} for t in described} == {
        name: {3} for name in names
    }
    configs = {r[3]: {e[0]: e[1] for e in r[4]} for response in responses for r in response.resources}
    for name, policy in names.items():
        assert configs[name]["cleanup.policy"] == policy, name
        assert configs[name]["min.insync.replicas"] == "2", name


async def test_partition_leader_killed_with_sigkill(stack: FaultStack, kafka_cluster: KafkaCluster) -> None:
    async with burst_with_fault(stack, kafka_cluster, "kill -9 of a partition leader", "kl") as timing:
        leader = await kafka_cluster.leader_of(COMMENTS.name, 0)
        timing["node"], timing["fault_at"] = leader, time.monotonic()
        kafka_cluster.node(leader).kill()


async def test_broker_restarted(stack: FaultStack, kafka_cluster: KafkaCluster) -> None:
    async with burst_with_fault(stack, kafka_cluster, "a broker restarted (SIGTERM, start)", "br") as timing:
        leader = await kafka_cluster.leader_of(COMMENTS.name, 1)
        timing["node"], timing["fault_at"] = leader, time.monotonic()
        await asyncio.to_thread(kafka_cluster.restart, leader)


async def test_active_controller_killed(stack: FaultStack, kafka_cluster: KafkaCluster) -> None:
    async with burst_with_fault(
        stack, kafka_cluster, "the active controller killed (kill -9)", "ac"
    ) as timing:
        controller = kafka_cluster.active_controller()
        timing["node"], timing["fault_at"] = controller, time.monotonic()
        kafka_cluster.node(controller).kill()


async def test_broker_paused_longer_than_its_session(stack: FaultStack, kafka_cluster: KafkaCluster) -> None:
    """SIGSTOP for 12 s, twice the broker's session with the controller (6 s): it is fenced, its partitions
    move, and clients waiting on it time out; then SIGCONT and it catches up."""
    async with burst_with_fault(stack, kafka_cluster, "a broker paused 12 s (SIGSTOP)", "ps") as timing:
        leader = await kafka_cluster.leader_of(COMMENTS.name, 2)
        timing["node"], timing["fault_at"] = leader, time.monotonic()
        node = kafka_cluster.node(leader)
        node.pause()
        await asyncio.sleep(12)
        node.resume()
