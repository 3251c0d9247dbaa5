"""`triage bench oncall`: urgent comments at ingest at a fixed rate, through the classifier workers and the
API's alert consumer to the on-call notifier, which pages a local webhook receiver (this process). Each
comment's latency from ingest (published on the comments topic, as the ingest service does) to its page, with
the part of it spent in each hop, read from the alert rows; and how many comments were paged exactly once.
Benchmarks report numbers; `tests/integration/test_bench_oncall.py` asserts the count."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

from triage_cli.supervisor import classifier_workers_env

from triage_bench.pipeline import (
    BusUnderTest,
    _cpu,
    _quiet_clients,
    _stored_times,
    bench_comment,
    database,
    local_broker,
    machine,
    percentile,
    postgres_pid,
    publish_at_rate,
    service_env,
    start_service,
    stop_services,
    wait_ready,
)

URGENT_KIND = "urgent_comment"
TARGET_P99_MS = 5000.0
QUIET_S = 30.0  # give up waiting for pages after this long without a new one (a comment not judged urgent)


@dataclass
class Receiver:
    """The on-call webhook: every POST's arrival time and body, kept in memory (pages hold no comment text)."""

    port: int
    pages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                at = time.time()
                with receiver.lock:
                    receiver.pages.append((at, json.loads(body)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def triggers(self) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return [(at, page) for at, page in self.pages if page.get("action") == "trigger"]


def urgent_texts(corpus: Path) -> list[str]:
    """The corpus's comments labelled urgent (every split): what the bench sends, in turn."""
    texts = []
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        path = corpus / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    if "urgent" in record.get("labels", []):
                        texts.append(record["text"])
    if not texts:
        raise RuntimeError(f"no comments labelled urgent in {corpus}")
    return texts


def run_oncall(
    count: int,
    rate: float,
    mode: str,
    corpus: Path,
    db_kind: str = "postgresql",
    broker_kind: str = "embedded",
    workers: int = 2,
) -> tuple[str, dict[str, Any]]:
    """The run and its report; the figures as a dict too (for the test)."""
    _quiet_clients()
    if broker_kind == "kafka":
        from triage_bench.kafka_launcher import kafka_classpath

        kafka_classpath()
    pool = urgent_texts(corpus)
    texts = [pool[i % len(pool)] for i in range(count)]
    from triage_bus.embedded import free_port

    receiver = Receiver(free_port()).start()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            database(db_kind, Path(tmp)) as database_url,
            local_broker(broker_kind, Path(tmp)) as broker,
        ):
            result = asyncio.run(
                _oncall(broker, receiver, texts, rate, database_url, mode, Path(tmp), workers)
            )
    finally:
        receiver.stop()
    result.update(broker=broker.label, mode=mode, workers=workers, db_kind=db_kind, unique_texts=len(pool))
    return oncall_report(result), result


async def _oncall(
    broker: BusUnderTest,
    receiver: Receiver,
    texts: list[str],
    rate: float,
    database_url: str,
    mode: str,
    work: Path,
    workers: int,
) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from triage_events import COMMENTS, Account, encode

    from triage_bench.pipeline import WARMUP_TEXT

    processes: list[subprocess.Popen[bytes]] = []
    try:
        from triage_bus.embedded import free_port

        api_port = free_port()
        channels = [
            {
                "name": "bench-pager",
                "type": "webhook",
                "url": f"http://127.0.0.1:{receiver.port}/page",
                "secret": "bench-webhook-secret",
            }
        ]
        env = service_env(
            TRIAGE_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
            **broker.env,
            TRIAGE_CLASSIFIER_MODE=mode,
            TRIAGE_CLASSIFIER_APP_ID=f"bench-oncall-{uuid4().hex[:8]}",
            TRIAGE_API_CONSUMER_GROUP=f"bench-oncall-api-{uuid4().hex[:8]}",
            TRIAGE_API_DATABASE_URL=database_url,
            TRIAGE_API_PORT=str(api_port),
            TRIAGE_BOOTSTRAP_ADMIN_TOKEN="bench-token",
            TRIAGE_ONCALL_CHANNELS=json.dumps(channels),
            TRIAGE_ONCALL_PUBLIC_URL="https://triage.example",
            TRIAGE_LOG_LEVEL="WARNING",
        )
        api = start_service("api", env, work / "api.log")
        classifiers = {
            name: start_service("classifier", {**env, **own}, work / f"{name}.log")
            for name, own in classifier_workers_env(workers, work).items()
        }
        processes += [api, *classifiers.values()]
        await wait_ready(f"http://127.0.0.1:{api_port}/readyz", processes)

        account = Account(id=f"bench-oncall-{uuid4().hex[:6]}", handle="@bench")
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=5)
        await producer.start()
        try:
            # Warm-up: the path is ready once an obvious urgent comment has paged.
            warm = bench_comment(account, 0, WARMUP_TEXT, "warmup")
            await producer.send_and_wait(COMMENTS.name, encode(warm), key=warm.kafka_key)
            await _wait_for_pages(receiver, {f"{URGENT_KIND}:{warm.comment_key}"}, 300.0, processes)

            cpu_pids: dict[str, int | list[int]] = {
                "broker": broker.pids,
                **{name: p.pid for name, p in classifiers.items()},
                "api": api.pid,
                "postgresql": postgres_pid() or 0,
            }
            cpu_before = {name: _cpu(pids) for name, pids in cpu_pids.items()}
            wall_started = time.time()
            sent_at = await publish_at_rate(producer, account, texts, rate, "urgent")
            sent_rate = len(texts) / (time.time() - wall_started)
            wanted = {f"{URGENT_KIND}:{key}" for key in sent_at}
            await _wait_for_pages(receiver, wanted, QUIET_S, processes, quiet=True)
            cpu = {name: _cpu(pids) - cpu_before[name] for name, pids in cpu_pids.items()}
            last_page = max(
                (at for at, page in receiver.triggers() if page.get("dedup_key") in wanted), default=0
            )
            elapsed = max(last_page, wall_started + 1) - wall_started
        finally:
            await producer.stop()
        alerts = _alert_times(database_url)
        flags = _stored_times(database_url)
    finally:
        stop_services(processes)

    first_page: dict[str, float] = {}
    pages_per_key: dict[str, int] = {}
    other = 0
    for at, page in receiver.triggers():
        key = page.get("dedup_key", "")
        if page.get("kind") != URGENT_KIND or key.removeprefix(f"{URGENT_KIND}:") not in sent_at:
            other += page.get("kind") != URGENT_KIND
            continue
        pages_per_key[key] = pages_per_key.get(key, 0) + 1
        first_page[key] = min(first_page.get(key, at), at)

    def ms(pairs: list[tuple[float, float]]) -> list[float]:
        return [(end - start) * 1000 for start, end in pairs]

    keys = [k for k in sent_at if f"{URGENT_KIND}:{k}" in first_page]
    total = ms([(sent_at[k], first_page[f"{URGENT_KIND}:{k}"]) for k in keys])
    hops = {
        "ingest → flag stored by the API": ms([(sent_at[k], flags[k]) for k in keys if k in flags]),
        "ingest → alert raised by the classifier": ms(
            [(sent_at[k], alerts[f"{URGENT_KIND}:{k}"][0]) for k in keys if f"{URGENT_KIND}:{k}" in alerts]
        ),
        "alert raised → alert stored by the API": ms(
            [alerts[f"{URGENT_KIND}:{k}"] for k in keys if f"{URGENT_KIND}:{k}" in alerts]
        ),
        "alert stored → page received": ms(
            [
                (alerts[f"{URGENT_KIND}:{k}"][1], first_page[f"{URGENT_KIND}:{k}"])
                for k in keys
                if f"{URGENT_KIND}:{k}" in alerts
            ]
        ),
    }
    return {
        "sent": len(sent_at),
        "rate": rate,
        "sent_rate": sent_rate,
        "paged": len(first_page),
        "once": sum(1 for n in pages_per_key.values() if n == 1),
        "duplicates": sum(n - 1 for n in pages_per_key.values()),
        "never": len(sent_at) - len(first_page),
        "not_judged_urgent": sum(1 for k in sent_at if f"{URGENT_KIND}:{k}" not in alerts),
        "other_pages": other,
        "latency": {q: percentile(total, q) for q in (50, 95, 99)}
        | {"max": max(total, default=float("nan"))},
        "hops": {name: (percentile(v, 50), percentile(v, 99)) for name, v in hops.items()},
        "cpu": cpu,
        "elapsed": elapsed,
    }


