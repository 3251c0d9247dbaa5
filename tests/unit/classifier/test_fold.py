"""Folding newly written items into the multilingual splits: deterministic, stratified, idempotent, and the
test split only ever grows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_classifier.training.corpus import CorpusError
from triage_classifier.training.fold import fold


def write(path: Path, objects: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write(
        tmp_path / "train.jsonl", [{"text": "viejo tren", "labels": [], "lang": "pt", "written_for": "rules"}]
    )
    write(tmp_path / "test.jsonl", [{"text": "velho teste", "labels": ["urgent"], "lang": "pt"}])
    write(
        tmp_path / "new" / "pt.jsonl",
        [{"text": f"socorro {i}", "labels": ["urgent"], "lang": "pt"} for i in range(20)]
        + [{"text": f"obrigado {i}", "labels": []} for i in range(10)]
        + [{"text": "Socorro  0", "labels": ["urgent"]}],  # the first again, spaced and cased otherwise
    )
    write(tmp_path / "new" / "fr.jsonl", [{"text": f"merci {i}", "labels": ["spam"]} for i in range(5)])
    return tmp_path


def test_new_items_are_split_60_20_20_within_each_language_and_label(corpus: Path) -> None:
    added = fold(corpus, seed=13)

    assert added == {"train": 12 + 6 + 3, "validation": 4 + 2 + 1, "test": 4 + 2 + 1}
    test = read(corpus / "test.jsonl")
    assert test[0] == {"text": "velho teste", "labels": ["urgent"], "lang": "pt"}  # stays first, unchanged
    urgent_pt = [o for o in test[1:] if o["lang"] == "pt" and o["labels"] == ["urgent"]]
    assert len(urgent_pt) == 4
    assert read(corpus / "train.jsonl")[0]["written_for"] == "rules"
    assert all(
        o["lang"] == "fr" for o in read(corpus / "validation.jsonl") if str(o["text"]).startswith("merci")
    )


def test_folding_is_deterministic_and_twice_changes_nothing(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("copy")
    for path in corpus.rglob("*.jsonl"):
        (other / path.relative_to(corpus)).parent.mkdir(parents=True, exist_ok=True)
        (other / path.relative_to(corpus)).write_bytes(path.read_bytes())
    fold(corpus, seed=13)
    fold(other, seed=13)
    first = {name: (corpus / name).read_bytes() for name in ("train.jsonl", "validation.jsonl", "test.jsonl")}

    assert first == {name: (other / name).read_bytes() for name in first}
    assert fold(corpus, seed=13) == {"train": 0, "validation": 0, "test": 0}
    assert first == {name: (corpus / name).read_bytes() for name in first}


def test_no_text_lands_in_two_splits(corpus: Path) -> None:
    fold(corpus, seed=13)
    texts = [
        str(o["text"]).casefold()
        for s in ("train", "validation", "test")
        for o in read(corpus / f"{s}.jsonl")
    ]

    assert len(texts) == len({" ".join(t.split()) for t in texts})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ({"text": "x", "labels": ["urgentt"]}, "unknown label"),
        ({"text": "x", "labels": [], "lang": "fr"}, "lang 'fr' in the pt inbox"),
        ({"text": "  ", "labels": []}, "non-empty 'text'"),
    ],
)
def test_a_bad_inbox_line_is_refused_with_its_place(
    tmp_path: Path, line: dict[str, object], reason: str
) -> None:
    write(tmp_path / "new" / "pt.jsonl", [{"text": "ok", "labels": []}, line])

    with pytest.raises(CorpusError, match=rf"pt\.jsonl:2: .*{reason}"):
        fold(tmp_path)
