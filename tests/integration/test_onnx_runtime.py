"""The encoder on ONNX Runtime against the torch encoder it replaces: the same embeddings and the same labels on
the test split, int8 with its float re-check giving the float labels, a deterministic export, and a worker
import path that never needs torch."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from triage_classifier.artefact import Artefact
from triage_classifier.base_model import base_model_path
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.onnx_export import cached_export, export, fine_tuned_weights
from triage_classifier.policy import LABELS
from triage_classifier.runtime import load_encoder, load_onnx_encoder
from triage_classifier.training.corpus import load_split, matrix
from triage_classifier.training.metrics import label_metrics
from triage_events import Label

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NAMES = [label.value for label in LABELS]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def torch_classifier() -> HybridClassifier:
    return HybridClassifier.load(runtime="torch")


@pytest.fixture(scope="session")
def test_texts_and_gold() -> tuple[list[str], np.ndarray]:
    items = load_split(ROOT / "data" / "corpus", "test")
    return [item.text for item in items], matrix(items)


def test_onnx_gives_the_torch_embeddings_in_the_callers_order(
    torch_classifier: HybridClassifier, onnx_cache: Path, test_texts_and_gold: tuple[list[str], np.ndarray]
) -> None:
    texts = [*test_texts_and_gold[0][:48], "", "ok", "x " * 400]  # empty, tiny and truncated at 128 tokens
    delta = torch_classifier.artefact.delta
    onnx = load_encoder("onnx", delta, threads=2, cache_dir=onnx_cache)
    reference = torch_classifier.encoder.encode(texts, batch_size=16)
    got = onnx.encode(texts, batch_size=16)
    assert got.shape == reference.shape == (len(texts), 384)
    cosine = np.sum(reference * got, axis=1)
    assert cosine.min() > 0.9999, cosine.min()
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Each row belongs to its own text whatever the batching.
    one_by_one = np.vstack([onnx.encode([t]) for t in texts[:5]])
    assert np.allclose(one_by_one, got[:5], atol=1e-4)
    assert onnx.encode([]).shape == (0, 384)


def test_onnx_forwards_at_most_forward_batch_texts_a_run(
    onnx_cache: Path, test_texts_and_gold: tuple[list[str], np.ndarray]
) -> None:
    """Callers ask for batches of 32; the session runs FORWARD_BATCH at a time (less activation memory), same
    embeddings."""
    from triage_classifier.base_model import encode_by_length
    from triage_classifier.onnx_encoder import FORWARD_BATCH, OnnxEncoder

    encoder = OnnxEncoder(Artefact.load().delta, cache_dir=onnx_cache, threads=2)
    texts = test_texts_and_gold[0][:45]
    sizes: list[int] = []
    forward = encoder.forward

    def counted(batch: list[str]) -> np.ndarray:
        sizes.append(len(batch))
        return forward(batch)

    encoder.forward = counted  # type: ignore[method-assign]
    got = encoder.encode(texts, batch_size=32)
    whole, rest = divmod(len(texts), FORWARD_BATCH)
    assert FORWARD_BATCH < 32 and rest
    assert sizes == [FORWARD_BATCH] * whole + [rest]
    assert np.allclose(got, encode_by_length(forward, texts, 32), atol=1e-5)


def split_metrics(classifier: HybridClassifier, texts: list[str], gold: np.ndarray) -> dict:  # type: ignore[type-arg]
    judgements = classifier.classify_batch(texts)
    pred = np.array([[label in j.labels for label in LABELS] for j in judgements])
    return label_metrics(gold, pred, NAMES)


@pytest.fixture(scope="session")
def torch_metrics(
    torch_classifier: HybridClassifier, test_texts_and_gold: tuple[list[str], np.ndarray]
) -> dict:  # type: ignore[type-arg]
    metrics = split_metrics(torch_classifier, *test_texts_and_gold)
    assert metrics["macro_f1"] > 0.7  # the torch path itself labels well (so the comparisons mean something)
    return metrics


def test_onnx_labels_the_test_split_as_the_torch_path_does(
    torch_metrics: dict,  # type: ignore[type-arg]
    onnx_cache: Path,
    test_texts_and_gold: tuple[list[str], np.ndarray],
) -> None:
    """Issue #23's bar: macro-F1 within 0.005 of torch and no label's recall lower by more than 0.01."""
    onnx = split_metrics(
        HybridClassifier.load(runtime="onnx", threads=2, cache_dir=onnx_cache), *test_texts_and_gold
    )
    assert onnx["macro_f1"] >= torch_metrics["macro_f1"] - 0.005, (
        onnx["macro_f1"],
        torch_metrics["macro_f1"],
    )
    for name in NAMES:
        assert onnx["per_label"][name]["recall"] >= torch_metrics["per_label"][name]["recall"] - 0.01, name


