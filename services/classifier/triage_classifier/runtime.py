"""Which engine runs the encoder, chosen by `TRIAGE_CLASSIFIER_RUNTIME`.

- `onnx`: ONNX Runtime with the float weights, fused attention kernels. Needs neither torch nor transformers,
  and gives the torch path's embeddings (cosine above 0.9999) and so its labels.
- `onnx-int8` (the default): the same graph with int8 weights (dynamic quantisation), about twice as fast.
  Alone it moves some comments across a threshold, so the classifier loads the float graph beside it (its word
  table in float16, `fp32-words16`) and judges again in float every comment int8 leaves near the threshold of
  urgent, privacy, hostile or spam (the artefact's `recheck_margin`, one a label, measured by `triage
  train`): the float path's decisions on those four labels, int8's on misinformation and clinical advice
  (within issue #23's bar), the worker about 1.3 times as fast as on float (docs/benchmarks.md).
- `torch`: the training-time encoder on transformers; needs the `train` extra (`pip install -e '.[train]'`).

All three take the artefact's fine-tuning delta and return the same pooled, normalised embeddings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from triage_classifier.onnx_export import Precision

Runtime = Literal["onnx", "onnx-int8", "torch"]
RUNTIMES: tuple[Runtime, ...] = ("onnx", "onnx-int8", "torch")


class TextEncoder(Protocol):
    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...


def load_encoder(
    runtime: Runtime,
    delta: dict[str, np.ndarray],
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> TextEncoder:
    """The encoder with `delta` applied; ONNX models are exported once into `cache_dir` and reused."""
    if runtime == "torch":
        try:
            from triage_classifier.encoder import Encoder
        except ImportError as exc:
            raise ImportError(
                "TRIAGE_CLASSIFIER_RUNTIME=torch needs the training extra: pip install -e '.[train]'"
            ) from exc
        encoder = Encoder(threads=threads)
        if delta:
            encoder.apply_delta(delta)
        return encoder
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown classifier runtime {runtime!r}: one of {', '.join(RUNTIMES)}")
    return load_onnx_encoder("int8" if runtime == "onnx-int8" else "fp32", delta, threads, cache_dir)


def load_onnx_encoder(
    precision: Precision,
    delta: dict[str, np.ndarray],
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> TextEncoder:
    """The encoder on ONNX Runtime at `precision`, exported once into `cache_dir` (the data folder's `onnx`
    unless given)."""
    from triage_classifier.onnx_encoder import OnnxEncoder

    if cache_dir is None:
        from triage_classifier.config import get_settings

        cache_dir = get_settings().data_dir / "onnx"
    return OnnxEncoder(delta, cache_dir=cache_dir, precision=precision, threads=threads)
