"""The fine-tuned encoder as an ONNX graph, built from the weights with numpy and the `onnx` helpers alone.

The graph is the BERT encoder of all-MiniLM-L6-v2 written out op by op (embeddings, six layers of
self-attention and feed-forward, post-layer-norm) followed by the mean pooling and L2 normalisation the torch
path does, so the session returns the sentence embeddings directly. The artefact's LoRA delta is added to the
base weights first (W += B @ A, in float32, as `Encoder.apply_delta` does).

No torch is needed and no tracing happens: the same weights always give the same bytes, so the export is
deterministic and can run wherever the classifier runs. `int8` then quantises the weight matrices (per output
channel) and the position table with ONNX Runtime's dynamic quantisation; activations are quantised per
batch at run time. Both `int8` and `fp32-words16` (the float graph of the int8 runtime's re-check, the
artefact's `recheck_margin`) store the word table in float16 and widen the rows after the lookup: half of
the table's 45 MiB, embeddings within cosine 0.99999 of the float graph's, and in int8 no rounding of rare
rows: the int8 table put one comment's spam logit almost five logits from the float one, through the
[UNK] row every emoji reads (docs/benchmarks.md, "A margin for each label").
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

Precision = Literal["fp32", "int8", "fp32-words16"]

# Bump when the graph or the quantisation recipe changes: cached models built by older code are then unused.
RECIPE = "bert-mean-l2-v4"
OPSET = 17  # LayerNormalization
CONTRIB = "com.microsoft"  # ONNX Runtime's fused transformer kernels


def fine_tuned_weights(model_dir: Path, delta: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The base safetensors weights with the LoRA delta added."""
    from safetensors.numpy import load_file

    return add_lora_delta(load_file(str(model_dir / "model.safetensors")), delta)


