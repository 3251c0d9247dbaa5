"""The profanity feature scored with numpy from artefacts/profanity.npz gives alt-profanity-check's
probabilities, and the committed file is what the export writes today (byte for byte)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from profanity_check import predict_prob as package_predict_prob
from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.profanity import PROFANITY_FILE, predict_prob
from triage_classifier.training.corpus import SPLITS, load_split
from triage_classifier.training.profanity_export import export_profanity, write_npz

ROOT = Path(__file__).resolve().parents[3]
EDGE_CASES = [
    "",
    "   ",
    "the and of",  # stop words alone: no known word
    "FUCK this",
    "f*ck this sh1t",
    "You absolute idiot, idiot, IDIOT",
    "¡Qué mierda de servicio!",
    "Thank you to the nurses on 4B 🙏",
    "word " * 600,
]


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    texts = [item.text for split in SPLITS for item in load_split(ROOT / "data" / "corpus", split)]
    multilingual = ROOT / "data" / "corpus" / "multilingual"
    if multilingual.exists():
        texts += [item.text for split in ("train", "test") for item in load_split(multilingual, split)]
    return texts


def test_numpy_scores_equal_the_package_on_the_corpus(corpus_texts: list[str]) -> None:
    texts = corpus_texts + EDGE_CASES
    expected = np.asarray(package_predict_prob(texts), dtype=np.float64)
    got = predict_prob(texts)
    assert got.shape == expected.shape == (len(texts),)
    assert np.max(np.abs(got - expected)) <= 1e-6
    # The corpus spans both ends, so the comparison means something.
    assert expected.max() > 0.9 and expected.min() < 0.1


def test_the_feature_column_is_the_numpy_score() -> None:
    features, _ = extract(EDGE_CASES)
    column = features[:, FEATURE_NAMES.index("profanity")]
    assert column.dtype == np.float32
    assert np.allclose(column, package_predict_prob(EDGE_CASES), atol=1e-6)
    assert predict_prob([]).shape == (0,)


def test_the_committed_file_is_what_the_export_writes(tmp_path: Path, corpus_texts: list[str]) -> None:
    committed = hashlib.sha256(PROFANITY_FILE.read_bytes()).hexdigest()
    report = export_profanity(corpus_texts[:200], tmp_path / "profanity.npz")
    assert report["max_abs_difference"] <= 1e-6
    assert hashlib.sha256((tmp_path / "profanity.npz").read_bytes()).hexdigest() == committed
    assert PROFANITY_FILE.stat().st_size < 1_000_000


def test_the_npz_writer_is_deterministic_and_numpy_reads_it(tmp_path: Path) -> None:
    arrays = {"b": np.arange(5, dtype=np.float64), "a": np.array(["x", "yz"])}
    write_npz(tmp_path / "one.npz", arrays)
    write_npz(tmp_path / "two.npz", dict(reversed(arrays.items())))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz", allow_pickle=False) as stored:
        assert stored["a"].tolist() == ["x", "yz"]
        assert np.array_equal(stored["b"], arrays["b"])
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".npz"] == []  # no scratch file left


def test_an_export_that_drifts_from_the_package_is_refused(
    tmp_path: Path, corpus_texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage_classifier.training import profanity_export

    true_parameters = profanity_export.parameters

    def shifted() -> dict[str, np.ndarray]:
        arrays = true_parameters()
        return {**arrays, "intercept": arrays["intercept"] + 0.01}

    monkeypatch.setattr(profanity_export, "parameters", shifted)
    with pytest.raises(RuntimeError, match="drifts"):
        export_profanity(corpus_texts[:200], tmp_path / "profanity.npz")
