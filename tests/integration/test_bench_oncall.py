"""`triage bench oncall` with a small count: every urgent comment published at ingest pages the on-call
webhook exactly once, and the report says so with a latency for each hop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.bench_support import run_bench, table, urgent_corpus

pytestmark = pytest.mark.integration

COUNT = 60


def test_bench_oncall_pages_every_urgent_comment_exactly_once(tmp_path: Path) -> None:
    report = run_bench(
        [
            *("oncall", "--count", str(COUNT), "--rate", "20", "--mode", "rules", "--workers", "1"),
            *("--corpus", str(urgent_corpus(tmp_path / "corpus"))),
        ],
        tmp_path / "oncall.md",
    )
    _, rows = table(report)
    assert rows["urgent comments paged exactly once"][0] == f"{COUNT} of {COUNT}"
    assert rows["duplicate pages"][0] == "0"
    assert rows["never paged"][0] == "0 (not judged urgent: 0)"
    p50, p95, p99, top = (
        float(v) for v in rows["latency ingest → page p50 / p95 / p99 / max"][0][:-3].split(" / ")
    )
    assert 0 < p50 <= p95 <= p99 <= top
    hops = [what for what in rows if what.startswith("of which ")]
    assert len(hops) == 4
    assert all("nan" not in rows[what][0] for what in hops), report
