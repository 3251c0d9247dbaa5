"""`triage bench classifier`: throughput and latency of the raw model, of the whole classifier function
and of the Faust worker through the embedded broker, measured side by side in one run on the same texts.
Results are numbers and ratios (machines are noisy: compare within a run, not across runs)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from triage_classifier.config import ClassifierSettings
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.training.corpus import SPLITS, load_split

from triage_cli.bench_pipeline import WARMUP_TEXT, bench_comment, machine, start_service, stop_services

BATCH = 32


@dataclass
class Measure:
    name: str
    items: int
    seconds: float
    latencies_ms: list[float]
    latency_kind: str

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def bench_texts(corpus: Path, count: int) -> list[str]:
    texts = [item.text for split in SPLITS for item in load_split(corpus, split)]
    rng = np.random.default_rng(7)
    return [texts[i] for i in rng.choice(len(texts), size=count, replace=count > len(texts))]


def time_batches(name: str, fn, texts: list[str], size: int) -> Measure:  # type: ignore[no-untyped-def]
    """`fn` over the texts in micro-batches of `size`, as the worker takes them off the topic."""
    latencies = []
    started = time.perf_counter()
    for i in range(0, len(texts), size):
        t0 = time.perf_counter()
        fn(texts[i : i + size])
        latencies.append((time.perf_counter() - t0) * 1000)
    return Measure(name, len(texts), time.perf_counter() - started, latencies, f"per micro-batch of {size}")


def worker_measure(texts: list[str], expected_flags: int, rate: float | None) -> Measure:
    """Start the broker and a classifier worker, publish `texts`, time the flags coming out."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from triage_bus.embedded import EmbeddedBroker, free_port
    from triage_events import COMMENTS as COMMENTS_TOPIC
    from triage_events import FLAGS, Account, CommentReceived, FlagRaised, decode, encode

    run_id = f"bench-{os.getpid()}-{int(time.time())}"
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "TRIAGE_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "TRIAGE_KAFKA_PROFILE": "embedded",
            "TRIAGE_CLASSIFIER_APP_ID": run_id,
            "TRIAGE_CLASSIFIER_DATA_DIR": data_dir,
            "TRIAGE_CLASSIFIER_WEB_PORT": str(free_port()),
            "TRIAGE_LOG_LEVEL": "WARNING",
        }
        worker = start_service("classifier", env, Path(data_dir) / "worker.log")

        account = Account(id="bench", handle="@bench")

        def comment(i: int, text: str, prefix: str) -> CommentReceived:
            # An author per comment, as before: no author repeats, so no repeat hostility in this bench.
            return bench_comment(account, i, text, prefix, authors=len(texts))

        async def main() -> Measure:
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=5)
            # A fresh broker per measurement: reading every flag partition from the start sees exactly ours.
            consumer = AIOKafkaConsumer(
                bootstrap_servers=broker.bootstrap_servers,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=50,
                enable_auto_commit=False,
            )
            await producer.start()
            await consumer.start()
            consumer.assign([TopicPartition(FLAGS.name, p) for p in range(FLAGS.partitions)])
            try:
                # Warm up: the worker is ready once a flag for an obvious comment comes back.
                warm = comment(0, WARMUP_TEXT, "warmup")
                await producer.send_and_wait(COMMENTS_TOPIC.name, encode(warm), key=warm.kafka_key)
                deadline = time.time() + 240
                while time.time() < deadline and worker.poll() is None:
                    if any(recs for recs in (await consumer.getmany(timeout_ms=500)).values()):
                        break
                else:
                    raise RuntimeError(
                        "classifier worker did not answer:\n"
                        + (Path(data_dir) / "worker.log").read_text()[-3000:]
                    )
                sent_at: dict[str, float] = {}
                latencies: list[float] = []

                async def produce() -> None:
                    interval = 1.0 / rate if rate else 0.0
                    t0 = time.perf_counter()
                    for i, text in enumerate(texts):
                        event = comment(i, text, "bench")
                        sent_at[event.comment_key] = time.perf_counter()
                        await producer.send(COMMENTS_TOPIC.name, encode(event), key=event.kafka_key)
                        if interval:
                            delay = t0 + (i + 1) * interval - time.perf_counter()
                            if delay > 0:
                                await asyncio.sleep(delay)
                    await producer.flush()

                started = time.perf_counter()
                producing = asyncio.create_task(produce())
                received = 0
                last = started
                while received < expected_flags and time.perf_counter() - last < 60:
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        for record in records:
                            flag = decode(FlagRaised, record.value)
                            if flag.comment_key in sent_at:
                                latencies.append((time.perf_counter() - sent_at[flag.comment_key]) * 1000)
                                received += 1
                                last = time.perf_counter()
                await producing
                return Measure(
                    "faust worker via broker" + (f" at {rate:g}/s" if rate else ", burst"),
                    len(texts),
                    last - started,
                    latencies,
                    "comment published → flag consumed",
                )
            finally:
                await consumer.stop()
                await producer.stop()

        try:
            return asyncio.run(main())
        finally:
            stop_services([worker])


def run(corpus: Path, count: int, rate: float, output: Path | None) -> str:
    settings = ClassifierSettings()  # what the worker subprocess reads from the same environment
    texts = bench_texts(corpus, count)
    classifier = HybridClassifier.load()
    classifier.classify_batch(texts[:BATCH])  # warm-up
    # The worker's micro-batches, each sorted by length and forwarded BATCH texts at a time, for both rows.
    size = settings.batch_size
    raw = time_batches(
        "raw model (encoder forward, batched)", lambda b: classifier.encoder.encode(b, BATCH), texts, size
    )
    full = time_batches("classifier function (model + rules + heads)", classifier.classify_batch, texts, size)
    flagged = [bool(j.labels) for j in classifier.classify_batch(texts)]  # the flags each worker row awaits
    burst = worker_measure(texts, sum(flagged), None)
    steady_count = max(BATCH, int(rate * 20))
    steady = worker_measure(texts[:steady_count], sum(flagged[:steady_count]), rate)
    rows = [raw, full, burst, steady]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `triage bench classifier` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}; torch {torch.__version__} ({torch.get_num_threads()} threads).",
        f"Model: {classifier.version}. Texts: {count} comments drawn from the corpus (mixed lengths, English and "
        f"Spanish); the same texts for every row.",
        "",
        "| what | comments | comments/s | vs raw model | latency p50 (ms) | latency p99 (ms) | latency measured |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in rows:
        ratio = "(rate-limited)" if m is steady else f"{m.rate / raw.rate:.0%}"
        lines.append(
            f"| {m.name} | {m.items} | {m.rate:.1f} | {ratio} | {m.percentile(50):.0f} | "
            f"{m.percentile(99):.0f} | {m.latency_kind} |"
        )
    lines += [
        "",
        "The worker rows run the real Faust worker as a subprocess against the embedded broker, with the "
        f"production settings (micro-batches of {settings.batch_size} within {settings.batch_within_s * 1000:.0f} ms, "
        "inference in a thread). Its throughput is "
        "measured from the first comment published to the last flag consumed, so it includes the broker hops; "
        "latencies are only for comments that were flagged (benign ones produce no event).",
        "",
        "```json",
        json.dumps(
            {
                m.name: {
                    "rate": round(m.rate, 1),
                    "p50_ms": round(m.percentile(50), 1),
                    "p99_ms": round(m.percentile(99), 1),
                }
                for m in rows
            },
            indent=2,
        ),
        "```",
    ]
    report = "\n".join(lines) + "\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
    return report
