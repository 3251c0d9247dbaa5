"""The int8 re-check margins, measured by `triage train` for the heads it has just fitted.

On the default runtime (`onnx-int8`) the classifier encodes every comment in int8 and encodes again in float
the comments whose int8 logit for a label comes within that label's margin of its threshold
(`HybridClassifier`). int8 moves each embedding a little, and each label's head turns that into logit error
in proportion to its own weights; how far depends on the comment's neighbours in its batch too (ONNX
Runtime quantises a batch's activations with one scale).

- **urgent, privacy, hostile and spam keep the float path's decisions**: urgent pages on-call, privacy
  marks exposed health information, hostile escalates repeat authors, and spam's head moves most under int8
  (decided on int8, 2 of the test split's 42 spam comments were lost: more than issue #23's bar of 0.01 of
  recall). Their margins are measured here, on the comments the heads were fitted and calibrated on (never
  the test split), encoded in int8 two ways (one at a time, and batched by length as the services batch):
  the widest int8 distance from the label's threshold among the comments whose label int8 changes, with a
  quarter of headroom, rounded up to a quarter logit.
- **Misinformation and clinical advice are decided on int8**: margin 0. int8 flips a few tenths of a percent
  of their decisions, within the bar (macro-F1 within 0.005 of the float path, no recall lower by 0.01);
  covering them too would widen the re-check for decisions that only sort the queue (docs/benchmarks.md,
  "A margin for each label").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.base_model import DIM
from triage_classifier.hybrid import logit, near_a_threshold
from triage_classifier.onnx_encoder import OnnxEncoder

HEADROOM = 1.25
STEP = 0.25
MINIMUM = 0.5
FLOAT_DECIDED = ("urgent", "privacy", "hostile", "spam")


def margin_for(widest_crossing: float) -> float:
    """The re-check margin that covers a crossing this far from its threshold, with headroom."""
    return max(MINIMUM, math.ceil(widest_crossing * HEADROOM / STEP) * STEP)


def measure_recheck_margin(
    texts: list[str],
    inputs: np.ndarray,
    coef: np.ndarray,
    bias: np.ndarray,
    thresholds: np.ndarray,
    labels: list[str],
    delta: dict[str, np.ndarray],
    cache_dir: Path,
) -> dict[str, Any]:
    """`inputs` are the float path's [embedding, features] rows for `texts`, as the heads were fitted on;
    encode the texts again with the int8 graph and see which (comment, label) decisions move."""
    int8 = OnnxEncoder(delta, cache_dir=cache_dir, precision="int8")
    float_logits = inputs @ coef + bias
    threshold_logits = logit(np.clip(thresholds.astype(np.float64), 1e-6, 1 - 1e-6))
    float_side = float_logits >= threshold_logits
    widest = np.zeros(len(labels))
    crossing_by_label = np.zeros(len(labels), dtype=int)
    largest_change = 0.0
    int8_logits = float_logits
    for batch_size in (1, 32):  # one at a time, then batched by length as the services do
        int8_logits = np.hstack([int8.encode(texts, batch_size=batch_size), inputs[:, DIM:]]) @ coef + bias
        crossing = (int8_logits >= threshold_logits) != float_side
        distance = np.where(crossing, np.abs(int8_logits - threshold_logits), 0.0)
        widest = np.maximum(widest, distance.max(axis=0))
        crossing_by_label = np.maximum(crossing_by_label, crossing.sum(axis=0))
        largest_change = max(largest_change, float(np.abs(int8_logits - float_logits).max()))
    margins = np.array(
        [
            margin_for(float(w)) if label in FLOAT_DECIDED else 0.0
            for label, w in zip(labels, widest, strict=True)
        ]
    )

    def by_label(values: np.ndarray) -> dict[str, float]:
        return {label: round(float(v), 3) for label, v in zip(labels, values, strict=True)}

    return {
        "margins": by_label(margins),
        "comments": len(texts),
        "crossing_by_label": {label: int(n) for label, n in zip(labels, crossing_by_label, strict=True)},
        "widest_crossing": by_label(widest),
        "largest_logit_change": round(largest_change, 3),
        # As the services batch (the last pass).
        "rechecked_share": round(float(near_a_threshold(int8_logits, threshold_logits, margins).mean()), 4),
    }
