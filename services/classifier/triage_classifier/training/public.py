"""Optional public labelled data (the folder `shared/data` beside the repository), mapped to Triage labels.

Only capped samples are used: these sets transfer weakly to hospital comments (see data/SOURCES.md there),
so they widen the model's idea of spam, hate, misinformation and health questions without drowning the
in-domain corpus. Rows are split into a training sample and a disjoint held-out sample, so the model can
also be scored on public text it has never seen. Nothing here is copied into the repository.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from triage_events import Label

from triage_classifier.training.corpus import Item

TRAIN_CAP = 250
HELD_OUT_CAP = 100


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        yield from csv.DictReader(handle)


def _tubespam(root: Path) -> Iterator[tuple[str, frozenset[Label]]]:
    for path in sorted((root / "tubespam").glob("*.csv")):
        for row in _csv_rows(path):
            yield row["CONTENT"], frozenset({Label.SPAM}) if row["CLASS"] == "1" else frozenset()


def _constraint(root: Path) -> Iterator[tuple[str, frozenset[Label]]]:
    for row in _csv_rows(root / "constraint_covid_fakenews" / "Constraint_Train.csv"):
        yield row["tweet"], frozenset({Label.MISINFORMATION}) if row["label"] == "fake" else frozenset()


def _davidson(root: Path) -> Iterator[tuple[str, frozenset[Label]]]:
    for row in _csv_rows(root / "davidson_hate_offensive" / "labeled_data.csv"):
        if row["class"] == "0":
            yield _clean_tweet(row["tweet"]), frozenset({Label.HOSTILE})
        elif row["class"] == "2":
            yield _clean_tweet(row["tweet"]), frozenset()
        # class 1 ("offensive") mixes insults with mere profanity: left out rather than guessed.


def _meqsum(root: Path) -> Iterator[tuple[str, frozenset[Label]]]:
    """Consumer health questions (column CHQ): read straight from the xlsx's XML."""
    files = sorted((root / "meqsum").glob("*.xlsx"))
    if not files:
        return
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(files[0]) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)
        ]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        cells = []
        for cell in row.findall("m:c", ns):
            value = cell.find("m:v", ns)
            text = value.text if value is not None else ""
            cells.append(shared[int(text)] if cell.get("t") == "s" and text else (text or ""))
        rows.append(cells)
    if not rows or "CHQ" not in rows[0]:
        return
    column = rows[0].index("CHQ")
    for cells in rows[1:]:
        # Questions that speak of a particular person ("my", "I") are individual advice requests.
        if column < len(cells) and re.search(r"\b(my|i|i'm|me)\b", cells[column], re.IGNORECASE):
            yield cells[column][:1000], frozenset({Label.CLINICAL_ADVICE})


def _clean_tweet(text: str) -> str:
    text = re.sub(r"^(?:!+\s*)?RT\s+@\w+:?\s*", "", text)
    return re.sub(r"&amp;", "&", text).strip()


SOURCES = {"tubespam": _tubespam, "constraint": _constraint, "davidson": _davidson, "meqsum": _meqsum}


def load_public(root: Path, seed: int = 13) -> tuple[list[Item], list[Path]]:
    """The training sample; returns the items and the files read (for the data hash)."""
    train, _, files = _samples(root, seed)
    return train, files


def load_public_held_out(root: Path, seed: int = 13) -> list[Item]:
    return _samples(root, seed)[1]


def _samples(root: Path, seed: int) -> tuple[list[Item], list[Item], list[Path]]:
    train: list[Item] = []
    held_out: list[Item] = []
    for name, reader in SOURCES.items():
        by_labels: dict[frozenset[Label], list[str]] = {}
        try:
            for text, labels in reader(root):
                if text and text.strip():
                    by_labels.setdefault(labels, []).append(text.strip())
        except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
            continue
        for labels, texts in sorted(by_labels.items(), key=lambda kv: sorted(kv[0])):
            ordered = sorted(
                set(texts), key=lambda t: hashlib.sha256(f"{seed}:{name}:{t}".encode()).hexdigest()
            )
            train += [Item(t, labels, "en") for t in ordered[:TRAIN_CAP]]
            held_out += [Item(t, labels, "en") for t in ordered[TRAIN_CAP : TRAIN_CAP + HELD_OUT_CAP]]
    files = sorted(p for p in root.rglob("*") if p.suffix in {".csv", ".xlsx"})
    return train, held_out, files
