"""The int8 re-check margin, measured by `triage train` for the heads it has just fitted.

On the default runtime (`onnx-int8`) the classifier encodes every comment in int8 and encodes again in float
the comments whose int8 logits come within a margin of a label's threshold (`HybridClassifier`). How wide that
margin must be depends on the heads: int8 moves each embedding a little, and the heads turn that into logit
error in proportion to their weights. So the margin is measured here, on the comments the heads were fitted
and calibrated on, and stored in the artefact: the widest int8 distance from a threshold among the comments
whose labels int8 changes, with a quarter of headroom, rounded up to a quarter logit.
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


def margin_for(widest_crossing: float) -> float:
    """The re-check margin that covers a crossing this far from its threshold, with headroom."""
    return max(MINIMUM, math.ceil(widest_crossing * HEADROOM / STEP) * STEP)


def measure_recheck_margin(
    texts: list[str],
    inputs: np.ndarray,
    coef: np.ndarray,
    bias: np.ndarray,
    thresholds: np.ndarray,
    delta: dict[str, np.ndarray],
    cache_dir: Path,
) -> dict[str, Any]:
    """`inputs` are the float path's [embedding, features] rows for `texts`, as the heads were fitted on;
    encode the texts again with the int8 graph and see which (comment, label) decisions move."""
    int8 = OnnxEncoder(delta, cache_dir=cache_dir, precision="int8")
    float_logits = inputs @ coef + bias
    int8_inputs = np.hstack([int8.encode(texts), inputs[:, DIM:]])
    int8_logits = int8_inputs @ coef + bias
    threshold_logits = logit(np.clip(thresholds.astype(np.float64), 1e-6, 1 - 1e-6))
    crossing = (int8_logits >= threshold_logits) != (float_logits >= threshold_logits)
    distance = np.abs(int8_logits - threshold_logits)
    widest = float(distance[crossing].max()) if crossing.any() else 0.0
    margin = margin_for(widest)
    return {
        "margin": margin,
        "comments": len(texts),
        "comments_crossing": int(crossing.any(axis=1).sum()),
        "widest_crossing": round(widest, 3),
        "largest_logit_change": round(float(np.abs(int8_logits - float_logits).max()), 3),
        "rechecked_share": round(float(near_a_threshold(int8_logits, threshold_logits, margin).mean()), 4),
    }
