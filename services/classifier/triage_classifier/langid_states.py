"""py3langid's language identifier without its automaton's transition table: the same scores, 40 MiB less.

py3langid counts a text's byte n-gram features by walking a deterministic automaton over its UTF-8 bytes
(Aho-Corasick over its 100,053 n-grams): 104,583 states whose transitions, 38,346 distinct rows of 256
32-bit entries, hold 39 MB for as long as the identifier lives. After each byte such an automaton is in the
state of the longest suffix of the bytes read so far that begins some n-gram, and that state alone decides
the feature counted there. So the walk can be replaced by looking suffixes up: `StateTable` recovers each
state's string once, at load, by a breadth-first walk of the automaton (the shortest string that reaches a
state is that state's own), keeps the strings in one sorted array with each state's feature (1.2 MB), and
for a text finds, at every byte, the longest suffix that is a state. The feature counts, and so the scores,
are the walk's to the bit: `tests/unit/classifier/test_language.py` compares them on every text of the
corpus, and `check` verifies the premise on every transition of the automaton.
"""

from __future__ import annotations

from array import array
from collections import Counter

import numpy as np
from py3langid.langid import LanguageIdentifier

_CHUNK = 4096  # states expanded at a time during the breadth-first walk: bounds its temporary arrays
_MAX_BYTES = 6  # the longest n-gram a key holds: below the length byte, and never all ones like _NOTHING
_LENGTH_SHIFT = np.uint64(56)  # a key's top byte holds its string's length, the rest the string
_NOTHING = np.uint64((1 << 56) - 1)  # a window that starts before the text: no state's string


class StateTable:
    """The automaton's states as strings of bytes (with their length, in one sorted array), each with the
    feature it counts (-1: none)."""

    def __init__(self, transitions: array, state_rows: array, outputs: list[int]) -> None:
        keys, depths = _state_strings(*_as_arrays(transitions, state_rows))
        feature = np.asarray(outputs, dtype=np.int32)
        if feature[0] != -1:
            raise ValueError("the automaton's start state counts a feature")
        self.longest = int(depths.max())
        tagged = keys | (depths.astype(np.uint64) << _LENGTH_SHIFT)  # one sorted array for every length
        order = np.argsort(tagged[1:]) + 1  # the start state (the empty string) is never looked up
        self.keys = tagged[order]
        self.features = feature[order]
        lengths = np.arange(1, self.longest + 1, dtype=np.uint64)[:, None]
        self._lengths = lengths << _LENGTH_SHIFT
        self._suffix_masks = (np.uint64(1) << (lengths * np.uint64(8))) - np.uint64(1)
        self._place_values = np.uint64(256) ** np.arange(self.longest, dtype=np.uint64).astype(np.int64)

    def counts(self, data: bytes) -> Counter[int]:
        """Each feature counted in `data` and how often, in the order first counted (as the walk's)."""
        size = len(data)
        if not size:
            return Counter()
        codes = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
        # the (up to) `longest` bytes ending at each byte, big-endian; then one row per suffix length
        last = np.convolve(codes, self._place_values)[:size].astype(np.uint64)
        windows = (last & self._suffix_masks) | self._lengths
        for length in range(2, self.longest + 1):
            windows[length - 1, : length - 1] = _NOTHING  # a suffix that would start before the text
        found = np.minimum(np.searchsorted(self.keys, windows), len(self.keys) - 1)
        hit = self.keys[found] == windows
        # the state after byte i is the longest suffix that is a state: the last row with a hit
        longest = self.longest - 1 - np.argmax(hit[::-1], axis=0)
        column = np.arange(size)
        counted = np.where(hit[longest, column], self.features[found[longest, column]], -1)
        return Counter(counted[counted >= 0].tolist())


def _as_arrays(transitions: array, state_rows: array) -> tuple[np.ndarray, np.ndarray]:
    """py3langid's transition rows (distinct rows of 256 next states) and each state's row, as numpy views."""
    rows = np.frombuffer(transitions, dtype=np.uint32).reshape(-1, 256)
    state_row = np.frombuffer(state_rows, dtype=np.uint16 if state_rows.itemsize == 2 else np.uint32)
    return rows, state_row


