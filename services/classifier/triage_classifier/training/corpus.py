"""The project's labelled corpus: JSONL items `{"text", "labels", "lang"}`, split into train / validation /
test. Loading validates every line; the hash of the training data goes into the artefact."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from triage_events import Label

from triage_classifier.policy import LABELS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Item:
    text: str
    labels: frozenset[Label]
    lang: str = "en"

    def vector(self) -> list[int]:
        return [int(label in self.labels) for label in LABELS]


class CorpusError(ValueError):
    pass


def read_items(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            text = obj["text"]
            labels = frozenset(Label(name) for name in obj.get("labels", []))
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise CorpusError(f"{path.name}:{number}: {type(exc).__name__}: {exc}") from None
        if not isinstance(text, str) or not text.strip():
            raise CorpusError(f"{path.name}:{number}: empty text")
        items.append(Item(text, labels, obj.get("lang", "en")))
    return items


def load_split(corpus_dir: Path, split: str) -> list[Item]:
    return read_items(corpus_dir / f"{split}.jsonl")


def matrix(items: list[Item]) -> np.ndarray:
    return np.array([item.vector() for item in items], dtype=np.int8).reshape(len(items), len(LABELS))


def sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_items(path: Path, items: list[Item]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            labels = sorted(label.value for label in item.labels)
            out.write(
                json.dumps({"text": item.text, "labels": labels, "lang": item.lang}, ensure_ascii=False)
                + "\n"
            )


def split_items(items: list[Item], fractions: tuple[float, float] = (0.7, 0.15)) -> dict[str, list[Item]]:
    """Deterministic split, stratified by label combination and language, ordered by a hash of the text."""
    groups: dict[tuple[tuple[str, ...], str], list[Item]] = defaultdict(list)
    for item in items:
        groups[(tuple(sorted(label.value for label in item.labels)), item.lang)].append(item)
    out: dict[str, list[Item]] = {split: [] for split in SPLITS}
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda i: hashlib.sha256(i.text.encode()).hexdigest())
        n = len(group)
        n_train = round(n * fractions[0])
        n_val = round(n * fractions[1])
        if n >= 3:
            n_train = min(n_train, n - 2)
            n_val = max(1, n_val)
        out["train"] += group[:n_train]
        out["validation"] += group[n_train : n_train + n_val]
        out["test"] += group[n_train + n_val :]
    return out
