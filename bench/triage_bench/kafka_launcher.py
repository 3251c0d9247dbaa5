"""Apache Kafka (KRaft) on this machine, for the tests and `triage bench`: one node or a cluster, each node
broker and controller at once, started with `java -cp '<cache>/*' kafka.Kafka` after its storage is formatted.
Free ports, small heaps, logs and data in a folder the caller owns, and every process stopped (SIGTERM, then
SIGKILL) whatever happened.

The jars come from Maven Central through `tests/kafka/fetch.sh` into `.cache/kafka/<version>/` (or the folder
named by `TRIAGE_KAFKA_JARS`). The tests' fixtures fetch them when missing; the bench asks for them instead."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from triage_bus.admin import TopicPolicy, create_topics, wait_until_ready
from triage_bus.embedded import free_port
from triage_events.topics import ALL_TOPICS, Topic

KAFKA_VERSION = "4.4.0"
# The checkout this module sits in (an editable install): where `.cache/kafka` and `tests/kafka/fetch.sh` are.
ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = ROOT / "tests" / "kafka" / "fetch.sh"
LOG_CONFIG = Path(__file__).resolve().with_name("kafka_log4j2.yaml")
HEAP = os.environ.get("TRIAGE_TEST_KAFKA_HEAP", "-Xmx320m")
# Small, quick JVMs on a 2-core machine shared with the services under test: serial GC, C1 only.
JVM_OPTIONS = [HEAP, "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]


class KafkaError(RuntimeError):
    """A local broker could not be fetched, formatted, started or reached."""


def jars_folder() -> Path:
    """Where Kafka's jars are: `TRIAGE_KAFKA_JARS`, else `.cache/kafka/<version>` in this checkout."""
    configured = os.environ.get("TRIAGE_KAFKA_JARS")
    return Path(configured) if configured else ROOT / ".cache" / "kafka" / KAFKA_VERSION