def add_lora_delta(weights: dict[str, np.ndarray], delta: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`weights` (BERT's names) with each adapted matrix W replaced by W + B @ A, in place."""
    unknown = [k for k in delta if not k.endswith((".lora_a", ".lora_b"))]
    if unknown:
        raise ValueError(f"unexpected keys in the encoder delta: {', '.join(sorted(unknown)[:3])}")
    for name in sorted({k.rsplit(".", 1)[0] for k in delta}):
        a, b = delta[f"{name}.lora_a"], delta[f"{name}.lora_b"]
        key = f"{name}.weight"
        if key not in weights:
            raise ValueError(f"the encoder delta names a weight the base model lacks: {key}")
        weights[key] = weights[key] + b.astype(np.float32) @ a.astype(np.float32)
    return weights


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list = []  # type: ignore[type-arg]
        self.initializers: list = []  # type: ignore[type-arg]
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        """x @ W.T + b, with W stored transposed so MatMul (and its int8 form) takes it directly."""
        w = self.const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.astype(np.float32))
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def dense_add_norm(
        self, x: str, residual: str, weights: dict[str, np.ndarray], prefix: str, eps: float
    ) -> str:
        """LayerNorm(x @ W.T + b + residual) as one SkipLayerNormalization after the MatMul."""
        w = self.const(f"{prefix}.dense.weight_t", weights[f"{prefix}.dense.weight"].T.astype(np.float32))
        inputs = [
            self.op("MatMul", [x, w]),
            residual,
            self.const(
                f"{prefix}.LayerNorm.weight", weights[f"{prefix}.LayerNorm.weight"].astype(np.float32)
            ),
            self.const(f"{prefix}.LayerNorm.bias", weights[f"{prefix}.LayerNorm.bias"].astype(np.float32)),
            self.const(f"{prefix}.dense.bias", weights[f"{prefix}.dense.bias"].astype(np.float32)),
        ]
        return self.op("SkipLayerNormalization", inputs, domain=CONTRIB, epsilon=eps)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"].astype(np.float32))
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def half_word_lookup(table: np.ndarray) -> Callable[[_Graph], str]:
    """The word table stored in float16: the Gather takes float16 rows and widens them to float32 (a Cast
    after a lookup by input, so the session keeps the table at half size rather than folding it)."""

    def lookup(g: _Graph) -> str:
        rows = g.op("Gather", [g.const("word_embeddings_fp16", table.astype(np.float16)), "input_ids"])
        return g.op("Cast", [rows], to=1)  # FLOAT

    return lookup


def build_model(
    weights: dict[str, np.ndarray],
    config: dict[str, object],
    recipe: str = RECIPE,
    mean_output: bool = False,
    word_lookup: Callable[[_Graph], str] | None = None,
) -> object:
    """An onnx.ModelProto: input_ids and attention_mask (batch, tokens) int64 → embeddings (batch, hidden).

    Position ids run from 0 over the given position table (an encoder whose positions start elsewhere, as
    XLM-R's at padding_idx + 1, passes its table from that row). `mean_output` adds the pooled vectors before
    normalisation as a second output, "mean" (for callers that combine windows of one long text); `recipe` is
    recorded as the producer version; `word_lookup` replaces the Gather over the float word table (given no
    "embeddings.word_embeddings.weight") with the caller's nodes. The defaults give the fine-tuned MiniLM's
    graph, byte for byte."""
    from onnx import TensorProto, helper

    hidden = int(config["hidden_size"])  # type: ignore[call-overload]
    heads = int(config["num_attention_heads"])  # type: ignore[call-overload]
    layers = int(config["num_hidden_layers"])  # type: ignore[call-overload]
    eps = float(config["layer_norm_eps"])  # type: ignore[arg-type]
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only BERT encoders with exact GELU and absolute positions are supported")
    g = _Graph()

    # Embeddings: words + positions + token type 0 (single sentences), then layer norm.
    positions = (
        weights["embeddings.position_embeddings.weight"]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    if word_lookup is not None:
        words = word_lookup(g)
    else:
        words = g.op(
            "Gather", [g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"]
        )
    length = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.const("zero_1d", np.array([0], dtype=np.int64))
    pos = g.op("Slice", [g.const("position_embeddings", positions.astype(np.float32)), zero, length, zero])
    x = g.layer_norm(g.op("Add", [words, pos]), weights, "embeddings.LayerNorm", eps)

    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    one = g.const("one", np.array(1.0, dtype=np.float32))

    mask_index = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)  # 1 keep, 0 padding
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    half = g.const("half", np.array(0.5, dtype=np.float32))

    for i in range(layers):
        p = f"encoder.layer.{i}"
        # Self-attention as ONNX Runtime's fused kernel: one packed q|k|v projection, scaled dot product
        # over the heads with padding masked, and the heads merged back.
        attention = f"{p}.attention.self"
        packed = np.concatenate(
            [weights[f"{attention}.{n}.weight"].T for n in ("query", "key", "value")], axis=1
        )
        packed_bias = np.concatenate([weights[f"{attention}.{n}.bias"] for n in ("query", "key", "value")])
        context = g.op(
            "Attention",
            [
                x,
                g.const(f"{attention}.qkv_weight", packed.astype(np.float32)),
                g.const(f"{attention}.qkv_bias", packed_bias.astype(np.float32)),
                mask_index,
            ],
            domain=CONTRIB,
            num_heads=heads,
        )
        x = g.dense_add_norm(context, x, weights, f"{p}.attention.output", eps)
        inner = g.linear(x, weights, f"{p}.intermediate.dense")
        # Exact GELU: 0.5 · x · (1 + erf(x / √2)); ONNX Runtime fuses it with the bias into one kernel.
        gelu = g.op(
            "Mul",
            [g.op("Mul", [inner, half]), g.op("Add", [g.op("Erf", [g.op("Div", [inner, sqrt2])]), one])],
        )
        x = g.dense_add_norm(gelu, x, weights, f"{p}.output", eps)

    # Mean over real tokens, then L2 normalisation (the torch path's clamps: 1e-9 on the count, 1e-12 norm).
    weight = g.op("Unsqueeze", [mask, g.const("axis_last", np.array([-1], dtype=np.int64))])
    axis1 = g.const("axis_1", np.array([1], dtype=np.int64))
    total = g.op("ReduceSum", [g.op("Mul", [x, weight]), axis1], keepdims=0)
    count = g.op("ReduceSum", [weight, axis1], keepdims=0)
    count = g.op("Max", [count, g.const("min_count", np.array(1e-9, dtype=np.float32))])
    pooled = g.op("Div", [total, count])
    norm = g.op("ReduceL2", [pooled], axes=[1], keepdims=1)  # axes an attribute until opset 18
    norm = g.op("Max", [norm, g.const("min_norm", np.array(1e-12, dtype=np.float32))])
    g.nodes.append(helper.make_node("Div", [pooled, norm], ["embeddings"], name="embeddings"))
    outputs = [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])]
    if mean_output:
        g.nodes.append(helper.make_node("Identity", [pooled], ["mean"], name="mean"))
        outputs.append(helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", hidden]))

    graph = helper.make_graph(
        g.nodes,
        "triage-encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        outputs,
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB, 1)],
        producer_name="triage",
        producer_version=recipe,
    )
    model.ir_version = 8  # readable by every ONNX Runtime this project accepts
    return model


