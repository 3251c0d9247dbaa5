"""The trained artefact: heads, thresholds, label set, training-data hash, metrics, and the encoder's
fine-tuning delta if any. Small enough to commit; loaded from the package by default."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DIR = Path(__file__).parent / "artefacts" / "current"


@dataclass
class Artefact:
    version: str
    labels: list[str]
    feature_names: list[str]
    thresholds: dict[str, float]
    rule_override: list[str]  # labels a strong rule settles on its own
    data_sha256: str
    seed: int
    metrics: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)  # base model, fine-tuning recipe
    # int8 logits this near a label's threshold are judged in float again: one margin a label (older: one for all)
    recheck_margin: dict[str, float] | float | None = None
    weights: np.ndarray | None = None  # (inputs, labels)
    bias: np.ndarray | None = None  # (labels,)
    delta: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray) and k != "delta"}
        (directory / "artefact.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if self.weights is None or self.bias is None:
            raise ValueError("an artefact needs trained heads before it can be saved")
        np.savez_compressed(directory / "heads.npz", weights=self.weights, bias=self.bias)
        delta_path = directory / "encoder_delta.npz"
        if self.delta:
            halves = {k: v.astype(np.float16) for k, v in self.delta.items()}
            np.savez_compressed(delta_path, **halves)  # type: ignore[arg-type]
        else:
            delta_path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path | None = None) -> Artefact:
        directory = directory or DEFAULT_DIR
        meta_path = directory / "artefact.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"no classifier artefact at {directory}; run `triage train`")
        meta = json.loads(meta_path.read_text())
        with np.load(directory / "heads.npz") as heads:
            arrays = {k: heads[k] for k in ("weights", "bias")}
        delta: dict[str, np.ndarray] = {}
        if (directory / "encoder_delta.npz").exists():
            with np.load(directory / "encoder_delta.npz") as stored:
                delta = {k: stored[k] for k in stored.files}
        return cls(**meta, **arrays, delta=delta)
