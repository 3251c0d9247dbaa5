"""Training arithmetic: multi-label metrics, per-label thresholds, the corpus split and its validation."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from triage_classifier.training.corpus import CorpusError, Item, read_items, split_items
from triage_classifier.training.metrics import label_metrics
from triage_classifier.training.thresholds import CANDIDATES, RECALL_FIRST, choose_threshold
from triage_events import Label

# --- label_metrics -------------------------------------------------------------------------------------


def test_label_metrics_on_a_hand_made_matrix() -> None:
    # columns: a, b, c
    gold = np.array(
        [
            [1, 0, 0],  # a hit
            [1, 0, 0],  # a missed
            [0, 1, 0],  # b hit, a false alarm
            [0, 0, 0],  # benign, left alone
            [0, 0, 0],  # benign, flagged b
            [1, 1, 0],  # both hit
        ]
    )
    pred = np.array(
        [
            [1, 0, 0],
            [0, 0, 0],
            [1, 1, 0],
            [0, 0, 0],
            [0, 1, 0],
            [1, 1, 0],
        ]
    )

    report = label_metrics(gold, pred, ["a", "b", "c"])

    a, b, c = (report["per_label"][name] for name in "abc")
    assert (a["tp"], a["fp"], a["fn"], a["tn"], a["support"]) == (2, 1, 1, 2, 3)
    assert a["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert a["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert a["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert (b["tp"], b["fp"], b["fn"], b["tn"], b["support"]) == (2, 1, 0, 3, 2)
    assert b["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert b["recall"] == 1.0
    assert b["f1"] == pytest.approx(0.8, abs=1e-4)
    # A label nobody has and nobody predicted scores zero, not a division error.
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.0, 0.0, 0.0, 0)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0.0) / 3, abs=1e-4)
    assert report["items"] == 6
    assert report["benign_items"] == 2
    assert report["benign_flagged"] == 0.5
    assert report["exact_match"] == 0.5


def test_label_metrics_perfect_predictions() -> None:
    gold = np.array([[1, 0], [0, 1], [0, 0], [1, 1]])

    report = label_metrics(gold, gold.copy(), ["x", "y"])

    assert all(m["f1"] == 1.0 for m in report["per_label"].values())
    assert report["macro_f1"] == 1.0
    assert report["benign_flagged"] == 0.0
    assert report["exact_match"] == 1.0


def test_label_metrics_every_benign_item_flagged_and_no_benign_items() -> None:
    everything = label_metrics(np.zeros((4, 2), int), np.ones((4, 2), int), ["x", "y"])
    assert everything["benign_flagged"] == 1.0
    assert everything["per_label"]["x"]["fp"] == 4

    no_benign = label_metrics(np.ones((3, 2), int), np.zeros((3, 2), int), ["x", "y"])
    assert no_benign["benign_items"] == 0
    assert no_benign["benign_flagged"] == 0.0
    assert no_benign["per_label"]["y"]["fn"] == 3


# --- choose_threshold ----------------------------------------------------------------------------------


def _recall(gold: np.ndarray, probs: np.ndarray, t: float) -> float:
    pred = probs >= t
    return float(np.sum(gold & pred) / np.sum(gold))


@pytest.mark.parametrize("label", sorted(RECALL_FIRST))
def test_recall_first_label_gets_the_highest_threshold_that_meets_its_recall_target(label: str) -> None:
    positives = [0.955, 0.9, 0.85, 0.8, 0.72, 0.66, 0.6, 0.5, 0.45, 0.305]
    negatives = [0.02, 0.1, 0.2, 0.28, 0.33, 0.4, 0.62, 0.7]
    gold = np.array([1] * len(positives) + [0] * len(negatives), dtype=bool)
    probs = np.array(positives + negatives)

    t = choose_threshold(label, gold, probs)

    # All ten positives are needed for 0.95+ recall; the weakest is at 0.305.
    assert t == pytest.approx(0.30)
    assert _recall(gold, probs, t) >= RECALL_FIRST[label]
    assert _recall(gold, probs, t + 0.01) < RECALL_FIRST[label]


def test_recall_first_label_falls_back_to_the_lowest_candidate_when_the_target_is_out_of_reach() -> None:
    gold = np.array([1, 1, 0, 0], dtype=bool)
    probs = np.array([0.9, 0.01, 0.2, 0.03])

    assert choose_threshold("urgent", gold, probs) == pytest.approx(float(CANDIDATES[0]))


def _precision_case() -> tuple[np.ndarray, np.ndarray]:
    # Three confident positives, three weak ones mixed with two negatives at the same weak score.
    # Threshold <= 0.40: tp 6, fp 2, fn 0 (F1 0.857, F0.5 0.789).
    # Threshold in (0.40, 0.90]: tp 3, fp 0, fn 3 (F1 0.667, F0.5 0.833).
    gold = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    probs = np.array([0.905, 0.905, 0.905, 0.405, 0.405, 0.405, 0.405, 0.405])
    return gold, probs


@pytest.mark.parametrize("label", ["hostile", "misinformation"])
def test_precision_first_label_prefers_precision(label: str) -> None:
    gold, probs = _precision_case()

    t = choose_threshold(label, gold, probs)

    assert t == pytest.approx(0.90)  # the highest threshold of the precise region
    pred = probs >= t
    assert not np.any(pred & ~gold)


def test_other_labels_take_the_best_f1_and_its_highest_threshold() -> None:
    gold, probs = _precision_case()

    assert choose_threshold("clinical_advice", gold, probs) == pytest.approx(0.40)
    assert choose_threshold("spam", gold, probs) == pytest.approx(0.40)


# --- corpus: split_items and read_items ----------------------------------------------------------------


def _corpus() -> list[Item]:
    groups = {
        (frozenset(), "en"): 20,
        (frozenset({Label.SPAM}), "en"): 9,
        (frozenset({Label.URGENT}), "en"): 7,
        (frozenset({Label.URGENT}), "es"): 3,
        (frozenset({Label.CLINICAL_ADVICE, Label.PRIVACY}), "en"): 4,
        (frozenset({Label.HOSTILE, Label.URGENT}), "es"): 3,
        (frozenset({Label.MISINFORMATION, Label.SPAM}), "en"): 2,
        (frozenset({Label.HOSTILE}), "en"): 1,
    }
    items = []
    for (labels, lang), n in groups.items():
        tag = "-".join(sorted(label.value for label in labels)) or "benign"
        items += [Item(f"{tag} {lang} comment number {i} about the clinic", labels, lang) for i in range(n)]
    return items


def test_split_is_deterministic_whatever_the_input_order() -> None:
    items = _corpus()
    shuffled = list(items)
    random.Random(5).shuffle(shuffled)

    assert split_items(items) == split_items(shuffled)


def test_split_is_disjoint_and_complete() -> None:
    items = _corpus()

    splits = split_items(items)

    texts = [item.text for part in splits.values() for item in part]
    assert len(texts) == len(set(texts)) == len(items)
    assert set(texts) == {item.text for item in items}


def test_split_is_stratified_by_label_combination_and_language() -> None:
    items = _corpus()
    sizes = Counter((item.labels, item.lang) for item in items)

    splits = split_items(items)

    for split, part in splits.items():
        present = {(item.labels, item.lang) for item in part}
        for group, n in sizes.items():
            if n >= 3:
                assert group in present, f"{sorted(group[0])}/{group[1]} ({n} items) missing from {split}"
    train_groups = {item.labels for item in splits["train"]}
    assert train_groups == {item.labels for item in items}  # every combination is trained on
    assert len(splits["train"]) > len(splits["validation"]) and len(splits["train"]) > len(splits["test"])


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_items_reads_labels_and_language_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{"text": "Free crypto tips in my bio", "labels": ["spam"]}',
        "",
        '{"text": "¿Dónde está la farmacia?", "labels": [], "lang": "es"}',
    )

    items = read_items(path)

    assert items == [
        Item("Free crypto tips in my bio", frozenset({Label.SPAM}), "en"),
        Item("¿Dónde está la farmacia?", frozenset(), "es"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ('{"text": "Where is the lab?", "labels": [', "JSONDecodeError"),
        ('{"labels": ["spam"]}', "KeyError"),
        ('{"text": "Where is the lab?", "labels": ["rude"]}', "ValueError"),
        ('{"text": "Where is the lab?", "labels": null}', "TypeError"),
        ('["Where is the lab?"]', "TypeError"),
        ('{"text": "   ", "labels": []}', "empty text"),
        ('{"text": 42, "labels": []}', "empty text"),
    ],
)
def test_read_items_names_the_file_and_line_of_a_bad_line(
    tmp_path: Path, bad_line: str, fragment: str
) -> None:
    path = _write(tmp_path, '{"text": "The lab opens at 7", "labels": []}', "", bad_line)

    with pytest.raises(CorpusError) as excinfo:
        read_items(path)

    message = str(excinfo.value)
    assert message.startswith("items.jsonl:3:")
    assert fragment in message