def test_onnx_int8_meets_the_bar_with_the_float_decisions_where_labels_act(
    torch_metrics: dict,  # type: ignore[type-arg]
    onnx_cache: Path,
    test_texts_and_gold: tuple[list[str], np.ndarray],
) -> None:
    """int8 alone moves a few test comments across a threshold; with the float re-check of the comments it
    leaves near the urgent, privacy, hostile or spam threshold (within the margins `triage train` measured for
    these heads), it gives the float runtime's decisions on those labels on the test split, re-judging about
    the share of comments training measured (the test split's register items sit near the thresholds a little
    more often than the corpus as a whole)."""
    texts, gold = test_texts_and_gold
    int8 = HybridClassifier.load(runtime="onnx-int8", threads=2, cache_dir=onnx_cache)
    assert int8.precise is not None
    metrics = split_metrics(int8, texts, gold)
    assert metrics["macro_f1"] >= torch_metrics["macro_f1"] - 0.005, (metrics["macro_f1"], torch_metrics)
    for name in NAMES:
        assert metrics["per_label"][name]["recall"] >= torch_metrics["per_label"][name]["recall"] - 0.01, name
    measured = int8.artefact.metrics["int8_recheck"]
    assert list(int8.recheck_margins) == [measured["margins"][name] for name in NAMES]
    assert 0 < int8.rechecked < 1.5 * measured["rechecked_share"] * len(texts), int8.rechecked

    # urgent, privacy, hostile, spam: the float decisions on every test comment; misinformation and clinical
    # advice int8 decides, a few flips in hundreds at most (held to the bar against torch above).
    fp32 = HybridClassifier.load(runtime="onnx", threads=2, cache_dir=onnx_cache)
    got = [set(j.labels) for j in int8.classify_batch(texts)]
    want = [set(j.labels) for j in fp32.classify_batch(texts)]
    acting = {Label.URGENT, Label.PRIVACY, Label.HOSTILE, Label.SPAM}
    assert [g & acting for g in got] == [w & acting for w in want]
    flips = sum(len(g ^ w) for g, w in zip(got, want, strict=True))
    assert flips <= 0.02 * len(texts), flips


def test_the_recheck_graph_gives_the_float_embeddings(
    onnx_cache: Path, test_texts_and_gold: tuple[list[str], np.ndarray]
) -> None:
    """The int8 runtime's re-check reads its word table in float16: on every test comment its embedding is the
    float graph's to within rounding."""
    delta = Artefact.load().delta
    texts = test_texts_and_gold[0]
    full = load_onnx_encoder("fp32", delta, threads=2, cache_dir=onnx_cache).encode(texts)
    half = load_onnx_encoder("fp32-words16", delta, threads=2, cache_dir=onnx_cache).encode(texts)
    cosine = np.sum(full * half, axis=1)
    assert cosine.min() > 0.99999, cosine.min()


