"""The classifier bench's micro-batch timer: every micro-batch judged once, however many judges share them,
and the model's thread count put back afterwards."""

from __future__ import annotations

import threading

import pytest
import torch
from triage_classifier.bench import time_batches
from triage_classifier.config import ClassifierSettings


@pytest.mark.parametrize("judges", [1, 2, 3])
def test_every_micro_batch_is_timed_once_whatever_the_judges(judges: int) -> None:
    seen: list[list[str]] = []
    threads: set[str] = set()

    def fn(batch: list[str]) -> None:
        seen.append(batch)
        threads.add(threading.current_thread().name)

    texts = [f"comment {i}" for i in range(10)]
    before = torch.get_num_threads()
    measure = time_batches("fake", fn, texts, size=4, judges=judges, threads=1)
    assert sorted(text for batch in seen for text in batch) == sorted(texts)
    assert sorted(len(batch) for batch in seen) == [2, 4, 4]
    assert len(measure.latencies_ms) == 3 and measure.items == 10
    assert len(threads) <= judges
    assert torch.get_num_threads() == before


def test_the_model_threads_share_the_cores_among_the_judges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert ClassifierSettings(judges=2).model_threads == 4
    assert ClassifierSettings(judges=3).model_threads == 2
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert ClassifierSettings(judges=4).model_threads == 1
    with pytest.raises(ValueError):
        ClassifierSettings(judges=0)
