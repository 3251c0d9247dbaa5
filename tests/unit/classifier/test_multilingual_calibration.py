"""How the multilingual heads' thresholds and regularisation are chosen for the non-safety labels: precision first,
within a budget of benign flags."""

from __future__ import annotations

import numpy as np
from triage_classifier.training.multilingual import BENIGN_BUDGET, budgeted_threshold


def test_a_non_safety_label_keeps_within_its_benign_budget() -> None:
    """Unconstrained, the best F-beta flags three benign items (a threshold at 0.4 catches all 20 positives);
    the budget, two of 200 benign items, lifts it above them."""
    gold = np.array([True] * 20 + [False] * 200)
    probs = np.concatenate([np.full(10, 0.9), np.full(10, 0.4), np.full(3, 0.5), np.full(197, 0.1)])
    benign = ~gold

    threshold = budgeted_threshold(gold, probs, benign)

    assert int(np.sum((probs >= threshold) & benign)) <= BENIGN_BUDGET * benign.sum()
    assert 0.5 < threshold <= 0.9


def test_with_no_threshold_within_budget_the_highest_candidate_is_taken() -> None:
    gold = np.array([True, False, False, False])
    probs = np.array([0.5, 0.99, 0.99, 0.99])

    assert budgeted_threshold(gold, probs, ~gold) == 0.95