def fetch_jars() -> None:
    """Run `tests/kafka/fetch.sh` (Maven Central; Java 17 and Maven) unless the cache is complete."""
    if (jars_folder() / ".complete").exists():
        return
    result = subprocess.run(
        ["bash", str(FETCH_SCRIPT)],
        capture_output=True,
        text=True,
        env={**os.environ, "KAFKA_VERSION": KAFKA_VERSION},
        timeout=600,
    )
    if result.returncode != 0:
        raise KafkaError(f"tests/kafka/fetch.sh failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


def kafka_classpath() -> str:
    """The jars' class path; a clear error if they are not there (fetching is the caller's choice)."""
    folder = jars_folder()
    if not (folder / ".complete").exists():
        raise KafkaError(
            f"Apache Kafka {KAFKA_VERSION} is not in {folder}: run `bash tests/kafka/fetch.sh` first "
            "(it fetches the jars from Maven Central; Java 17 and Maven needed)"
        )
    return f"{folder}/*"


def random_cluster_id() -> str:
    """A cluster id as Kafka makes one: 16 random bytes, URL-safe base64 without padding, never starting with
    "-" (the storage tool would read it as an option; a test failed on one)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not found.startswith("-"):
            return found


@dataclass
class KafkaNode:
    """One `kafka.Kafka` process with the roles broker and controller."""

    node_id: int
    port: int
    controller_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.folder / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.folder / "kafka.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def write_config(self, voters: str, replication: int, overrides: dict[str, str]) -> None:
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.folder / "data"),
            # As in production: topics are created on purpose, with their replication and policies.
            "auto.create.topics.enable": "false",
            "default.replication.factor": str(replication),
            "min.insync.replicas": str(min(2, replication)),
            "offsets.topic.replication.factor": str(replication),
            "transaction.state.log.replication.factor": str(replication),
            "transaction.state.log.min.isr": str(min(2, replication)),
            # Fewer internal partitions and threads than the defaults: quicker start on a 2-core machine.
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.num.partitions": "6",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.replica.fetchers": "1",
            "log.cleaner.threads": "1",
            # A dead broker is noticed after 6 s instead of 9 s (the fault tests measure recovery).
            "broker.session.timeout.ms": "6000",
            "broker.heartbeat.interval.ms": "1000",
        }
        settings.update(overrides)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def format_command(self, classpath: str, cluster_id: str) -> list[str]:
        return [
            "java",
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={LOG_CONFIG}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.config_path),
            "--ignore-formatted",
        ]

    def start(self, classpath: str) -> None:
        """Start (or restart, on its existing data) this node's JVM, logging to `kafka.log`."""
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    "java",
                    *JVM_OPTIONS,
                    f"-Dlog4j2.configurationFile={LOG_CONFIG}",
                    f"-Dkafka.logs.dir={self.folder}",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(self.config_path),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.paused = False

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """kill -9: no controlled shutdown, nothing flushed."""
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)
        self.paused = False

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a controlled shutdown), then SIGKILL after `timeout` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            self.signal(signal.SIGCONT)
            self.paused = False
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(30)

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class KafkaCluster:
    """`size` nodes, each broker and controller (a KRaft quorum of all of them). Topics of the product are
    created with replication min(size, 3) and min.insync.replicas min(size, 2) once the brokers are up."""

    folder: Path
    size: int = 1
    topics: tuple[Topic, ...] = ALL_TOPICS
    overrides: dict[str, str] = field(default_factory=dict)
    nodes: list[KafkaNode] = field(default_factory=list)
    cluster_id: str = field(default_factory=random_cluster_id)
    profile: str = "kafka"  # the TRIAGE_KAFKA_PROFILE of services that use it
    port: int | None = None  # the first node's client port (a test that knows the address before the start)

    @property
    def replication(self) -> int:
        return min(3, self.size)

    @property
    def policy(self) -> TopicPolicy:
        return TopicPolicy(replication_factor=self.replication, min_insync_replicas=min(2, self.replication))

    @property
    def bootstrap_servers(self) -> str:
        if not self.nodes and self.port is not None:
            return f"127.0.0.1:{self.port}"
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start(self, timeout: float = 120.0) -> KafkaCluster:
        classpath = kafka_classpath()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.nodes = [
            KafkaNode(i, free_port(), free_port(), self.folder / f"node-{i}") for i in range(1, self.size + 1)
        ]
        if self.port is not None:
            self.nodes[0].port = self.port
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        for node in self.nodes:
            node.write_config(voters, self.replication, self.overrides)
        try:
            self._format(classpath)
            for node in self.nodes:
                node.start(classpath)
            asyncio.run(self._ready(timeout))
        except BaseException:
            self.stop()
            raise
        return self

    def _format(self, classpath: str) -> None:
        formatting = [
            (
                node,
                subprocess.Popen(
                    node.format_command(classpath, self.cluster_id),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                ),
            )
            for node in self.nodes
        ]
        for node, process in formatting:
            output, _ = process.communicate(timeout=120)
            (node.folder / "format.log").write_bytes(output)
            if process.returncode != 0:
                raise KafkaError(f"formatting node {node.node_id} failed:\n{output.decode(errors='replace')}")

    async def _ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not await self.brokers_up(len(self.nodes)):
            dead = [n for n in self.nodes if not n.alive()]
            if dead or time.monotonic() > deadline:
                raise KafkaError(f"Kafka did not start ({self.bootstrap_servers})\n{self.describe()}")
            await asyncio.sleep(0.5)
        await create_topics(self.bootstrap_servers, self.topics, self.policy)

    async def brokers_up(self, count: int) -> bool:
        """True when the cluster answers and lists `count` brokers."""
        if not await wait_until_ready(self.bootstrap_servers, timeout=2.0):
            return False
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000)
        try:
            await admin.start()
            described = await admin.describe_cluster()
            return len(described["brokers"]) >= count
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def leader_of(self, topic: str, partition: int) -> int:
        """The node id leading a partition, as the cluster's metadata says now."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._alive_servers(), request_timeout_ms=5000)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
        finally:
            await admin.close()
        [found] = [p for p in described["partitions"] if p["partition"] == partition]
        return int(found["leader"])

    def active_controller(self) -> int:
        """The node whose controller became active last (the newest epoch among the living)."""
        newest: tuple[int, int] | None = None
        for node in self.nodes:
            if not node.alive() or node.paused:
                continue
            for match in _ACTIVE_CONTROLLER.finditer(node.log_path.read_text(errors="replace")):
                epoch = int(match.group(1))
                if newest is None or epoch > newest[0]:
                    newest = (epoch, node.node_id)
        if newest is None:
            raise KafkaError(f"no active controller in the logs\n{self.describe()}")
        return newest[1]

    def restart(self, node_id: int) -> None:
        node = self.node(node_id)
        node.stop()
        node.start(kafka_classpath())

    def start_node(self, node_id: int) -> None:
        self.node(node_id).start(kafka_classpath())

    def _alive_servers(self) -> str:
        return ",".join(n.address for n in self.nodes if n.alive() and not n.paused) or self.bootstrap_servers

    def stop(self) -> None:
        """Every node: SIGTERM together, SIGKILL what is left after 8 s (with every controller going, a
        broker's controlled shutdown can wait for a controller that is gone; the data is thrown away)."""
        for node in self.nodes:
            if node.paused:
                node.resume()
            node.signal(signal.SIGTERM)
        deadline = time.monotonic() + 8
        for node in self.nodes:
            if node.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(max(0.1, deadline - time.monotonic()))
        for node in self.nodes:
            if node.alive():
                node.kill()

    def describe(self) -> str:
        """Where the logs are, and their tails, for failure messages."""
        return "\n".join(
            f"--- kafka node {n.node_id} (exit code {n.process.poll() if n.process else None}) {n.log_path}\n"
            f"{n.log_tail()}"
            for n in self.nodes
        )

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_ACTIVE_CONTROLLER = re.compile(r"Becoming the active controller at epoch (\d+)")
