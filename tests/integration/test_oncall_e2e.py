"""End to end, as separate processes on the embedded broker: an urgent comment replayed into the pipeline
pages on-call (a local signed-webhook receiver) within 10 seconds, and a real Prometheus (Debian package)
scraping the services sees the series move."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker, free_port

from tests.builders import unique
from tests.fakes.webhook import Received, Receiver, receiving
from tests.integration import processes
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

TOKEN = "oncall-e2e-token-5d2a"
SECRET = "e2e-webhook-secret"
START_TIMEOUT = 90.0
PAGE_DEADLINE = 10.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@dataclass
class Stack:
    broker: EmbeddedBroker
    api_url: str
    api_port: int
    classifier_port: int
    env: dict[str, str]
    children: list[processes.Child]
    work: Path

    def replay(self, lines: list[dict[str, Any]], account: str) -> None:
        path = self.work / f"{unique('replay')}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        result = subprocess.run(
            [sys.executable, "-m", "triage_cli", "replay", str(path), "--account-id", account,
             "--bootstrap-servers", self.broker.bootstrap_servers],
            env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]

    async def flag_keys(self) -> set[str]:
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as client:
            page = await client.get(
                "/api/flags", params={"limit": 200}, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            return {f["comment_key"] for f in page.json()["items"]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("oncall-e2e")
    broker = EmbeddedBroker().start()
    api_port, classifier_port = free_port(), free_port()
    channels = [{"name": "oncall-hook", "type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/page",
                 "secret": SECRET}]  # fmt: skip
    env = processes.service_env(
        TRIAGE_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        TRIAGE_KAFKA_PROFILE="embedded",
        TRIAGE_CLASSIFIER_MODE="rules",
        TRIAGE_CLASSIFIER_APP_ID=unique("oncall-classifier"),
        TRIAGE_CLASSIFIER_DATA_DIR=str(work / "classifier"),
        TRIAGE_CLASSIFIER_WEB_PORT=str(classifier_port),
        TRIAGE_API_CONSUMER_GROUP=unique("oncall-api"),
        TRIAGE_API_DATABASE_URL=f"sqlite:///{work / 'triage.db'}",
        TRIAGE_API_PORT=str(api_port),
        TRIAGE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
        TRIAGE_ONCALL_CHANNELS=json.dumps(channels),
        TRIAGE_ONCALL_PUBLIC_URL="https://triage.example",
        TRIAGE_ONCALL_POLL_INTERVAL_S="0.5",
        TRIAGE_LOG_LEVEL="INFO",
    )
    children: list[processes.Child] = []
    try:
        for name in ("api", "classifier"):
            children.append(processes.start(name, [name], env, work / "logs"))
        processes.wait_ready(
            children,
            [f"http://127.0.0.1:{api_port}/readyz", f"http://127.0.0.1:{classifier_port}/metrics"],
            START_TIMEOUT,
        )
        yield Stack(broker, f"http://127.0.0.1:{api_port}", api_port, classifier_port, env, children, work)
    finally:
        processes.stop(children)
        broker.stop()
        print(processes.describe(children))


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (apt-get install prometheus; .ci/run does)")
    port = free_port()
    config = stack.work / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: triage-api\n    static_configs: [{{targets: ['127.0.0.1:{stack.api_port}']}}]\n"
        f"  - job_name: triage-classifier\n    static_configs: [{{targets: ['127.0.0.1:{stack.classifier_port}']}}]\n"
    )
    log = (stack.work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={stack.work / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


async def query(prometheus: str, promql: str) -> float | None:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            body = (await client.get(f"{prometheus}/api/v1/query", params={"query": promql})).json()
        except httpx.HTTPError:
            return None
    result = body.get("data", {}).get("result", [])
    return sum(float(r["value"][1]) for r in result) if result else None


async def test_an_urgent_comment_pages_on_call_within_ten_seconds_and_prometheus_sees_it(
    stack: Stack, receiver: Receiver, prometheus: str
) -> None:
    account = unique("acct")
    # Warm-up: the classifier has joined its group once a first flag comes through.
    stack.replay([{"id": "w1", "text": "You are all useless clowns", "author": "w"}], account)
    await eventually(lambda: _has(stack, f"demo:{account}:w1"), START_TIMEOUT, "the warm-up flag", every=0.3)
    before = await query(prometheus, 'triage_api_notifications_total{outcome="sent"}') or 0.0

    started = time.monotonic()
    stack.replay([{"id": "u1", "text": "My dad just collapsed in your lobby and he is not breathing",
                   "author": "u"}], account)  # fmt: skip
    dedup_key = f"urgent_comment:demo:{account}:u1"

    async def paged() -> Received | None:
        return next((r for r in receiver.requests if json.loads(r.body)["dedup_key"] == dedup_key), None)

    page = await eventually(paged, PAGE_DEADLINE + 5, "the on-call page", every=0.1)
    assert page.at - started <= PAGE_DEADLINE, f"paged after {page.at - started:.1f}s"

    body = json.loads(page.body)
    assert body["action"] == "trigger" and body["kind"] == "urgent_comment" and body["severity"] == "critical"
    assert "breathing" not in page.body.decode()  # links, never the comment text
    assert any(link["href"].startswith("https://triage.example/") for link in body["links"])
    timestamp = page.headers["X-Triage-Timestamp"]
    signature = hmac.new(SECRET.encode(), timestamp.encode() + b"." + page.body, hashlib.sha256).hexdigest()
    assert page.headers["X-Triage-Signature"] == f"v1={signature}"

    async def moved(promql: str, above: float = 0.0) -> float | None:
        value = await query(prometheus, promql)
        return value if value is not None and value > above else None

    await eventually(lambda: moved('triage_api_notifications_total{outcome="sent"}', before), 20,
                     "Prometheus to see the notification")  # fmt: skip
    for promql in (
        'up{job="triage-api"}',
        'up{job="triage-classifier"}',
        "triage_classifier_comments_total",
        'triage_classifier_flags_total{label="urgent"}',
        "triage_classifier_batch_latency_seconds_count",
        'triage_classifier_alerts_total{kind="urgent_comment"}',
        'triage_api_flags_stored_total{label="urgent"}',
        'triage_api_alerts_received_total{kind="urgent_comment"}',
        "triage_api_notification_latency_seconds_count",
        'triage_api_alerts_open{kind="urgent_comment"}',
    ):
        await eventually(lambda p=promql: moved(p), 20, f"{promql} > 0 in Prometheus")  # type: ignore[misc]
    assert await query(prometheus, "triage_api_consumer_lag_messages") is not None
    stack_alive = [c for c in stack.children if not c.alive()]
    assert not stack_alive, processes.describe(stack_alive)


async def _has(stack: Stack, key: str) -> bool:
    return key in await stack.flag_keys()
