"""Running a `triage bench …` command in a test: a corpus whose every comment the rules flag urgent (so every
comment must reach the database and page), and the report's table read back row by row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.processes import service_env

# Each is judged urgent by the rules alone (`--mode rules`), so each comment gives one flag and one page.
URGENT_TEXTS = [
    "I swallowed all my pills and I can't stay awake, help",
    "I want to kill myself tonight",
    "I'm going to shoot up the clinic tomorrow",
    "my chest hurts and I can't breathe, please help",
    "I took 40 tablets, goodbye everyone",
]


def urgent_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"text": text, "labels": ["urgent"], "lang": "en"}) for text in URGENT_TEXTS]
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def run_bench(args: list[str], output: Path, timeout: float = 900) -> str:
    """`triage bench <args> --output <output>`; the report it wrote."""
    result = subprocess.run(
        [sys.executable, "-m", "triage_cli", "bench", *args, "--output", str(output)],
        env=service_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return output.read_text(encoding="utf-8")


def table(report: str) -> tuple[list[str], dict[str, list[str]]]:
    """The report's table: its header cells, and each row's cells after the first, keyed by the first."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in report.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    assert rows, report
    return rows[0], {row[0]: row[1:] for row in rows[1:]}
