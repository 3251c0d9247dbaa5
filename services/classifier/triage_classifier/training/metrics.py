"""Multi-label evaluation: precision, recall and F1 per label, macro-F1, confusion, benign items flagged."""

from __future__ import annotations

from typing import Any

import numpy as np


def label_metrics(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """`gold` and `pred` are (items, labels) 0/1 matrices in `labels` order."""
    gold = gold.astype(bool)
    pred = pred.astype(bool)
    per_label: dict[str, dict[str, float]] = {}
    for j, label in enumerate(labels):
        tp = int(np.sum(gold[:, j] & pred[:, j]))
        fp = int(np.sum(~gold[:, j] & pred[:, j]))
        fn = int(np.sum(gold[:, j] & ~pred[:, j]))
        tn = int(np.sum(~gold[:, j] & ~pred[:, j]))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        }
    benign = ~gold.any(axis=1)
    flagged_benign = float(np.mean(pred[benign].any(axis=1))) if benign.any() else 0.0
    exact = float(np.mean((gold == pred).all(axis=1))) if len(gold) else 0.0
    return {
        "items": len(gold),
        "per_label": per_label,
        "macro_f1": round(float(np.mean([m["f1"] for m in per_label.values()])), 4),
        "benign_items": int(benign.sum()),
        "benign_flagged": round(flagged_benign, 4),
        "exact_match": round(exact, 4),
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}{'fp':>6}{'fn':>6}"]
    for label, m in report["per_label"].items():
        lines.append(
            f"{label:<16}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}{m['support']:>9}"
            f"{m['fp']:>6}{m['fn']:>6}"
        )
    lines.append(
        f"macro-F1 {report['macro_f1']:.3f} · benign items flagged {report['benign_flagged']:.1%} "
        f"of {report['benign_items']} · exact match {report['exact_match']:.1%} · items {report['items']}"
    )
    if report.get("per_language"):
        lines.append("")
        lines.append(
            f"{'language':<10}{'items':>6}{'urgent P':>10}{'urgent R':>10}{'benign flagged':>16}{'reviewed':>10}"
        )
        for language, part in report["per_language"].items():
            urgent = part["per_label"].get("urgent", {})
            recall = f"{urgent['recall']:.3f}" if urgent.get("support") else "-"
            precision = f"{urgent['precision']:.3f}" if urgent.get("tp", 0) + urgent.get("fp", 0) else "-"
            lines.append(
                f"{language:<10}{part['items']:>6}{precision:>10}{recall:>10}"
                f"{part['benign_flagged']:>15.1%} {part['reviewed']:>9.1%}"
            )
    return "\n".join(lines)
