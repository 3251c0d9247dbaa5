"""Take `alt-profanity-check`'s model apart into `artefacts/profanity.npz`, which the services score with numpy
(`triage_classifier.profanity`), and check that the two give the same probabilities. Needs the `train` extra
(the package, scikit-learn); `triage train` runs it.

The file is deterministic: the same package gives the same bytes (the zip entries carry a fixed date), so
re-running it leaves the committed file unchanged.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.profanity import PROFANITY_FILE, ProfanityModel

TOLERANCE = 1e-6
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)

# What the numpy scorer reproduces; a package release that changes any of these is refused, not approximated.
_VECTORIZER = {
    "analyzer": "word",
    "binary": False,
    "lowercase": True,
    "ngram_range": (1, 1),
    "norm": "l2",
    "preprocessor": None,
    "strip_accents": None,
    "sublinear_tf": False,
    "tokenizer": None,
    "use_idf": True,
}


def parameters() -> dict[str, np.ndarray]:
    """The package's vectoriser and calibrated SVMs as plain arrays."""
    from profanity_check import profanity_check as package

    vectorizer, model = package.vectorizer, package.model
    settings = vectorizer.get_params()
    changed = {k: settings.get(k) for k, v in _VECTORIZER.items() if settings.get(k) != v}
    if changed:
        raise ValueError(f"alt-profanity-check's vectoriser changed: {changed}")
    if model.method != "sigmoid" or list(model.classes_) != [0, 1]:
        raise ValueError("alt-profanity-check's model is no longer sigmoid-calibrated and binary")
    words = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    stop_words = vectorizer.get_stop_words() or frozenset()
    if stop_words & set(words):  # scored as if stop words never reach the vocabulary, as at fit time
        raise ValueError("alt-profanity-check's vocabulary holds stop words")
    folds = model.calibrated_classifiers_
    for fold in folds:
        if len(fold.calibrators) != 1 or fold.estimator.coef_.shape != (1, len(words)):
            raise ValueError("alt-profanity-check's folds are not one linear model each")
    return {
        "token_pattern": np.array(settings["token_pattern"]),
        "vocabulary": np.array(words),
        "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
        "coef": np.stack([fold.estimator.coef_[0] for fold in folds], axis=1).astype(np.float64),
        "intercept": np.array([fold.estimator.intercept_[0] for fold in folds], dtype=np.float64),
        "slope": np.array([fold.calibrators[0].a_ for fold in folds], dtype=np.float64),
        "offset": np.array([fold.calibrators[0].b_ for fold in folds], dtype=np.float64),
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz numpy reads back, with fixed dates and order: the same arrays give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A scratch file of its own, so that two trainings at once (the same bytes) never share one.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}-", delete=False) as handle:
        scratch = Path(handle.name)
    with zipfile.ZipFile(scratch, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, buffer.getvalue(), compresslevel=9)
    scratch.chmod(0o644)  # package data, not private: the model holds no comment text
    scratch.replace(path)


def largest_difference(model: ProfanityModel, texts: list[str]) -> float:
    """The largest gap between the numpy scorer and the package over `texts`."""
    from profanity_check import predict_prob

    if not texts:
        return 0.0
    return float(
        np.max(np.abs(model.predict_prob(texts) - np.asarray(predict_prob(texts), dtype=np.float64)))
    )


def export_profanity(texts: list[str], path: Path = PROFANITY_FILE) -> dict[str, Any]:
    """Write the numpy model to `path` and check it against the package on `texts`; raises past TOLERANCE.
    Returns what goes into the artefact's metrics."""
    write_npz(path, parameters())
    gap = largest_difference(ProfanityModel.load(path), texts)
    if gap > TOLERANCE:
        raise RuntimeError(f"the numpy profanity scorer drifts from alt-profanity-check: {gap:.2e}")
    return {"file": path.name, "texts": len(texts), "max_abs_difference": gap}
