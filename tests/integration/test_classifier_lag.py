"""The real classifier worker (rules mode, a broker of its own) exports `triage_classifier_consumer_lag` on its
/metrics for each partition of the comments topic and of its two re-keyed internal topics, and the lag is
back to zero once everything it was sent is committed."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from triage_bus.embedded import free_port
from triage_events import COMMENTS, encode

from tests.builders import make_comment, unique
from tests.integration import processes
from tests.integration.helpers import committed_total, eventually, produce
from tests.kafka.fixtures import Bus, bus_env

pytestmark = pytest.mark.integration

DEADLINE = 120.0
SAMPLE = re.compile(r"^triage_classifier_consumer_lag\{([^}]*)\} ([0-9.e+]+)$", re.MULTILINE)
TEXTS = [
    "You receptionists are lazy clueless idiots.",
    "What time does the pharmacy on Birch Avenue close on Sundays?",
    "Click here for cheap pills www.pills-now.example",
]


def lag_samples(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for labels, value in SAMPLE.findall(text):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        found[(pairs["topic"], pairs["partition"])] = float(value)
    return found


async def test_the_worker_exports_its_lag_per_topic_and_partition(fresh_bus: Bus, tmp_path: Path) -> None:
    app_id = unique("clf-lag")
    port = free_port()
    env = processes.service_env(
        **bus_env(fresh_bus),
        TRIAGE_CLASSIFIER_MODE="rules",
        TRIAGE_CLASSIFIER_APP_ID=app_id,
        TRIAGE_CLASSIFIER_DATA_DIR=str(tmp_path / "classifier"),
        TRIAGE_CLASSIFIER_WEB_PORT=str(port),
    )
    comments = [make_comment(text=TEXTS[i % len(TEXTS)]) for i in range(30)]
    internal = (f"{app_id}-account-labels", f"{app_id}-author-verdicts")
    children = [processes.start("classifier", ["classifier"], env, tmp_path / "logs")]
    try:
        await produce(
            fresh_bus.bootstrap_servers, COMMENTS.name, [(c.kafka_key, encode(c)) for c in comments]
        )

        async def all_committed() -> bool:
            assert children[0].alive(), processes.describe(children)
            done = await committed_total(
                fresh_bus.bootstrap_servers, app_id, COMMENTS.name, COMMENTS.partitions
            )
            return done == len(comments)

        await eventually(all_committed, DEADLINE, "the worker to commit every comment", every=0.5)

        partitions = {str(p) for p in range(COMMENTS.partitions)}
        # One worker holds every partition of the three topics its agents read, and nothing else (no
        # changelogs).
        expected = {(topic, p) for topic in (COMMENTS.name, *internal) for p in partitions}
        seen: list[dict[tuple[str, str], float]] = []

        async def caught_up() -> dict[tuple[str, str], float] | None:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            samples = lag_samples(response.text)
            seen.append(samples)
            # The timer runs every few seconds; a partition appears once something was fetched from it.
            return samples if set(samples) == expected and not any(samples.values()) else None

        samples = await eventually(caught_up, 60, "the exported lag to come back to zero", every=1.0)
    finally:
        processes.stop(children)
        print(processes.describe(children))
    assert set(samples) == expected
    assert all(value == 0 for value in samples.values())
    assert all(set(s) <= expected for s in seen), "only the agents' topics, never the tables' changelogs"
    assert not children[0].alive()