def test_the_export_is_deterministic_and_smaller_where_weights_are_narrower(tmp_path: Path) -> None:
    """The same bytes twice; int8 under two fifths of fp32 (its word table, 23 MB of it, in float16), and the
    re-check's graph (its word table in float16 too) at least a fifth smaller than fp32."""
    delta = Artefact.load().delta
    model_dir = base_model_path()
    paths = [
        export(model_dir, delta, tmp_path / name, precision)
        for name, precision in (
            ("a.onnx", "fp32"),
            ("b.onnx", "fp32"),
            ("c.onnx", "int8"),
            ("d.onnx", "int8"),
            ("e.onnx", "fp32-words16"),
            ("f.onnx", "fp32-words16"),
        )
    ]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digests[0] == digests[1]
    assert digests[2] == digests[3]
    assert digests[4] == digests[5]
    assert paths[2].stat().st_size < paths[0].stat().st_size * 0.4
    assert paths[4].stat().st_size < paths[0].stat().st_size * 0.8
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".onnx"] == []  # no scratch files left


def test_a_delta_for_a_weight_the_model_lacks_is_refused(tmp_path: Path) -> None:
    bad = {"encoder.layer.9.attention.self.query.lora_a": np.zeros((2, 384), dtype=np.float16)}
    bad["encoder.layer.9.attention.self.query.lora_b"] = np.zeros((384, 2), dtype=np.float16)
    with pytest.raises(ValueError, match="lacks"):
        fine_tuned_weights(base_model_path(), bad)
    with pytest.raises(ValueError, match="unexpected keys"):
        fine_tuned_weights(base_model_path(), {"embeddings.word_embeddings.weight": np.zeros(1)})
    # The cached export runs in a child process: its refusal reaches the caller, and nothing is cached.
    with pytest.raises(ValueError, match="lacks"):
        cached_export(base_model_path(), bad, tmp_path)
    assert not any(tmp_path.glob("*.onnx"))


def test_the_worker_loads_and_classifies_with_torch_uninstallable(tmp_path: Path) -> None:
    """The worker's import path (agents, loader, the ONNX encoder) in a process where importing torch,
    transformers, peft or sentence-transformers fails as if they were not installed, and where neither scipy nor
    scikit-learn (nor alt-profanity-check, which loads them) is imported while it loads and judges."""
    script = textwrap.dedent(
        """
        import sys

        BLOCKED = ("torch", "transformers", "peft", "sentence_transformers")
        NOT_IMPORTED = ("scipy", "sklearn", "profanity_check", "joblib")

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, NotInstalled())
        from triage_classifier import agents  # noqa: F401
        from triage_classifier.config import ClassifierSettings
        from triage_classifier.loader import load_classifier

        classifier = load_classifier(ClassifierSettings(data_dir=sys.argv[1], threads=2))
        judgements = classifier.classify_batch(
            ["I took all my pills an hour ago and I want to die", "Thank you to the nurses on 4B, wonderful care"]
        )
        print("labels", [sorted(label.value for label in j.labels) for j in judgements])
        print("loaded", sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in BLOCKED}))
        print("heavy", sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in NOT_IMPORTED}))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("TRIAGE_CLASSIFIER_RUNTIME", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(
        line.split(" ", 1)
        for line in done.stdout.splitlines()
        if line.startswith(("labels", "loaded", "heavy"))
    )
    assert lines["labels"] == "[['urgent'], []]"
    assert lines["loaded"] == "[]"
    assert lines["heavy"] == "[]"
    exported = {p.name.rsplit("-", 1)[0] for p in (tmp_path / "onnx").iterdir()}
    assert exported == {"encoder-int8", "encoder-fp32-words16"}, exported  # the default: int8, its re-check


def test_training_exports_and_checks_the_onnx_encoder(
    torch_classifier: HybridClassifier, tmp_path: Path
) -> None:
    from triage_classifier.training.onnx_check import export_and_check

    texts = ["Is it safe to take ibuprofen with lisinopril?", "Great staff in the ER last night", ""]
    delta = torch_classifier.artefact.delta
    report = export_and_check(torch_classifier.encoder, delta, texts, tmp_path)
    assert report["min_cosine"] >= 0.9999
    assert (tmp_path / report["file"]).exists()
    # An encoder that is not the one exported (the base model without the delta) is caught.
    with pytest.raises(RuntimeError, match="drifts"):
        export_and_check(load_encoder("torch", {}), delta, texts, tmp_path)
