"""`triage bench pipeline`: the whole pipeline under a burst, each figure beside a reference measured in the
same run, on the embedded broker, on Apache Kafka started from `.cache/kafka`, or on both one after the other
(`--broker both`: the same comments, side by side in one table). `triage bench api` is in `bench_api`, and
uses the helpers here. Benchmarks report numbers; they assert nothing (tests do). Machines are noisy: compare
within a run, not across runs."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from triage_cli.supervisor import classifier_threads, classifier_workers_env

from triage_bench.databases import postgres_schema

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
WARMUP_TEXT = "I swallowed all my pills and I can't stay awake, help"


# --- shared helpers -------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = f"; load average {os.getloadavg()[0]:.1f} (1 min) as the report was written"
    return f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, {platform.system()}{load}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _tree(pid: int) -> list[int]:
    """A process and its live descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def cpu_seconds(pid: int, descendants: bool = True) -> float:
    """User + system CPU time of a process and (unless told not to) its descendants, live and reaped, in
    seconds (0 if gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for current in _tree(pid) if descendants else [pid]:
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        times = fields[11:15] if descendants else fields[11:13]  # utime, stime (, cutime, cstime)
        total += sum(int(value) for value in times)
    return total / tick


def _cpu(pids: int | list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in each(pids))


def postgres_pid() -> int | None:
    """The local PostgreSQL server's main process (its backends are its children), if this machine runs one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres" and "-D" in (entry / "cmdline").read_text():
                return int(entry.name)
        except OSError:
            continue
    return None


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB (0 if gone)."""
    total = 0
    for current in _tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


def each(pids: int | list[int]) -> list[int]:
    """One process or several counted as one (the nodes of a Kafka cluster)."""
    return pids if isinstance(pids, list) else [pids]


@dataclass
class RssSampler:
    pids: dict[str, int | list[int]]
    peak: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)

    def sample(self) -> None:
        for name, pids in self.pids.items():
            value = sum(rss_mb(pid) for pid in each(pids))
            self.last[name] = value
            self.peak[name] = max(self.peak.get(name, 0.0), value)

    async def run(self, every: float = 0.5) -> None:
        while True:
            self.sample()
            await asyncio.sleep(every)


@contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A fresh database: a PostgreSQL schema (dropped afterwards) or an SQLite file."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'bench.db'}"
        return
    with postgres_schema(POSTGRES_URL, "bench") as url:
        yield url


def service_env(**triage: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update(triage)
    return env


def start_service(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "triage_cli", command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_services(processes: list[subprocess.Popen[bytes]]) -> None:
    import signal

    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


async def wait_ready(url: str, processes: list[subprocess.Popen[bytes]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a service exited during start-up")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s")


def corpus_texts(corpus: Path, count: int) -> list[str]:
    texts = []
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        path = corpus / name
        if path.exists():
            texts += [
                json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line
            ]
    if not texts:
        raise RuntimeError(f"no texts in {corpus}")
    rng = random.Random(7)
    return [rng.choice(texts) for _ in range(count)]


# --- the broker's raw rate ------------------------------------------------------------------------------


async def broker_raw(
    bootstrap_servers: str, count: int, size: int, replication: int = 1
) -> tuple[float, float]:
    """Produce `count` messages of `size` bytes (acks=all, the pipeline's producer settings) to a topic of the
    comments topic's partitions, created first (Kafka creates none on its own), and consume them back without
    a group; messages per second each way."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from triage_bus.admin import TopicPolicy, create_topics, in_sync_for
    from triage_events import COMMENTS
    from triage_events.topics import Topic

    topic = f"bench-raw-{uuid4().hex[:8]}"
    policy = TopicPolicy(replication, in_sync_for(replication) if replication > 1 else 1)
    await create_topics(bootstrap_servers, (Topic(topic, COMMENTS.partitions, "index"),), policy)
    payload = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        # One record to each partition first, untimed: a new topic's leaders are elected and known (on a
        # Kafka cluster the first sends would otherwise be retried while that happens).
        for partition in range(COMMENTS.partitions):
            await producer.send_and_wait(topic, payload, partition=partition)
        started = time.perf_counter()
        futures = [await producer.send(topic, payload, key=str(i % 64).encode()) for i in range(count)]
        await producer.flush()
        await asyncio.gather(*futures)
        produce_rate = count / (time.perf_counter() - started)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        received = -COMMENTS.partitions  # the untimed first records are read back too
        started = time.perf_counter()
        while received < count:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            received += sum(len(records) for records in batch.values())
        consume_rate = received / (time.perf_counter() - started)
    finally:
        await consumer.stop()
    return produce_rate, consume_rate


async def committed(admin: Any, group: str, topic: str, partitions: int) -> int:
    """The offsets `group` has committed on `topic`, summed over its partitions (`admin`: a started
    AIOKafkaAdminClient, kept for the whole run so that polling adds no connection set-up to the broker's load)."""
    from aiokafka import TopicPartition

    offsets = await admin.list_consumer_group_offsets(
        group, partitions=[TopicPartition(topic, p) for p in range(partitions)]
    )
    return sum(max(0, meta.offset) for meta in offsets.values())


# --- triage bench pipeline ------------------------------------------------------------------------------


class RawModel:
    """The raw model's batched rate on fixed texts, in this process: the pipeline's reference."""

    def __init__(self, texts: list[str]) -> None:
        from triage_classifier.config import ClassifierSettings
        from triage_classifier.hybrid import HybridClassifier

        self.texts = texts
        self.encoder = HybridClassifier.load().encoder
        # The worker's micro-batches, at its default size since the services here run with defaults.
        self.batch = ClassifierSettings.model_fields["batch_size"].default

    def rate(self) -> float:
        # Each micro-batch sorted by length and forwarded 32 texts at a time, as the worker does.
        self.encoder.encode(self.texts[: self.batch], 32)  # warm-up
        started = time.perf_counter()
        for i in range(0, len(self.texts), self.batch):
            self.encoder.encode(self.texts[i : i + self.batch], 32)
        return len(self.texts) / (time.perf_counter() - started)


BROKERS = ("embedded", "kafka")


@dataclass
class BusUnderTest:
    """A broker the pipeline runs on: its address, its processes, and the services' settings for it."""

    name: str  # "embedded" or "kafka"
    label: str  # for the report
    bootstrap_servers: str
    pids: list[int]
    env: dict[str, str]
    replication: int = 1


@contextmanager
def local_broker(kind: str, work: Path, kafka_nodes: int = 1) -> Iterator[BusUnderTest]:
    """The embedded broker, or Apache Kafka from `.cache/kafka` (`kafka_nodes` nodes, each broker and
    controller, the product's topics created with replication min(nodes, 3)); stopped afterwards."""
    if kind == "embedded":
        from triage_bus.embedded import EmbeddedBroker

        with EmbeddedBroker() as broker:
            yield BusUnderTest(
                "embedded",
                "embedded broker",
                broker.bootstrap_servers,
                [broker.pid or 0],
                {"TRIAGE_KAFKA_PROFILE": "embedded"},
            )
        return
    from triage_bench.kafka_launcher import KAFKA_VERSION, KafkaCluster

    with KafkaCluster(work / "kafka", size=kafka_nodes) as cluster:
        policy = cluster.policy
        nodes = (
            f"{kafka_nodes} nodes, replication {policy.replication_factor}" if kafka_nodes > 1 else "1 node"
        )
        yield BusUnderTest(
            "kafka",
            f"Apache Kafka {KAFKA_VERSION} ({nodes})",
            cluster.bootstrap_servers,
            [node.pid or 0 for node in cluster.nodes],
            {
                "TRIAGE_KAFKA_PROFILE": "kafka",
                "TRIAGE_KAFKA_REPLICATION_FACTOR": str(policy.replication_factor),
                "TRIAGE_KAFKA_MIN_INSYNC_REPLICAS": str(policy.min_insync_replicas),
            },
            policy.replication_factor,
        )


def run_pipeline(
    count: int,
    db_kind: str,
    mode: str,
    corpus: Path,
    reference_count: int,
    steady_rate: float = 50.0,
    steady_seconds: float = 60.0,
    workers: int = 2,
    prolific_share: float = 0.0,
    brokers: tuple[str, ...] = ("embedded",),
    kafka_nodes: int = 1,
) -> str:
    """The same burst (and steady phase) on each of `brokers` in turn, each with fresh services and a fresh
    database; one report with the brokers side by side."""
    _quiet_clients()
    if "kafka" in brokers:
        from triage_bench.kafka_launcher import kafka_classpath

        kafka_classpath()  # missing jars: a clear error before anything is measured
    texts = corpus_texts(corpus, count)
    # Measured before the services start and again after they stop; the ratio is taken against the faster of
    # the two, so a slow moment of the machine during one of them cannot flatter the pipeline.
    reference = RawModel(texts[:reference_count]) if mode == "hybrid" else None
    model_before = reference.rate() if reference else None
    results: list[tuple[BusUnderTest, dict[str, Any]]] = []
    for kind in brokers:
        with (
            tempfile.TemporaryDirectory() as tmp,
            database(db_kind, Path(tmp)) as database_url,
            local_broker(kind, Path(tmp), kafka_nodes) as broker,
        ):
            steady = (steady_rate, steady_seconds)
            result = asyncio.run(
                _pipeline(broker, texts, database_url, mode, Path(tmp), steady, workers, prolific_share)
            )
            results.append((broker, result))
    model_after = reference.rate() if reference else None
    for _, result in results:
        result["model_rates"] = (model_before, model_after)
        result["model_rate"] = max(model_before, model_after) if model_before and model_after else None
    return pipeline_report(results, count, db_kind, mode, workers, prolific_share)


async def _pipeline(
    broker: BusUnderTest,
    texts: list[str],
    database_url: str,
    mode: str,
    work: Path,
    steady: tuple[float, float],
    workers: int,
    prolific_share: float = 0.0,
) -> dict[str, Any]:
    """The steady phase (`steady`: comments/s, seconds) and then the burst of `texts`, on one set of services:
    the API and `workers` classifier workers in one consumer group."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from triage_bus.embedded import free_port
    from triage_events import COMMENTS, Account, encode

    processes: list[subprocess.Popen[bytes]] = []
    sampler_task: asyncio.Task[None] | None = None
    try:
        sample = encode(bench_comment(Account(id="x", handle="@x"), 0, texts[0], "size"))
        raw = (broker.bootstrap_servers, 20_000, len(sample), broker.replication)
        produce_rate, consume_rate = await broker_raw(*raw)

        api_port = free_port()
        app_id, group = f"bench-classifier-{uuid4().hex[:8]}", f"bench-api-{uuid4().hex[:8]}"
        env = service_env(
            TRIAGE_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
            **broker.env,
            TRIAGE_CLASSIFIER_MODE=mode,
            TRIAGE_CLASSIFIER_APP_ID=app_id,
            TRIAGE_API_CONSUMER_GROUP=group,
            TRIAGE_API_DATABASE_URL=database_url,
            TRIAGE_API_PORT=str(api_port),
            TRIAGE_BOOTSTRAP_ADMIN_TOKEN="bench-token",
            TRIAGE_LOG_LEVEL="WARNING",
        )
        api = start_service("api", env, work / "api.log")
        # Each worker's folder, port and share of the cores, as `triage run --classifier-workers` gives them.
        workers_env = classifier_workers_env(workers, work)
        classifiers = {
            name: start_service("classifier", {**env, **own}, work / f"{name}.log")
            for name, own in workers_env.items()
        }
        processes += [api, *classifiers.values()]
        base = f"http://127.0.0.1:{api_port}"
        await wait_ready(f"{base}/readyz", processes)

        account = Account(id=f"bench-{uuid4().hex[:6]}", handle="@bench")
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=5)
        await producer.start()
        client = httpx.AsyncClient(base_url=base, headers={"Authorization": "Bearer bench-token"}, timeout=10)
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            # Warm-up: the pipeline is ready once a flag for an obvious comment is visible through the API.
            warm = bench_comment(account, 0, WARMUP_TEXT, "warmup")
            await producer.send_and_wait(COMMENTS.name, encode(warm), key=warm.kafka_key)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if (await client.get("/api/flags", params={"limit": 1})).json()["total"] >= 1:
                    break
                if any(p.poll() is not None for p in processes):
                    logs = "".join((work / f"{name}.log").read_text()[-3000:] for name in classifiers)
                    raise RuntimeError("a service exited:\n" + logs)
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError("the pipeline did not flag the warm-up comment")

            ports = [int(own["TRIAGE_CLASSIFIER_WEB_PORT"]) for own in workers_env.values()]
            drain = functools.partial(_drain, client, ports, admin, broker.bootstrap_servers, app_id, group)
            # Steady rate first: the latency a comment sees when the pipeline keeps up (ingest → visible flag).
            steady_rate, steady_seconds = steady
            steady_texts = texts[: int(steady_rate * steady_seconds)]
            steady_before = (await _batch_metrics(client, ports))["comments"]
            steady_sent = await publish_at_rate(producer, account, steady_texts, steady_rate, "steady")
            await drain(steady_before, len(steady_texts))

            pids = {name: process.pid for name, process in classifiers.items()}
            sampler = RssSampler({"broker": broker.pids, **pids, "api": api.pid})
            sampler_task = asyncio.create_task(sampler.run())
            # The bench process itself (the publisher) without its descendants: the services are its children.
            cpu_pids = {**sampler.pids, "postgresql": postgres_pid() or 0}
            cpu_before = {name: _cpu(pids) for name, pids in cpu_pids.items()}
            cpu_before["bench (publisher)"] = cpu_seconds(os.getpid(), descendants=False)
            batches_before = await _batch_metrics(client, ports)
            sent_at: dict[str, float] = {}
            started = time.time()
            for i, text in enumerate(texts):
                event = bench_comment(account, i, text, "bench", prolific_share=prolific_share)
                sent_at[event.comment_key] = time.time()
                await producer.send(COMMENTS.name, encode(event), key=event.kafka_key)
            await producer.flush()
            published = time.time()

            judged_at = await drain(batches_before["comments"], len(texts))
            caught_up = time.time()
            cpu = {name: _cpu(pids) - cpu_before[name] for name, pids in cpu_pids.items()}
            cpu["bench (publisher)"] = (
                cpu_seconds(os.getpid(), descendants=False) - cpu_before["bench (publisher)"]
            )
            batches = {
                name: value - batches_before[name]
                for name, value in (await _batch_metrics(client, ports)).items()
            }
            visible = await _count_listed(client)
        finally:
            await admin.close()
            await client.aclose()
            await producer.stop()
        sampler.sample()
        stored_at = _stored_times(database_url)
        latencies = [(stored_at[k] - sent_at[k]) * 1000 for k in stored_at if k in sent_at]
        steady_ms = [(stored_at[k] - steady_sent[k]) * 1000 for k in stored_at if k in steady_sent]
        last_stored = max((stored_at[k] for k in stored_at if k in sent_at), default=caught_up)
        return {
            "broker_produce": produce_rate,
            "broker_consume": consume_rate,
            "publish_rate": len(texts) / (published - started),
            "classifier_rate": len(texts) / ((judged_at or caught_up) - started),
            "pipeline_rate": len(texts) / (max(last_stored, judged_at or 0) - started),
            "flags": len(latencies) + len(steady_ms),
            "visible": visible - 1,
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99),
            "lag_recovery": caught_up - published,
            "steady": {
                "rate": steady_rate,
                "comments": len(steady_sent),
                "flags": len(steady_ms),
                "p50": percentile(steady_ms, 50),
                "p90": percentile(steady_ms, 90),
                "p99": percentile(steady_ms, 99),
                "max": max(steady_ms, default=float("nan")),
            },
            "cpu": cpu,
            "batches": batches,
            "judging": judged_at - started if judged_at else caught_up - started,
            "wall": caught_up - started,
            "rss_peak": dict(sampler.peak),
            "rss_last": dict(sampler.last),
        }
    finally:
        if sampler_task:
            sampler_task.cancel()
        stop_services(processes)


def bench_comment(
    account: Any, i: int, text: str, prefix: str, authors: int = 500, prolific_share: float = 0.0
) -> Any:
    """Comment `prefix-i` on `account`, by one of `authors` authors in turn (so that repeat hostility has
    authors to count); with `prolific_share`, that share of the comments (in every hundred) by one more author
    instead, as in a spam run."""
    from triage_events import Author, Comment, CommentReceived, Platform

    return CommentReceived(
        platform=Platform.DEMO,
        account=account,
        comment=Comment(
            platform_comment_id=f"{prefix}-{i}",
            text=text,
            author=Author(
                id="prolific" if i % 100 < round(prolific_share * 100) else f"author-{i % authors}"
            ),
            created_at=datetime.now(UTC),
        ),
    )


async def _drain(
    client: httpx.AsyncClient,
    classifier_ports: list[int],
    admin: Any,
    bootstrap_servers: str,
    app_id: str,
    group: str,
    processed_before: float,
    count: int,
) -> float:
    """Wait until the worker has processed `count` more comments and both groups have caught up; returns when
    the last comment was judged. Judged: the worker's own count of comments processed (its offset commits come
    every few seconds, too coarse to time the end of a burst). Caught up: the classifier has committed every
    comment and the API every flag. The workers' /metrics are read once a second until the end is near, then
    four times a second: each reading costs the workers CPU that the burst would otherwise have."""
    from triage_events import COMMENTS, FLAGS

    judged_at = None
    give_up = time.monotonic() + 3600
    while time.monotonic() < give_up:
        if judged_at is None:
            processed = (await _batch_metrics(client, classifier_ports))["comments"] - processed_before
            if processed >= count:
                judged_at = time.time()
            elif processed < 0.95 * count:
                await asyncio.sleep(0.75)
        else:
            comments_total = await _high_watermarks(bootstrap_servers, COMMENTS.name)
            if await committed(admin, app_id, COMMENTS.name, COMMENTS.partitions) >= comments_total:
                flags_total = await _high_watermarks(bootstrap_servers, FLAGS.name)
                if await committed(admin, group, FLAGS.name, FLAGS.partitions) >= flags_total:
                    return judged_at
        await asyncio.sleep(0.25)
    raise RuntimeError("the pipeline did not catch up within an hour")


async def publish_at_rate(
    producer: Any, account: Any, texts: list[str], rate: float, kind: str
) -> dict[str, float]:
    """Publish `texts` (comment ids marked `kind`) at `rate` comments/s on a fixed schedule (a late send does
    not push the next ones back); returns each comment's send time."""
    from triage_events import COMMENTS, encode

    sent_at: dict[str, float] = {}
    start = time.monotonic()
    for i, text in enumerate(texts):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event = bench_comment(account, i, text, kind)
        sent_at[event.comment_key] = time.time()
        await producer.send(COMMENTS.name, encode(event), key=event.kafka_key)
    await producer.flush()
    return sent_at