async def _wait_for_pages(
    receiver: Receiver, wanted: set[str], timeout: float, processes: list[Any], quiet: bool = False
) -> None:
    """Until every dedup key in `wanted` has paged; gives up after `timeout` s (with `quiet`: after `timeout`
    s without a new page)."""
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a service exited during the run")
        paged = {page.get("dedup_key") for _, page in receiver.triggers()}
        if wanted <= paged:
            return
        if quiet and len(paged) > seen:
            seen, deadline = len(paged), time.monotonic() + timeout
        if time.monotonic() > deadline:
            if not quiet:
                raise RuntimeError(f"no page within {timeout:.0f} s (is the on-call path up?)")
            return
        await asyncio.sleep(0.2)


def _alert_times(database_url: str) -> dict[str, tuple[float, float]]:
    """Each alert's dedup key: (raised by the classifier, stored by the API), as Unix times."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT dedup_key, raised_at, stored_at FROM alerts")).all()
    finally:
        engine.dispose()

    def unix(value: Any) -> float:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return float((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())

    return {key: (unix(raised), unix(stored)) for key, raised, stored in rows}


def oncall_report(r: dict[str, Any]) -> str:
    lat = r["latency"]
    met = "met" if lat[99] < TARGET_P99_MS else "not met"
    cores = os.cpu_count() or 1
    busy = sum(r["cpu"].values()) / (r["elapsed"] * cores)
    cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in r["cpu"].items())
    lines = [
        "## Urgent comment to the on-call page (`triage bench oncall`)",
        "",
        f"Generated on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        f"{r['sent']} comments labelled urgent in the corpus ({r['unique_texts']} different texts, sent in turn) "
        f"published on the comments topic of the {r['broker']} at {r['rate']:g} comments/s on a fixed "
        f"schedule, as the ingest service publishes them; judged by {r['workers']} classifier "
        f"worker{'s' if r['workers'] > 1 else ''} "
        f"(`{r['mode']}` mode); the alert stored by the API in {r['db_kind']} and paged by its on-call notifier "
        "through a signed webhook to a receiver in the bench process (product defaults otherwise: one level of "
        "escalation, the notifier woken by the alert consumer). Every process is separate.",
        "",
        "| what | value | reference (same run) |",
        "|---|---:|---|",
        f"| urgent comments published | {r['sent']} at {r['sent_rate']:.1f}/s | offered {r['rate']:g}/s |",
        f"| urgent comments paged exactly once | {r['once']} of {r['sent']} | — |",
        f"| duplicate pages | {r['duplicates']} | — |",
        f"| never paged | {r['never']} (not judged urgent: {r['not_judged_urgent']}) | — |",
        f"| latency ingest → page p50 / p95 / p99 / max | {lat[50]:.0f} / {lat[95]:.0f} / {lat[99]:.0f} / "
        f"{lat['max']:.0f} ms | target: p99 under {TARGET_P99_MS:,.0f} ms ({met}) |",
    ]
    for name, (p50, p99) in r["hops"].items():
        lines.append(f"| of which {name}, p50 / p99 | {p50:.0f} / {p99:.0f} ms | — |")
    lines += [
        f"| other pages (surges of urgent flags on the account, PHI) | {r['other_pages']} | — |",
        f"| CPU time, first comment → last page ({r['elapsed']:.0f} s on {cores} cores: {busy:.0%} of them) "
        f"| {cpu} | — |",
        "",
        "The hops overlap: a flag and its alert leave the classifier together and the API stores them from two "
        "consumers. Times come from one clock (the services run on this machine). The CPU times run until "
        f"the bench stopped waiting ({QUIET_S:.0f} s after the last page when a comment was not judged urgent), "
        "when the services were idle.",
        "",
    ]
    return "\n".join(lines)
