"""`triage bench pipeline --broker both` with a tiny burst: the embedded broker and a real Kafka node side by
side in one table, and on each every comment judged and its flag stored (nothing lost)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from triage_bench.kafka_launcher import KAFKA_VERSION

from tests.integration.bench_support import run_bench, table, urgent_corpus
from tests.integration.processes import service_env

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

BURST, STEADY_RATE, STEADY_SECONDS = 150, 20, 2


def test_bench_pipeline_on_both_brokers_side_by_side_loses_no_comment(tmp_path: Path) -> None:
    report = run_bench(
        [
            *("pipeline", "--broker", "both", "--count", str(BURST), "--mode", "rules", "--workers", "1"),
            *("--steady-rate", str(STEADY_RATE), "--steady-seconds", str(STEADY_SECONDS)),
            *("--corpus", str(urgent_corpus(tmp_path / "corpus"))),
        ],
        tmp_path / "pipeline.md",
    )
    header, rows = table(report)
    assert header == [
        "what",
        "embedded broker",
        f"Apache Kafka {KAFKA_VERSION} (1 node)",
        "kafka / embedded",
        "reference (same run)",
    ]
    # Every comment rules-urgent: each of the steady phase's and the burst's comments is one stored flag.
    flags = BURST + STEADY_RATE * STEADY_SECONDS
    assert rows["comments published / judged by the workers (burst)"][:2] == [f"{BURST} / {BURST}"] * 2
    assert (
        rows["flags stored / visible through the API (steady phase and burst)"][:2]
        == [f"{flags} / {flags}"] * 2
    )
    for what in (
        "broker raw produce (acks=all, linger 5 ms)",
        "pipeline sustained (publish → every comment judged and its flag stored)",
        "peak RSS, broker",
    ):
        embedded, kafka, ratio = (float(cell.split()[0]) for cell in rows[what][:3])
        assert embedded > 0 and kafka > 0, rows[what]
        assert ratio == pytest.approx(kafka / embedded, rel=0.05, abs=0.01), rows[what]


def test_bench_pipeline_without_kafka_jars_says_what_to_run(tmp_path: Path) -> None:
    env = service_env(TRIAGE_KAFKA_JARS=str(tmp_path / "no-kafka-here"))
    result = subprocess.run(
        [sys.executable, "-m", "triage_cli", "bench", "pipeline", "--broker", "kafka", "--mode", "rules"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "tests/kafka/fetch.sh" in result.stderr
    assert "Traceback" not in result.stderr
