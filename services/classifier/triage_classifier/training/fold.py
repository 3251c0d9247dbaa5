"""Fold newly written items into the multilingual splits, deterministically for a seed.

    python -m triage_classifier.training.fold [--corpus data/corpus/multilingual] [--seed 13]

New items wait in `<corpus>/new/<lang>.jsonl` (objects with `text`, `labels` and, if given, a `lang` that
must match the file's name). Each is checked, dropped if its text (case and spacing aside) is already in a
split or earlier in the inbox, and assigned to train, validation or test: stratified by language and label
combination, in the order of a seeded hash of its text, 60 / 20 / 20. Items already in a split stay where
they are (the test split is never trained on, so nothing leaves it), and new ones are appended, so folding
the same inbox twice changes nothing. The inbox files are not removed: they are not committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from triage_events import Label

from triage_classifier.language import COVERED
from triage_classifier.training.corpus import SPLITS, CorpusError

FRACTIONS = {"validation": 0.2, "test": 0.2}  # the rest: train


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def read_objects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_inbox(path: Path) -> list[dict[str, Any]]:
    """The checked items of one inbox file, in a canonical form (`text`, sorted `labels`, `lang`)."""
    lang = path.stem
    if lang not in COVERED:
        raise CorpusError(f"{path.name}: {lang!r} is not a covered language")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise CorpusError(f"{where}: expected an object with a non-empty 'text'")
        labels = obj.get("labels", [])
        try:
            names = sorted({Label(name).value for name in labels})
        except (ValueError, TypeError):
            raise CorpusError(f"{where}: unknown label in {labels!r}") from None
        if obj.get("lang", lang) != lang:
            raise CorpusError(f"{where}: lang {obj.get('lang')!r} in the {lang} inbox")
        items.append({"text": obj["text"], "labels": names, "lang": lang})
    return items


def assign(items: list[dict[str, Any]], seed: int) -> dict[str, list[dict[str, Any]]]:
    """Stratified by language and label combination; within a group, ordered by a seeded hash of the text."""
    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[(item["lang"], tuple(item["labels"]))].append(item)
    out: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda i: hashlib.sha256(f"{seed}\0{i['text']}".encode()).hexdigest())
        n_test = round(len(group) * FRACTIONS["test"])
        n_validation = round(len(group) * FRACTIONS["validation"])
        out["test"] += group[:n_test]
        out["validation"] += group[n_test : n_test + n_validation]
        out["train"] += group[n_test + n_validation :]
    return out


def fold(corpus: Path, seed: int = 13) -> dict[str, int]:
    """Fold the inbox into the splits; how many items each split gained."""
    splits = {split: read_objects(corpus / f"{split}.jsonl") for split in SPLITS}
    seen = {_key(str(obj["text"])) for objects in splits.values() for obj in objects}
    new: list[dict[str, Any]] = []
    for path in sorted((corpus / "new").glob("*.jsonl")):
        for item in read_inbox(path):
            if _key(item["text"]) not in seen:
                seen.add(_key(item["text"]))
                new.append(item)
    added = assign(new, seed)
    for split in SPLITS:
        if not added[split] and not (corpus / f"{split}.jsonl").exists():
            continue
        with (corpus / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for obj in [*splits[split], *added[split]]:
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return {split: len(added[split]) for split in SPLITS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus/multilingual"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    added = fold(args.corpus, args.seed)
    print(", ".join(f"{split} +{count}" for split, count in added.items()))


if __name__ == "__main__":
    main()