def _state_strings(rows: np.ndarray, state_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each state's string (big-endian bytes in a uint64) and its length, by a breadth-first walk from the
    start state: the first string to reach a state is the shortest, which is the state's own."""
    states = len(state_row)
    depths = np.full(states, -1, dtype=np.int16)
    keys = np.zeros(states, dtype=np.uint64)
    depths[0] = 0
    frontier = np.array([0])
    depth = 0
    while len(frontier):
        depth += 1
        reached = []
        for start in range(0, len(frontier), _CHUNK):
            parents = frontier[start : start + _CHUNK]
            children = rows[state_row[parents]]  # (parents, 256)
            new_parent, byte = np.nonzero(depths[children] == -1)
            if not len(byte):
                continue
            child = children[new_parent, byte]
            child, first = np.unique(child, return_index=True)  # within a depth, all strings to a child agree
            depths[child] = depth
            keys[child] = keys[parents[new_parent[first]]] * np.uint64(256) + byte[first].astype(np.uint64)
            reached.append(child)
        if reached and depth > _MAX_BYTES:
            raise ValueError(f"an n-gram longer than {_MAX_BYTES} bytes does not fit the table's keys")
        frontier = np.concatenate(reached) if reached else np.array([], dtype=np.int64)
    if (depths < 0).any():
        raise ValueError("the automaton has states its start state does not reach")
    return keys, depths


def check(transitions: array, state_rows: array) -> int:
    """Verify the premise of `StateTable` on every transition of the automaton: from the state of string t,
    byte b leads to the state of the longest suffix of t + b that is a state. Returns the transitions checked;
    raises ValueError at the first that disagrees. Seconds of work: a test's, not a worker's."""
    rows, state_row = _as_arrays(transitions, state_rows)
    keys, depths = _state_strings(rows, state_row)
    longest = int(depths.max())
    tables = []
    for length in range(1, longest + 1):
        states = np.flatnonzero(depths == length)
        order = np.argsort(keys[states])
        tables.append((keys[states][order], states[order]))
    byte = np.arange(256, dtype=np.uint64)
    checked = 0
    for start in range(0, len(state_row), _CHUNK):
        parents = np.arange(start, min(start + _CHUNK, len(state_row)))
        extended = keys[parents, None] * np.uint64(256) + byte  # t + b, as keys of length depth + 1
        expected = np.zeros(extended.shape, dtype=np.int64)  # the start state unless a suffix is a state
        settled = np.zeros(extended.shape, dtype=bool)
        for length in range(longest, 0, -1):
            fits = (depths[parents, None] + 1 >= length) & ~settled
            suffix = extended % np.uint64(256**length)
            table_keys, table_states = tables[length - 1]
            found = np.minimum(np.searchsorted(table_keys, suffix), len(table_keys) - 1)
            hit = fits & (table_keys[found] == suffix)
            expected[hit] = table_states[found[hit]]
            settled |= hit
        actual = rows[state_row[parents]]
        if (actual != expected).any():
            state, b = map(int, np.argwhere(actual != expected)[0])
            raise ValueError(f"state {start + state} on byte {b} is not the longest suffix's state")
        checked += actual.size
    return checked


class TableIdentifier(LanguageIdentifier):  # type: ignore[misc]
    """py3langid's identifier (its text encoding, scoring, normalisation and aliases) counting features with a
    `StateTable` instead of the automaton's walk."""

    def __init__(
        self, table: StateTable, nb_ptc: np.ndarray, nb_pc: np.ndarray, nb_classes: list[str]
    ) -> None:
        super().__init__(nb_ptc, nb_pc, nb_classes, array("I"), [], norm_probs=True, tk_row=[])
        self.states = table

    def _raw_score(self, text: bytes) -> np.ndarray:
        visits = self.states.counts(text)
        if visits:
            return self._sparse_score(visits, self.nb_ptc)
        return np.zeros(len(self.nb_classes), dtype=np.float32)  # no feature: uniform, as py3langid's
