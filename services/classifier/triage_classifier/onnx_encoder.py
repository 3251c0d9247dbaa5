"""The encoder on ONNX Runtime: the fine-tuned MiniLM exported by `onnx_export`, tokenised with the
`tokenizers` library from the base model's tokenizer.json. Neither torch nor transformers is imported.

Same contract as the torch `Encoder`: texts are sorted by length before batching (padding stays small), and the
pooled, L2-normalised embeddings come back in the caller's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.base_model import MAX_TOKENS, base_model_path, encode_by_length
from triage_classifier.onnx_export import Precision, cached_export

log = logging.getLogger(__name__)

# The most texts one session run takes, whatever batch the caller asks for. The activations ONNX Runtime's arena
# grows to (and keeps) scale with it: 16 instead of 32 held the peak about 55 MiB lower, 8 instead of 16 another
# 28 MiB, and neither cost the int8 encoder CPU per comment (shorter runs of length-sorted texts pad less).
# Freeing the arena after each run, or running without it, gave the memory back between batches but not a
# lower peak, and cost 6 to 10 % more CPU (docs/benchmarks.md, "Encoder runtimes" and "A leaner worker").
FORWARD_BATCH = 8


@cache
def _share_one_arena() -> None:
    """Register one CPU arena with ONNX Runtime's environment, once per process. Sessions that opt in
    (`session.use_env_allocators`) take their activations from it instead of growing an arena each: with the
    int8 encoder and its float re-check in one worker that holds one arena's peak, not two."""
    import onnxruntime as ort

    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, -1, -1, -1))  # ONNX Runtime's defaults


def open_session(model_path: Path, threads: int | None) -> Any:
    """An ONNX Runtime session on the CPU as the encoders run it: every graph optimisation, one stream of
    operators with `threads` inside each (0 or None: one per core), activations from the shared arena."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads or 0  # 0: one per core
    _share_one_arena()
    options.add_session_config_entry("session.use_env_allocators", "1")
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def load_tokenizer(model_dir: Path):  # type: ignore[no-untyped-def]
    """The base model's fast tokenizer, truncating at MAX_TOKENS and padding to the longest in a batch
    (tokenizer.json itself pads every text to 128, which would waste most of the work on short comments)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class OnnxEncoder:
    def __init__(
        self,
        delta: dict[str, np.ndarray] | None = None,
        cache_dir: Path = Path(".triage/classifier/onnx"),
        precision: Precision = "fp32",
        threads: int | None = None,
        model_dir: Path | None = None,
    ) -> None:
        model_dir = model_dir or base_model_path()
        self.precision = precision
        self.model_path = cached_export(model_dir, delta or {}, cache_dir, precision)
        self.tokenizer = load_tokenizer(model_dir)
        self.session = open_session(self.model_path, threads)
        log.info("onnx encoder loaded precision=%s file=%s", precision, self.model_path.name)

    def forward(self, texts: list[str]) -> np.ndarray:
        """Pooled, normalised embeddings for one batch."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (embeddings,) = self.session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})
        return embeddings  # type: ignore[no-any-return]

    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embeddings for `texts` in their order (batched by length, at most FORWARD_BATCH texts a run)."""
        return encode_by_length(self.forward, texts, min(batch_size, FORWARD_BATCH), progress)
