"""`triage bench classifier`: throughput and latency of the raw model, of the whole classifier function
and of the Faust worker through the embedded broker, measured side by side in one run on the same texts, for
each encoder runtime (torch fp32, ONNX Runtime fp32 and int8; torch only where the `train` extra is installed).
The in-process rows run in alternating rounds so that a busy machine slows every runtime alike; each row gives
the median and the spread. Results are numbers and ratios (machines are noisy: compare within a run)."""

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
from triage_classifier.config import ClassifierSettings
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.runtime import RUNTIMES, Runtime
from triage_classifier.training.corpus import SPLITS, load_split

from triage_bench.pipeline import (
    WARMUP_TEXT,
    RssSampler,
    bench_comment,
    machine,
    start_service,
    stop_services,
)

BATCH = 32
ROUNDS = 3
RUNTIME_NAMES = {"torch": "torch fp32", "onnx": "ONNX Runtime fp32", "onnx-int8": "ONNX Runtime int8"}


@dataclass
class Measure:
    name: str
    items: int
    seconds: float
    latencies_ms: list[float]
    latency_kind: str
    rss_peak_mb: float | None = None  # while serving: after the warm-up flag came back
    first_start_rss_mb: float | None = None  # until then, with the one-off model export's child process

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


def worker_measure(
    texts: list[str], expected_flags: int, rate: float | None, runtime: Runtime = "onnx"
) -> Measure:
    """Start the broker and a classifier worker on `runtime`, publish `texts`, time the flags coming out; the
    worker's resident memory (with its child processes) is sampled throughout. Its first start on a fresh data
    folder exports the encoder in a child process, whose memory is reported apart from the serving peak."""
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
            "TRIAGE_CLASSIFIER_RUNTIME": runtime,
            "TRIAGE_LOG_LEVEL": "WARNING",
        }
        worker = start_service("classifier", env, Path(data_dir) / "worker.log")
        sampler = RssSampler({"worker": worker.pid})

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
            sampling = asyncio.create_task(sampler.run(0.25))
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
                sampler.sample()
                first_start = sampler.peak.pop("worker", None)
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
                sampler.sample()
                return Measure(
                    f"faust worker via broker, {RUNTIME_NAMES[runtime]}"
                    + (f", at {rate:g}/s" if rate else ", burst"),
                    len(texts),
                    last - started,
                    latencies,
                    "comment published → flag consumed",
                    rss_peak_mb=sampler.peak.get("worker"),
                    first_start_rss_mb=first_start,
                )
            finally:
                sampling.cancel()
                await consumer.stop()
                await producer.stop()

        try:
            return asyncio.run(main())
        finally:
            stop_services([worker])


def available_runtimes() -> list[Runtime]:
    """Every runtime that loads here: torch only where the `train` extra is installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return [r for r in RUNTIMES if r != "torch"]
    return list(RUNTIMES)


def process_rss(runtime: Runtime, texts: list[str]) -> tuple[float, float]:
    """Peak and final resident memory (MiB) of a fresh process that loads the classifier on `runtime` and
    judges `texts`: the encoder's own footprint, without the broker client and Faust."""
    return _fresh_process_rss("runtime", runtime, texts)


