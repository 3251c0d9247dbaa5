"""The ONNX export as a step of `triage train`: build the runtime's encoder from the freshly trained delta and
check it against the torch encoder the heads were fitted on, so a model that trains is a model that serves.

The export itself is deterministic and cheap (numpy and the `onnx` helpers), so the services rebuild it from the
committed artefact into their data folder rather than the artefact carrying 90 MB of graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.onnx_encoder import OnnxEncoder
from triage_classifier.onnx_export import RECIPE
from triage_classifier.runtime import TextEncoder

MIN_COSINE = 0.9999


def export_and_check(
    reference: TextEncoder, delta: dict[str, np.ndarray], texts: list[str], cache_dir: Path
) -> dict[str, Any]:
    """Export the fp32 encoder into `cache_dir` and compare its embeddings of `texts` with `reference`'s;
    raises if any falls below MIN_COSINE. Returns what goes into the artefact's metrics."""
    onnx = OnnxEncoder(delta, cache_dir=cache_dir, precision="fp32")
    cosine = np.sum(reference.encode(texts) * onnx.encode(texts), axis=1)
    worst = float(cosine.min()) if len(cosine) else 1.0
    if worst < MIN_COSINE:
        raise RuntimeError(
            f"the ONNX export drifts from the torch encoder: cosine {worst:.6f} < {MIN_COSINE}"
        )
    return {
        "recipe": RECIPE,
        "file": onnx.model_path.name,
        "texts": len(texts),
        "min_cosine": round(worst, 6),
    }
