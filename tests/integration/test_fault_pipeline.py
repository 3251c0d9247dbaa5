"""Fault tests through the real parts: the embedded broker, PostgreSQL (reached through a proxy the test can
cut), and the services as `python -m triage_cli` processes (classifier in `rules` mode, whose verdicts are
certain). Every test replays its own comments before, during and after a fault and then asserts that each
flaggable comment has exactly one flag row and each benign one none: nothing lost, nothing duplicated.

What the embedded broker (memory storage) cannot survive is a restart of the broker itself: topics, records,
consumer groups and committed offsets are gone with the process, and consumers that stay up keep positions
past the new, empty partitions (a running classifier silently skipped comments published after the restart).
That case is tested for what it can prove: with the consumers restarted too, later comments flow and earlier
flags are neither lost from nor duplicated in the database. The durability of the broker's own data belongs to
Apache Kafka in production; comments in flight on the embedded broker at the moment of a restart are lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
import pytest
from triage_bus.embedded import EmbeddedBroker, free_port
from triage_events import COMMENTS, FLAGS, FlagRaised, decode

from tests.builders import unique
from tests.integration import processes
from tests.integration.conftest import POSTGRES_URL
from tests.integration.faults import CuttableProxy, write_comments
from tests.integration.helpers import committed_total, eventually, read_all
from tests.kafka.fixtures import Bus, bus_env

pytestmark = pytest.mark.integration

TOKEN = "fault-token-41d2b7c9e0"
# A restarted Faust worker rejoins its group (twice half the session timeout), then drains.
FLOW_TIMEOUT = 120.0
# How long PostgreSQL stays unreachable in the outage test.
OUTAGE_S = 30.0


@dataclass
class FaultStack:
    broker: Bus
    proxy: CuttableProxy
    schema: str
    env: dict[str, str]
    work: Path
    api_port: int
    classifier_app_id: str
    api_group: str
    children: dict[str, processes.Child] = field(default_factory=dict)
    retired: list[processes.Child] = field(default_factory=list)

    # --- processes -------------------------------------------------------------------------------------
    def start(self, name: str, command: str, **extra: str) -> processes.Child:
        env = {**self.env, **extra}
        child = processes.start(f"{name}-{len(self.retired)}", [command], env, self.work / "logs")
        self.children[name] = child
        return child

    def start_classifier(self, name: str = "classifier") -> processes.Child:
        return self.start(
            name,
            "classifier",
            TRIAGE_CLASSIFIER_DATA_DIR=str(self.work / name),
            TRIAGE_CLASSIFIER_WEB_PORT=str(free_port()),
        )

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        child = self.children.pop(name)
        os.killpg(child.process.pid, signum)
        child.process.wait(30)
        self.retired.append(child)

    def all_children(self) -> list[processes.Child]:
        return [*self.children.values(), *self.retired]

    def check_alive(self) -> None:
        dead = [c for c in self.children.values() if not c.alive()]
        assert not dead, processes.describe(dead)

    async def api_ready(self) -> None:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"http://127.0.0.1:{self.api_port}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, 60, "the API to be ready", every=0.3)

    # --- replay ----------------------------------------------------------------------------------------
    def replay_command(self, path: Path, account: str, rate: float | None = None) -> list[str]:
        command = [sys.executable, "-m", "triage_cli", "replay", str(path)]
        command += ["--bootstrap-servers", self.broker.bootstrap_servers, "--account-id", account]
        return command + (["--rate", str(rate)] if rate else [])

    def replay(self, path: Path, account: str) -> None:
        result = subprocess.run(
            self.replay_command(path, account), env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-3000:]

    async def replay_stored(self, account: str, prefix: str, count: int) -> tuple[list[str], list[str]]:
        """Replays `count` new comments for the account (ids starting with `prefix`) and waits until each is
        stored exactly once; returns the flaggable ids and the benign ones."""
        path = self.work / f"{account}-{prefix}.jsonl"
        flagged, benign = write_comments(path, prefix, count)
        self.replay(path, account)
        await self.assert_exactly_once(account, flagged, benign)
        return flagged, benign

    def replay_in_background(self, path: Path, account: str, rate: float) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.replay_command(path, account, rate),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @contextlib.asynccontextmanager
    async def replaying(self, path: Path, account: str, rate: float = 100.0) -> AsyncIterator[None]:
        """A replay runs in the background while the body injects its fault; then it must finish cleanly."""
        replay = self.replay_in_background(path, account, rate)
        try:
            yield
            assert replay.wait(60) == 0
        finally:
            if replay.poll() is None:
                replay.kill()
                replay.wait()

    # --- the database, read directly (not through the proxy) --------------------------------------------
    def rows_per_key(self, account: str) -> dict[str, int]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            rows = connection.execute(
                f"SELECT comment_key, count(*) FROM {self.schema}.flags WHERE comment_key LIKE %s "
                "GROUP BY comment_key",
                (f"demo:{account}:%",),
            ).fetchall()
        return {key.rsplit(":", 1)[1]: n for key, n in rows}

    async def drained(self) -> None:
        """Every comment on the topic committed by the classifier group, every flag by the API group."""

        async def caught_up() -> bool:
            servers = self.broker.bootstrap_servers
            comments = len(await read_all(servers, COMMENTS.name, idle=0.3))
            judged = await committed_total(
                servers, self.classifier_app_id, COMMENTS.name, COMMENTS.partitions
            )
            if judged < comments:
                return False
            flags = len(await read_all(servers, FLAGS.name, idle=0.3))
            stored = await committed_total(servers, self.api_group, FLAGS.name, FLAGS.partitions)
            return stored >= flags

        await eventually(caught_up, FLOW_TIMEOUT, "the classifier and the API to catch up", every=1.0)

    async def assert_exactly_once(self, account: str, flagged: list[str], benign: list[str]) -> None:
        async def all_there() -> bool:
            return set(flagged) <= set(self.rows_per_key(account))

        try:
            await eventually(all_there, FLOW_TIMEOUT, f"{len(flagged)} flags for {account}", every=1.0)
            await self.drained()
        except AssertionError:
            rows = self.rows_per_key(account)
            missing = sorted(set(flagged) - set(rows))
            on_bus = {
                decode(FlagRaised, r.value).comment_key.rsplit(":", 1)[1]
                for r in await read_all(self.broker.bootstrap_servers, FLAGS.name, idle=0.3)
            }
            print(
                f"{len(rows)} flag rows; {len(missing)} missing, e.g. {missing[:10]}; "
                f"missing on the flags topic too: {sorted(set(missing) - on_bus)[:10]}"
            )
            print(processes.describe(self.all_children()))
            raise
        rows = self.rows_per_key(account)
        lost = sorted(set(flagged) - set(rows))
        duplicated = sorted(k for k, n in rows.items() if n != 1)
        wrongly_flagged = sorted(set(rows) & set(benign))
        assert (lost, duplicated, wrongly_flagged) == ([], [], [])
        assert len(rows) == len(flagged)
        self.check_alive()


@contextlib.contextmanager
def running_stack(
    broker: Bus, proxy: CuttableProxy, work: Path, database: str, name: str
) -> Iterator[FaultStack]:
    """The API (ready) and a classifier worker (rules mode) on `broker`, storing into a PostgreSQL schema of
    their own at `database`; after the block both are stopped, checked gone, and the schema dropped."""
    schema = f"t_{uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    api_port = free_port()
    app_id, group = unique(f"{name}-classifier"), unique(f"{name}-api")
    env = processes.service_env(
        **bus_env(broker),
        TRIAGE_CLASSIFIER_MODE="rules",
        TRIAGE_CLASSIFIER_APP_ID=app_id,
        TRIAGE_API_CONSUMER_GROUP=group,
        TRIAGE_API_DATABASE_URL=f"{database}?options=-csearch_path%3D{schema}",
        TRIAGE_API_PORT=str(api_port),
        TRIAGE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
        TRIAGE_LOG_LEVEL="INFO",
    )
    fault_stack = FaultStack(broker, proxy, schema, env, work, api_port, app_id, group)
    try:
        fault_stack.start("api", "api")
        fault_stack.start_classifier()
        asyncio.run(fault_stack.api_ready())
        yield fault_stack
    finally:
        processes.stop(fault_stack.all_children())
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        print(processes.describe(fault_stack.all_children()))
    assert all(not c.alive() for c in fault_stack.all_children())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    broker = EmbeddedBroker().start()
    proxy = CuttableProxy("127.0.0.1", 5432)
    brokers: list[Bus] = [broker]  # the broker-restart test replaces the first one
    database = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"  # through the proxy the outage test cuts
    try:
        with running_stack(
            broker, proxy, tmp_path_factory.mktemp("faults"), database, "fault"
        ) as fault_stack:
            yield fault_stack
            brokers.append(fault_stack.broker)
    finally:
        for each in brokers:
            each.stop()
        proxy.close()


async def test_api_killed_while_flags_flow_and_restarted(stack: FaultStack) -> None:
    account = unique("acct-kill-api")
    path = stack.work / f"{account}.jsonl"
    flagged, benign = write_comments(path, "a", 400)
    async with stack.replaying(path, account):
        for _ in range(2):  # twice, at different points of the stream
            await asyncio.sleep(1.5)
            stack.kill("api")
            stack.start("api", "api")
            await stack.api_ready()
    await stack.assert_exactly_once(account, flagged, benign)


async def test_database_unavailable_the_consumer_waits_commits_nothing_and_resumes(stack: FaultStack) -> None:
    account = unique("acct-db-outage")
    flagged, benign = await stack.replay_stored(account, "d0", 50)

    during = stack.work / f"{account}-during.jsonl"
    servers = stack.broker.bootstrap_servers
    committed_before = await committed_total(servers, stack.api_group, FLAGS.name, FLAGS.partitions)
    stack.proxy.cut()
    cut_at = time.monotonic()
    try:
        flagged2, benign2 = write_comments(during, "d1", 100)
        stack.replay(during, account)

        async def flags_waiting() -> bool:  # the classifier keeps going: the flags are on the bus
            return len(await read_all(servers, FLAGS.name, idle=0.3)) > committed_before + 10

        await eventually(flags_waiting, FLOW_TIMEOUT, "flags to reach the bus during the outage")
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))  # the database stays away
        async with httpx.AsyncClient(timeout=5) as client:
            ready = await client.get(f"http://127.0.0.1:{stack.api_port}/readyz")
        assert ready.status_code == 503 and "database" in ready.text
        # Nothing was acknowledged while nothing could be stored.
        assert (
            await committed_total(servers, stack.api_group, FLAGS.name, FLAGS.partitions) == committed_before
        )
        stack.check_alive()
    finally:
        stack.proxy.restore()
    await stack.assert_exactly_once(account, flagged + flagged2, benign + benign2)


async def test_replay_killed_mid_file_and_run_again(stack: FaultStack) -> None:
    account = unique("acct-kill-ingest")
    path = stack.work / f"{account}.jsonl"
    flagged, benign = write_comments(path, "i", 300)
    replay = stack.replay_in_background(path, account, rate=100)
    await asyncio.sleep(1.5)
    os.killpg(replay.pid, signal.SIGKILL)
    replay.wait(10)
    stack.replay(path, account)  # a fresh run from the top: what was published before is published again
    await stack.assert_exactly_once(account, flagged, benign)


async def test_two_classifier_workers_one_leaves_mid_stream(stack: FaultStack) -> None:
    account = unique("acct-rebalance")
    path = stack.work / f"{account}.jsonl"
    flagged, benign = write_comments(path, "r", 400)
    second = stack.start_classifier("classifier-2")

    async def second_assigned() -> bool:
        log = second.log_tail(200_000)
        return "Ready" in log or "assigned" in log.lower()

    await eventually(second_assigned, 60, "the second classifier worker to join", every=0.5)
    async with stack.replaying(path, account):
        await asyncio.sleep(2.0)
        stack.kill("classifier", signal.SIGTERM)  # a graceful leave: the survivor takes every partition
        stack.children["classifier"] = stack.children.pop("classifier-2")  # the survivor, for later tests
    await stack.assert_exactly_once(account, flagged, benign)


async def test_classifier_worker_killed_mid_stream_and_restarted(stack: FaultStack) -> None:
    """Before triage_classifier.offsets, the restarted worker sometimes never judged a run of one partition's
    comments (Faust dropped records fetched again after its post-assignment seek)."""
    account = unique("acct-kill-classifier")
    path = stack.work / f"{account}.jsonl"
    flagged, benign = write_comments(path, "k", 400)
    async with stack.replaying(path, account):
        await asyncio.sleep(2.0)  # about 200 comments published, the worker busy with them
        stack.kill("classifier")
        stack.start_classifier()
    await stack.assert_exactly_once(account, flagged, benign)


async def test_broker_restarted_with_its_consumers_loses_and_duplicates_no_flag(stack: FaultStack) -> None:
    """The embedded broker keeps everything in memory: a restart loses every topic, record and committed
    offset (production uses Apache Kafka for durability), and running consumers must be restarted with it.
    What must hold then: comments published after the restart are judged and stored exactly once, and the
    flags stored before it are neither lost from nor duplicated in the database."""
    account = unique("acct-broker-restart")
    flagged, benign = await stack.replay_stored(account, "b0", 50)

    assert isinstance(stack.broker, EmbeddedBroker)
    port = stack.broker.port
    stack.broker.stop()
    await asyncio.sleep(3)  # the services see the broker gone
    # Running consumers keep their in-memory positions, which would point past the new, empty partitions:
    # tried here, the classifier silently skipped 13 of 30 flaggable comments published after the restart.
    # So the embedded broker's consumers are restarted with it (a fresh group on the empty broker), and
    # stopped before it comes back: a client still running then recreates its topics by producing or
    # subscribing, with the broker's default partition count, before the restarted service can declare them.
    # Killed: with no broker to leave its group or commit to, a Faust worker given SIGTERM takes longer than
    # 30 s to stop, and there is nothing on the broker left to commit to (its tables are in memory).
    stack.kill("classifier")
    stack.kill("api")
    # Empty: the topics are created again, with no records and no committed offsets.
    stack.broker = await asyncio.to_thread(EmbeddedBroker(port=port).start)
    stack.start("api", "api")
    stack.start_classifier()
    await stack.api_ready()

    after = stack.work / f"{account}-after.jsonl"
    flagged2, benign2 = write_comments(after, "b1", 50)
    stack.replay(after, account)
    await stack.assert_exactly_once(account, flagged + flagged2, benign + benign2)
