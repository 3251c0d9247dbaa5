"""`triage run --kafka HOST:PORT`: the whole product on an Apache Kafka node instead of the embedded broker,
demo flags in the dashboard, a clean Ctrl-C that leaves Kafka running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from triage_bench.kafka_launcher import KafkaCluster
from triage_bus.embedded import free_port

from tests.integration.processes import service_env
from tests.integration.test_cli_run import Lines

pytestmark = [pytest.mark.integration, pytest.mark.kafka]


def test_triage_run_on_kafka_serves_demo_flags_and_leaves_kafka_running(
    kafka_node: KafkaCluster, tmp_path: Path
) -> None:
    data_dir = tmp_path / "triage-data"
    api_port, ingest_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "triage_cli", "run", "--kafka", kafka_node.bootstrap_servers),
            *("--data-dir", str(data_dir), "--classifier-mode", "rules"),
            *("--api-port", str(api_port), "--ingest-port", str(ingest_port)),
        ],
        env=service_env(TRIAGE_CLASSIFIER_APP_ID=f"run-kafka-{os.getpid()}-{time.time_ns()}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    output = Lines(process.stdout)
    try:
        dashboard = output.wait_for(r"Dashboard:\s+(http://\S+?)/?\s*$", 120).group(1)
        username, password = output.wait_for(r"Login:\s+(\S+) / (\S+)", 5).groups()
        output.wait_for(rf"Broker:\s+{kafka_node.bootstrap_servers}\s+\(kafka\)", 5)
        assert (
            json.loads((data_dir / "run.json").read_text())["bootstrap_servers"]
            == kafka_node.bootstrap_servers
        )
        assert not (data_dir / "logs" / "broker.log").exists()  # no embedded broker started

        with httpx.Client(base_url=dashboard, timeout=5) as client:
            assert client.post("/login", data={"username": username, "password": password}).status_code == 303
            deadline = time.monotonic() + 90
            total = 0
            while time.monotonic() < deadline and not total:
                total = client.get("/api/flags", params={"label": "urgent"}).json()["total"]
                time.sleep(0.5)
            assert total > 0, f"no demo flags on Kafka\n{output.rest(1)}"

        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(90)
        text = output.rest()
        assert code == 0, text
        assert "Stopped." in text
        assert all(node.alive() for node in kafka_node.nodes)  # not ours to stop
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