BATCH_TOTALS = {
    "triage_classifier_batch_size_count": "count",
    "triage_classifier_batch_size_sum": "size",
    "triage_classifier_batch_latency_seconds_sum": "seconds",
    "triage_classifier_comments_total": "comments",
}


async def _batch_metrics(client: httpx.AsyncClient, ports: list[int]) -> dict[str, float]:
    """The classifier workers' totals from their /metrics: micro-batches, their comments and seconds judging,
    and the comments processed."""
    from prometheus_client.parser import text_string_to_metric_families

    totals = dict.fromkeys(BATCH_TOTALS.values(), 0.0)
    for port in ports:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in BATCH_TOTALS:
                    totals[BATCH_TOTALS[sample.name]] += sample.value
    return totals


async def _high_watermarks(bootstrap_servers: str, topic: str) -> int:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        consumer.assign(tps)
        # ListOffsets(latest) is off by a batch on the embedded broker: take the fetch high watermark instead.
        await consumer.seek_to_beginning(*tps)
        await consumer.getmany(timeout_ms=300, max_records=1)
        total = 0
        for tp in tps:
            total += consumer.highwater(tp) or 0
        return total
    finally:
        await consumer.stop()


def _stored_times(database_url: str) -> dict[str, float]:
    from sqlalchemy import create_engine, text

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT comment_key, stored_at FROM flags")).all()
    finally:
        engine.dispose()
    result = {}
    for key, stored in rows:
        if isinstance(stored, str):
            stored = datetime.fromisoformat(stored)
        if stored.tzinfo is None:
            stored = stored.replace(tzinfo=UTC)
        result[key] = stored.timestamp()
    return result


