"""Write the rule and profanity features of every corpus split to one .npz (input for `finetune`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from triage_classifier.features import extract
from triage_classifier.training.corpus import SPLITS, load_split


def export(corpus: Path, output: Path, public_data: Path | None = None) -> None:
    arrays = {split: extract([item.text for item in load_split(corpus, split)])[0] for split in SPLITS}
    if public_data is not None:
        from triage_classifier.training.corpus import write_items
        from triage_classifier.training.public import load_public

        extra, _ = load_public(public_data)
        write_items(output.parent / "extra.jsonl", extra)
        arrays["extra"] = extract([item.text for item in extra])[0]
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **arrays)  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--public-data", type=Path, default=None, help="also write extra.jsonl from public sets"
    )
    args = parser.parse_args()
    export(args.corpus, args.output, args.public_data)
