"""`triage bench api` end to end on a small table: flags loaded, the listing measured on both schemas."""

from __future__ import annotations

import re

import pytest
from triage_bench.api import run_api

pytestmark = pytest.mark.integration

REQUESTS = ("first page of 50, unfiltered", "label + status", "deep page by cursor")


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_bench_api_loads_the_flags_and_measures_both_schemas_without_errors(database: str) -> None:
    report = run_api(1200, 2, 0.3, database, reference=True, workers=1)
    assert "1,200 flags in" in report
    rows = [line for line in report.splitlines() if line.startswith("| ") and "| one worker |" in line]
    for request in REQUESTS:
        measured = [row for row in rows if row.startswith(f"| {request}")]
        assert len(measured) == 3, request  # at 1, 2 (--concurrency) and 4 clients
        for row in measured:
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert cells[8] == "0"  # no errors on the migrated schema
            requests_per_s = float(cells[4])
            reference_per_s = float(cells[10])
            assert requests_per_s > 0 and reference_per_s > 0
    assert re.search(r"API process RSS at the end: \d+ MiB", report)
