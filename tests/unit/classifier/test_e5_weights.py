"""The e5 weights reader on blocks built here: Q4_0 decodes as the engine's deq_row does."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from triage_classifier.e5_weights import dequantize_q4_0, q4_0_parts


def block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = weight j (low nibble) | weight j + 16 (high nibble)."""
    assert len(nibbles) == 32
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_q4_0_block_decodes_low_nibbles_first_then_high_with_offset_8() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    values = dequantize_q4_0(block(0.5, nibbles), 32)
    expected = (np.array(nibbles, dtype=np.float32) - 8) * 0.5
    np.testing.assert_array_equal(values, expected)
    assert values.dtype == np.float32


def test_q4_0_blocks_keep_their_own_scales_and_fp16_precision() -> None:
    raw = block(0.1, [9] * 32) + block(-2.0, [0] * 32)
    values = dequantize_q4_0(raw, 64)
    np.testing.assert_array_equal(values[:32], np.float32(np.float16(0.1)))  # (9 - 8) · fp16(0.1)
    np.testing.assert_array_equal(values[32:], np.float32(16.0))  # (0 - 8) · -2
    with pytest.raises(ValueError, match="whole blocks"):
        dequantize_q4_0(raw, 48)


def test_q4_0_parts_are_the_int8_values_and_scales_the_graph_multiplies() -> None:
    raw = block(0.25, list(range(16)) * 2) + block(3.0, [15] * 32)
    values, scales = q4_0_parts(raw, 64)
    assert values.dtype == np.int8 and values.shape == (2, 32) and scales.shape == (2, 1)
    assert values.min() == -8 and values.max() == 7
    np.testing.assert_array_equal((values.astype(np.float32) * scales).reshape(-1), dequantize_q4_0(raw, 64))