def _fresh_process_rss(option: str, value: str, texts: list[str]) -> tuple[float, float]:
    """Peak and final resident memory (MiB) of a fresh process that runs `HybridClassifier.load(option=value)`
    (models cached in the data folder's `onnx`) and judges `texts` in batches of 128."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from triage_classifier.hybrid import HybridClassifier\n"
        "texts = json.loads(sys.stdin.read())\n"
        f"c = HybridClassifier.load({option}=sys.argv[1], cache_dir=Path(sys.argv[2]))\n"
        "for i in range(0, len(texts), 128):\n"
        "    c.classify_batch(texts[i : i + 128])\n"
        "status = dict(l.split(':', 1) for l in Path('/proc/self/status').read_text().splitlines())\n"
        "print(int(status['VmHWM'].split()[0]), int(status['VmRSS'].split()[0]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, value, str(ClassifierSettings().data_dir / "onnx")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kb, last_kb = (int(v) for v in done.stdout.split()[-2:])
    return peak_kb / 1024, last_kb / 1024


def median_of(runs: list[Measure]) -> Measure:
    """The run with the median rate (its latencies), for a row measured in several rounds."""
    return sorted(runs, key=lambda m: m.rate)[len(runs) // 2]


def run(corpus: Path, count: int, rate: float, output: Path | None) -> str:
    settings = ClassifierSettings()  # what the worker subprocess reads from the same environment
    texts = bench_texts(corpus, count)
    runtimes = available_runtimes()
    classifiers = {r: HybridClassifier.load(runtime=r, threads=settings.threads or None) for r in runtimes}
    for classifier in classifiers.values():
        classifier.classify_batch(texts[:BATCH])  # warm-up
    # The worker's micro-batches, each sorted by length and forwarded BATCH texts at a time, for every row.
    # Rounds alternate the runtimes (and rotate who goes first) so load from elsewhere falls on all of them.
    size = settings.batch_size
    raw_runs: dict[Runtime, list[Measure]] = {r: [] for r in runtimes}
    full_runs: dict[Runtime, list[Measure]] = {r: [] for r in runtimes}
    for round_no in range(ROUNDS):
        order = runtimes[round_no % len(runtimes) :] + runtimes[: round_no % len(runtimes)]
        for r in order:
            encoder = classifiers[r].encoder
            raw_runs[r].append(
                time_batches(
                    f"raw model, {RUNTIME_NAMES[r]}", lambda b, e=encoder: e.encode(b, BATCH), texts, size
                )
            )
            full_runs[r].append(
                time_batches(
                    f"classifier function, {RUNTIME_NAMES[r]}", classifiers[r].classify_batch, texts, size
                )
            )
    reference: Runtime = "torch" if "torch" in runtimes else runtimes[0]
    reference_rate = median_of(raw_runs[reference]).rate
    default = classifiers[settings.runtime] if settings.runtime in classifiers else classifiers[runtimes[0]]
    flagged = [bool(j.labels) for j in default.classify_batch(texts)]  # the flags each worker row awaits
    # The configured runtime first, then every other one that loads here (in `RUNTIMES` order: torch last).
    worker_runtimes: list[Runtime] = [settings.runtime] + [r for r in runtimes if r != settings.runtime]
    bursts = [worker_measure(texts, sum(flagged), None, r) for r in worker_runtimes]
    steady_count = max(BATCH, int(rate * 20))
    steady = worker_measure(texts[:steady_count], sum(flagged[:steady_count]), rate, settings.runtime)
    rss = {r: process_rss(r, texts[:512]) for r in runtimes}

    def spread(runs: list[Measure]) -> str:
        rates = [m.rate for m in runs]
        return f"{min(rates):.1f} to {max(rates):.1f}"

    versions = []
    import onnxruntime

    versions.append(f"onnxruntime {onnxruntime.__version__}")
    if "torch" in runtimes:
        import torch

        versions.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `triage bench classifier` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}; {', '.join(versions)}; encoder threads setting {settings.threads or 'default'}.",
        f"Model: {default.version}. Texts: {count} comments drawn from the corpus (mixed lengths, English and "
        f"Spanish); the same texts for every row. In-process rows: median of {ROUNDS} alternating rounds, "
        "with the range of the rounds.",
        "",
        f"| what | comments | comments/s (median) | range over rounds | vs raw {RUNTIME_NAMES[reference]} "
        "| latency p50 (ms) | latency p99 (ms) | latency measured |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows: list[tuple[Measure, str]] = []
    for r in runtimes:
        rows.append((median_of(raw_runs[r]), spread(raw_runs[r])))
    for r in runtimes:
        rows.append((median_of(full_runs[r]), spread(full_runs[r])))
    rows += [(m, "one run") for m in [*bursts, steady]]
    for m, rng in rows:
        ratio = "(rate-limited)" if m is steady else f"{m.rate / reference_rate:.2f}x"
        lines.append(
            f"| {m.name} | {m.items} | {m.rate:.1f} | {rng} | {ratio} | {m.percentile(50):.0f} | "
            f"{m.percentile(99):.0f} | {m.latency_kind} |"
        )
    lines += [
        "",
        "Resident memory (MiB): "
        + "; ".join(
            f"{m.name}: peak {m.rss_peak_mb:.0f} serving (first start, with the export: {m.first_start_rss_mb:.0f})"
            for m in [*bursts, steady]
            if m.rss_peak_mb is not None and m.first_start_rss_mb is not None
        )
        + ". A fresh process that loads the classifier and judges 512 comments, per runtime: "
        + "; ".join(
            f"{RUNTIME_NAMES[r]} peak {peak:.0f}, after {last:.0f}" for r, (peak, last) in rss.items()
        )
        + ".",
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
                    **({"rss_peak_mb": round(m.rss_peak_mb)} if m.rss_peak_mb is not None else {}),
                    **(
                        {"first_start_rss_mb": round(m.first_start_rss_mb)}
                        if m.first_start_rss_mb is not None
                        else {}
                    ),
                }
                for m, _ in rows
            }
            | {"rounds": {RUNTIME_NAMES[r]: [round(m.rate, 1) for m in raw_runs[r]] for r in runtimes}},
            indent=2,
        ),
        "```",
    ]
    report = "\n".join(lines) + "\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
    return report


MIX_SHARE = 0.2  # the share of comments outside English and Spanish in the mixed stream
MODES = ("off", "routed")
MODE_NAMES = {"off": "before: other languages by rules", "routed": "routed: other languages by e5 + heads"}


def language_texts(corpus: Path, count: int) -> tuple[list[str], list[str]]:
    """`count` English comments, and a stream of `count` with MIX_SHARE from the other covered languages
    (multilingual splits), shuffled; both drawn with a fixed seed."""
    from triage_classifier.multilingual import SUBDIR

    english = [i.text for s in SPLITS for i in load_split(corpus, s) if i.lang == "en"]
    others = [
        i.text
        for s in SPLITS
        if (corpus / SUBDIR / f"{s}.jsonl").exists()
        for i in load_split(corpus / SUBDIR, s)
    ]
    rng = np.random.default_rng(11)
    english_only = [english[i] for i in rng.choice(len(english), size=count, replace=count > len(english))]
    n_other = round(count * MIX_SHARE)
    mixed = english_only[: count - n_other] + [
        others[i] for i in rng.choice(len(others), size=n_other, replace=n_other > len(others))
    ]
    return english_only, [mixed[i] for i in rng.permutation(len(mixed))]


def mode_rss(mode: str, texts: list[str]) -> tuple[float, float]:
    """Peak and final resident memory (MiB) of a fresh process that loads the classifier (ONNX) with
    `TRIAGE_CLASSIFIER_MULTILINGUAL=mode` and judges `texts`."""
    return _fresh_process_rss("multilingual", mode, texts)


def run_languages(corpus: Path, count: int, output: Path | None) -> str:
    """English-only traffic and a stream with 20 % other languages, through the classifier function before
    (other languages by the rules) and routed (e5 + heads for them), in alternating rounds; resident memory
    of a fresh process in each design."""
    settings = ClassifierSettings()
    english, mixed = language_texts(corpus, count)
    threads = settings.threads or None
    classifiers = {
        mode: HybridClassifier.load(threads=threads, runtime=settings.runtime, multilingual=mode)  # type: ignore[arg-type]
        for mode in MODES
    }
    for classifier in classifiers.values():
        classifier.classify_batch(mixed[:BATCH])  # warm-up
    runs: dict[tuple[str, str], list[Measure]] = {}
    streams = {"English only": english, f"{MIX_SHARE:.0%} other languages": mixed}
    size = settings.batch_size
    for round_no in range(ROUNDS):
        for stream, texts in streams.items():
            # Each micro-batch goes through both designs back to back (the first alternating), so a busy
            # shared machine slows both alike.
            seconds = dict.fromkeys(MODES, 0.0)
            latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
            for k, start in enumerate(range(0, len(texts), size)):
                batch = texts[start : start + size]
                for mode in MODES if (k + round_no) % 2 == 0 else tuple(reversed(MODES)):
                    t0 = time.perf_counter()
                    classifiers[mode].classify_batch(batch)
                    elapsed = time.perf_counter() - t0
                    seconds[mode] += elapsed
                    latencies[mode].append(elapsed * 1000)
            for mode in MODES:
                name = f"classifier function, {stream}, {MODE_NAMES[mode]}"
                measure = Measure(
                    name, len(texts), seconds[mode], latencies[mode], f"per micro-batch of {size}"
                )
                runs.setdefault((mode, stream), []).append(measure)
    today = median_of(runs[("off", "English only")]).rate
    rss = {mode: mode_rss(mode, mixed[:512]) for mode in MODES}
    # The Faust worker itself on the mixed stream, through the broker, routed: its resident memory.
    flagged = sum(bool(j.labels) for j in classifiers["routed"].classify_batch(mixed))
    os.environ["TRIAGE_CLASSIFIER_MULTILINGUAL"] = "routed"
    worker = worker_measure(mixed, flagged, None, settings.runtime)
    lines = [
        "## Languages (`triage bench classifier --languages`)",
        "",
        f"Generated on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}; ONNX Runtime, encoder "
        f"threads setting {settings.threads or 'default'}. {count} comments per stream: English comments from "
        f"the corpus, and the same with {MIX_SHARE:.0%} replaced by comments in the nine other covered "
        f"languages (multilingual splits), shuffled. Micro-batches of {settings.batch_size}, each judged by both "
        f"designs back to back; median of {ROUNDS} rounds. Versions: {classifiers['routed'].version}.",
        "",
        "| what | comments/s (median) | range over rounds | vs before, English only |",
        "|---|---:|---:|---:|",
    ]
    for measures in runs.values():
        m = median_of(measures)
        rates = [x.rate for x in measures]
        lines.append(
            f"| {m.name} | {m.rate:.1f} | {min(rates):.1f} to {max(rates):.1f} | {m.rate / today:.2f}x |"
        )
    lines += [
        "",
        "Resident memory (MiB) of a fresh process that loads the classifier and judges 512 comments of the "
        "mixed stream: "
        + "; ".join(
            f"{MODE_NAMES[mode]}: peak {peak:.0f}, after {last:.0f}" for mode, (peak, last) in rss.items()
        )
        + ".",
        "",
        f"The Faust worker (routed, ONNX Runtime) on the mixed stream through the embedded broker: "
        f"{worker.rate:.1f} comments/s from first published to last flag consumed, resident memory peak "
        f"{worker.rss_peak_mb or float('nan'):.0f} MiB.",
        "",
    ]
    report = "\n".join(lines)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
    return report