def pipeline_report(
    results: list[tuple[BusUnderTest, dict[str, Any]]],
    count: int,
    db_kind: str,
    mode: str,
    workers: int,
    prolific_share: float = 0.0,
) -> str:
    """One table: a column per broker and, with two, the second's figures as a ratio of the first's."""
    first = results[0][1]
    before, after = first["model_rates"]
    model = (
        f"raw model {first['model_rate']:.1f} comments/s (the faster of {before:.1f} before the services "
        f"started and {after:.1f} after they stopped)"
        if first["model_rate"]
        else "n/a (rules mode)"
    )
    rows: list[tuple[str, list[str], tuple[float, float] | None, str]] = []

    def row(what: str, cells: list[str], reference: str = "—", compare: list[float] | None = None) -> None:
        pair = (compare[0], compare[-1]) if compare and len(compare) == 2 else None
        rows.append((what, cells, pair, reference))

    rs = [r for _, r in results]
    row("broker raw produce (acks=all, linger 5 ms)", [f"{r['broker_produce']:.0f} msg/s" for r in rs],
        compare=[r["broker_produce"] for r in rs])  # fmt: skip
    row("broker raw consume (no group)", [f"{r['broker_consume']:.0f} msg/s" for r in rs],
        compare=[r["broker_consume"] for r in rs])  # fmt: skip
    row("burst published", [f"{r['publish_rate']:.0f} comments/s" for r in rs], "broker raw produce",
        [r["publish_rate"] for r in rs])  # fmt: skip
    row("classifier (publish → every comment judged)", [f"{r['classifier_rate']:.1f} comments/s" for r in rs],
        model, [r["classifier_rate"] for r in rs])  # fmt: skip
    ratios = [
        f" ({r['pipeline_rate'] / r['model_rate']:.0%} of the raw model)" if r["model_rate"] else ""
        for r in rs
    ]
    row("pipeline sustained (publish → every comment judged and its flag stored)",
        [f"{r['pipeline_rate']:.1f} comments/s{ratio}" for r, ratio in zip(rs, ratios, strict=True)],
        "the raw model", [r["pipeline_rate"] for r in rs])  # fmt: skip
    row("comments published / judged by the workers (burst)",
        [f"{count} / {r['batches']['comments']:.0f}" for r in rs])  # fmt: skip
    row("flags stored / visible through the API (steady phase and burst)",
        [f"{r['flags']} / {r['visible']}" for r in rs])  # fmt: skip
    row("end-to-end latency p50 / p90 / p99 (publish → flag row)",
        [f"{r['p50']:.0f} / {r['p90']:.0f} / {r['p99']:.0f} ms" for r in rs],
        compare=[r["p99"] for r in rs])  # fmt: skip
    steadies = [r["steady"] for r in rs]
    if steadies[0]["comments"]:
        st = steadies[0]
        row(f"steady {st['rate']:.0f} comments/s for {st['comments'] / st['rate']:.0f} s, before the burst: "
            f"latency p50 / p90 / p99 / max (publish → flag row; flags of {st['comments']} comments)",
            [f"{s['p50']:.0f} / {s['p90']:.0f} / {s['p99']:.0f} / {s['max']:.0f} ms ({s['flags']} flags)"
             for s in steadies], "target: p99 under 2,000 ms", [s["p99"] for s in steadies])  # fmt: skip
    row("consumer lag recovery (end of burst → both groups caught up)", [f"{r['lag_recovery']:.1f} s" for r in rs],
        compare=[r["lag_recovery"] for r in rs])  # fmt: skip
    for name in rs[0]["rss_peak"]:
        row(f"peak RSS, {name}", [f"{r['rss_peak'].get(name, 0):.0f} MiB" for r in rs],
            compare=[r["rss_peak"].get(name, 0) for r in rs])  # fmt: skip
    batches = []
    for r in rs:
        b = r["batches"]
        judged = b["seconds"] / workers  # each worker judges one batch at a time
        batches.append(f"{b['count']:.0f}, {b['size'] / max(b['count'], 1):.1f}, {judged:.0f} s of "
                       f"{r['judging']:.0f} s ({judged / r['judging']:.0%})")  # fmt: skip
    row("classifier: micro-batches, mean size, time judging (model + rules) per worker", batches)
    row("CPU time, burst start → caught up", [f"{r['wall']:.0f} s on {os.cpu_count()} cores" for r in rs])
    for name in rs[0]["cpu"]:
        row(f"CPU time, {name}", [f"{r['cpu'].get(name, 0):.1f} s" for r in rs],
            compare=[r["cpu"].get(name, 0) for r in rs])  # fmt: skip

    threads = classifier_threads(workers) or os.cpu_count() or 1
    judges = (
        f"{workers} classifier workers in one consumer group (`{mode}` mode, the model on {threads} "
        f"thread{'s' if threads > 1 else ''} in each)"
        if workers > 1
        else f"one classifier worker (`{mode}` mode, the model on {threads} threads)"
    )
    prolific = (
        f" {prolific_share:.0%} of the burst's comments are by one author (a spam run), the rest by 500 authors."
        if prolific_share
        else ""
    )
    labels = [broker.label for broker, _ in results]
    both = len(results) == 2
    where = " and then into ".join(
        label if label.startswith("Apache") else f"the {label}" for label in labels
    )
    heading = "Pipeline burst"
    if prolific_share:
        heading += ", one prolific author"
    if both:
        heading += f", {results[0][0].name} and {results[1][0].name} side by side"
    head = (
        "| what | " + " | ".join(labels) + (f" | {results[1][0].name} / {results[0][0].name}" if both else "")
    )
    head += " | reference (same run) |"
    rule = "|---|" + "---:|" * len(labels) + ("---:|" if both else "") + "---|"
    lines = [
        f"## {heading} (`triage bench pipeline`)",
        "",
        f"Generated on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        f"A burst of {count} corpus comments published as fast as possible into {where}, judged by "
        f"{judges} and stored by the API in {db_kind}; every process is separate.{prolific}"
        + (
            " Each broker gets the same comments, its own services and its own database, one after the "
            "other; the last column is the second broker's figure divided by the first's."
            if both
            else ""
        ),
        "",
        head,
        rule,
    ]
    for what, cells, pair, reference in rows:
        line = f"| {what} | " + " | ".join(cells)
        if both:
            line += " | " + (f"{pair[1] / pair[0]:.2f}" if pair and pair[0] else "—")
        lines.append(line + f" | {reference} |")
    lines += [
        "",
        "Latency under a burst is queueing time: the last comment waits for all before it; the steady row is the "
        "latency a comment sees while the pipeline keeps up. `stored_at` is taken by the API just before its "
        "transaction commits. *broker* is the broker's processes (every node of a Kafka cluster).",
        "",
    ]
    return "\n".join(lines)


def _quiet_clients() -> None:
    import logging

    for name in ("httpx", "httpcore", "aiokafka"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- make bench: one docs/benchmarks.md -----------------------------------------------------------------


def combine(sections: list[Path]) -> str:
    """One Markdown document from the sections each bench command wrote (their top headings demoted)."""
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench`: each section is one `triage bench …` command; every figure sits beside "
        "its reference measured in the same run. Benchmarks report numbers; correctness is asserted by tests.",
        "",
    ]
    for section in sections:
        text = section.read_text(encoding="utf-8").strip()
        if text.startswith("# Benchmarks"):
            text = "## Classifier (`triage bench classifier`)" + text[len("# Benchmarks") :]
        parts += [text, ""]
    return "\n".join(parts)


async def _count_listed(client: httpx.AsyncClient) -> int:
    """Every flag the API lists, walked page by page with its cursor (its `total` stops counting at 1,000)."""
    count, params = 0, {"limit": "200"}
    while True:
        page = (await client.get("/api/flags", params=params)).json()
        count += len(page["items"])
        if not page.get("next_cursor"):
            return count
        params = {"limit": "200", "cursor": page["next_cursor"]}
