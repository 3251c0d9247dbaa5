"""The e5 tokenizer rebuilt from a vocabulary built here follows the engine's rules (metaspace, collapsed
spaces, no fused unknowns, the <unk> piece never matched, windows of 510)."""

from __future__ import annotations

import numpy as np
import pytest
from triage_classifier.e5_tokenizer import WINDOW, E5Tokenizer
from triage_classifier.e5_weights import E5Vocabulary


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    pieces = [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "\u2581",
        "\u2581query",
        ":",
        "\u2581ab",
        "a",
        "b",
        "c",
        "bc",
        "d",
    ]
    scores = [0.0, 0.0, 0.0, 0.0, -2.0, -1.0, -1.5, -1.0, -3.0, -3.0, -3.0, -2.0, -4.0]
    vocabulary = E5Vocabulary(
        pieces=pieces,
        scores=np.array(scores, dtype=np.float32),
        bos=0,
        eos=2,
        pad=1,
        unk=3,
        normalisation={ord("\t"): " ", ord("D"): "d", 0x200B: ""},
    )
    return E5Tokenizer(vocabulary)


def test_tokenizer_prefixes_maps_and_collapses_spaces(tokenizer: E5Tokenizer) -> None:
    # "▁query", ":", "▁ab", "c"; the tab maps to a space and the spaces collapse into one "▁".
    assert tokenizer.content_ids(["ab\t \u200bD"]) == [[5, 6, 7, 4, 12]]
    assert tokenizer.content_ids(["abc"]) == [[5, 6, 7, 10]]  # "▁ab" + "c" beats "▁" + "a" + "bc"
    assert tokenizer.token_count("abc") == 6


def test_tokenizer_keeps_one_unk_per_unknown_character_and_never_matches_the_unk_piece(
    tokenizer: E5Tokenizer,
) -> None:
    ids = tokenizer.content_ids(["\u4e00\u4e01"])[0]
    assert ids == [5, 6, 4, 3, 3]
    unk_text = tokenizer.content_ids(["<unk>"])[0]
    assert unk_text == [5, 6, 4, 3, 3, 3, 3, 3]  # five unknown characters, not the <unk> piece
    assert tokenizer.content_ids(["a\x00b"]) == tokenizer.content_ids(["a"])


def test_windows_cut_long_content_into_510_with_specials(tokenizer: E5Tokenizer) -> None:
    windows = tokenizer.windows(list(range(10, 10 + WINDOW + 3)))
    assert [len(w) for w in windows] == [WINDOW + 2, 5]
    assert windows[1] == [0, 10 + WINDOW, 11 + WINDOW, 12 + WINDOW, 2]
    assert tokenizer.windows([]) == [[0, 2]]