def cache_key(model_dir: Path, delta: dict[str, np.ndarray], precision: Precision) -> str:
    """What the exported file depends on: the recipe, the base weights and config, the delta, the precision."""
    digest = hashlib.sha256(f"{RECIPE}|{precision}|".encode())
    for name in ("config.json", "model.safetensors"):
        with open(model_dir / name, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    for key in sorted(delta):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(delta[key]).tobytes())
    return digest.hexdigest()[:16]


def export(
    model_dir: Path, delta: dict[str, np.ndarray], output: Path, precision: Precision = "fp32"
) -> Path:
    """Write the encoder to `output` (atomically: a worker starting alongside never reads half a file)."""
    config = json.loads((model_dir / "config.json").read_text())
    weights = fine_tuned_weights(model_dir, delta)
    lookup = None
    if precision in ("fp32-words16", "int8"):
        lookup = half_word_lookup(weights.pop("embeddings.word_embeddings.weight"))
    return write_model(build_model(weights, config, word_lookup=lookup), output, precision)


def write_model(model: object, output: Path, precision: Precision) -> Path:
    """Save `model` to `output` atomically (a worker starting alongside never reads half a file); `int8`
    quantises the float graph's weights first, the other precisions are saved as built."""
    import onnx

    output.parent.mkdir(parents=True, exist_ok=True)
    # A table already stored in float16 is looked up as it is (the quantiser would mis-type its scale).
    halves = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}  # type: ignore[attr-defined]
    kept_half = [n.name for n in model.graph.node if n.op_type == "Gather" and n.input[0] in halves]  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        onnx.save_model(model, str(fp32))  # type: ignore[arg-type]
        del model
        result = fp32
        if precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            result = Path(scratch) / "int8.onnx"
            quantize_dynamic(
                fp32,
                result,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=kept_half,
                # 7-bit weights: without VNNI (AVX2 machines) the u8-by-s8 kernels can saturate, which cost
                # up to 0.03 of cosine on some comments; with it, every test comment stays above 0.989.
                reduce_range=True,
                # Only weights are quantised: q·k and attention·v stay in float.
                # The fused kernels' outputs have no inferred type: they are float.
                extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        os.replace(result, output)
    return output


def cached_export(
    model_dir: Path, delta: dict[str, np.ndarray], cache_dir: Path, precision: Precision = "fp32"
) -> Path:
    """The exported encoder for this artefact, built once per cache folder and reused after.

    The export runs in a child process (`python -m triage_classifier.onnx_export`): building the graph holds a few
    hundred MiB for a second or two, which a worker exporting at its first start would otherwise keep as its peak
    resident memory. A plain child process, not multiprocessing, so no caller needs a `__main__` guard."""
    path = cache_dir / f"encoder-{precision}-{cache_key(model_dir, delta, precision)}.onnx"
    if not path.exists():
        export_in_child(model_dir, delta, path, precision)
    return path


def export_in_child(
    model_dir: Path, delta: dict[str, np.ndarray], output: Path, precision: Precision
) -> None:
    """`export` in a child process of the same interpreter and the same package; its refusals come back as
    ValueError, anything else as RuntimeError."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        delta_file = Path(scratch) / "delta.npz"
        np.savez(delta_file, **delta)  # type: ignore[arg-type]
        run_child("triage_classifier.onnx_export", [str(model_dir), str(delta_file), str(output), precision])


def run_child(module: str, args: list[str]) -> None:
    """`python -m module *args` with this package importable; exit `_REFUSED` comes back as ValueError (the
    child's last line of stderr), any other failure as RuntimeError."""
    import subprocess
    import sys

    package_root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env)
    if done.returncode == _REFUSED:
        raise ValueError(done.stderr.strip().splitlines()[-1])
    if done.returncode != 0:
        raise RuntimeError(f"the ONNX export failed (exit {done.returncode}): {done.stderr[-2000:]}")


_REFUSED = 3  # the child's exit status when `export` refused its input (ValueError)


def _main(argv: list[str]) -> int:
    import sys

    model_dir, delta_file, output, precision = argv
    with np.load(delta_file) as stored:
        delta = {key: stored[key] for key in stored.files}
    try:
        export(Path(model_dir), delta, Path(output), precision)  # type: ignore[arg-type]
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return _REFUSED
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
