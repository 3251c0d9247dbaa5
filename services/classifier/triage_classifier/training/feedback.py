"""Feedback from the desk (`triage feedback export`) as training data: corpus items people labelled — flags they
raised on comments the classifier passed, and flags whose labels they corrected.

They join the training split only, never validation or test: an item whose text is in the test or validation
split is dropped (and counted), so the test split measures the same thing before and after. With
`recalibrate`, the thresholds are chosen on validation plus the feedback, with the same priorities (recall
first for urgent and privacy): an institution's own comments then set its operating points. Thresholds
chosen on items the heads were fitted on would learn nothing (the heads already score those right), so with
`recalibrate` the feedback is split deterministically (by a hash of the text): half trains, half calibrates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage_classifier.training.corpus import Item, read_items

# Feedback items weigh more than a corpus item: they are few, in-domain, and each is a mistake the model made.
FEEDBACK_WEIGHT = 2.0


@dataclass(frozen=True)
class Feedback:
    items: list[Item]
    dropped_held_out: int  # items whose text is in the validation or test split


def load_feedback(path: Path, held_out: list[Item]) -> Feedback:
    """The exported items, minus any whose text the held-out splits contain (compared after trimming)."""
    held = {item.text.strip() for item in held_out}
    items = read_items(path)
    kept = [item for item in items if item.text.strip() not in held]
    return Feedback(kept, len(items) - len(kept))


def split_for_calibration(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """(training, calibration): every other item in the order of a hash of its text, the first to training
    (a single item trains)."""
    ordered = sorted(items, key=lambda item: hashlib.sha256(item.text.encode()).hexdigest())
    return ordered[::2], ordered[1::2]


def before_after(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Per label: precision, recall and F1 before and after, from two `label_metrics` reports."""
    return {
        label: {
            f"{metric}_{when}": report["per_label"][label][metric]
            for when, report in (("before", before), ("after", after))
            for metric in ("precision", "recall", "f1")
        }
        | {"support": after["per_label"][label]["support"]}
        for label in after["per_label"]
    }


def format_feedback(report: dict[str, Any]) -> str:
    """The report's feedback section as a table: each label's F1 on the test split and recall on the
    feedback, before and after."""
    lines = [
        f"feedback: {report['items']} items used for training, {report['dropped_held_out']} dropped "
        f"(text in the validation or test split), "
        + (
            f"{report['calibration_items']} used with validation to recalibrate the thresholds"
            if report["recalibrated"]
            else "thresholds calibrated on validation alone"
        ),
        f"{'label':<16}{'test F1':>16}{'test recall':>16}{'feedback recall':>18}{'fb support':>12}",
    ]
    for label, test in report["test"].items():
        fb = report["feedback"][label]
        recall = (
            f"{fb['recall_before']:>9.3f} → {fb['recall_after']:<6.3f}" if fb["support"] else f"{'-':>18}"
        )
        lines.append(
            f"{label:<16}{test['f1_before']:>7.3f} → {test['f1_after']:<6.3f}"
            f"{test['recall_before']:>7.3f} → {test['recall_after']:<6.3f}{recall}{fb['support']:>10}"
        )
    return "\n".join(lines)


def weights_with(weights: np.ndarray, count: int) -> np.ndarray:
    return np.concatenate([weights, np.full(count, FEEDBACK_WEIGHT)])
