"""The int8 re-check margin that `triage train` derives from the widest threshold crossing it measures."""

from dataclasses import replace

import pytest
from triage_classifier.hybrid import UNMEASURED_RECHECK_MARGIN, HybridClassifier
from triage_classifier.training.recheck import MINIMUM, margin_for

from tests.unit.classifier.test_routing import ENGLISH, CountingEncoder, artefact


@pytest.mark.parametrize(
    ("widest", "margin"),
    [(1.47, 2.0), (1.6, 2.0), (1.61, 2.25), (2.5, 3.25), (0.0, MINIMUM), (0.3, MINIMUM)],
)
def test_the_margin_covers_the_widest_crossing_with_headroom(widest: float, margin: float) -> None:
    assert margin_for(widest) == margin
    assert margin_for(widest) >= widest * 1.25


@pytest.mark.parametrize(
    ("stored", "rechecked"),
    [(0.5, False), (2.25, True), (None, True)],  # None: UNMEASURED_RECHECK_MARGIN
)
def test_the_runtime_rechecks_within_the_artefacts_margin(stored: float | None, rechecked: bool) -> None:
    """Heads whose logits sit one logit below every threshold: re-checked in float only when the margin the
    artefact carries reaches that far; an artefact trained before the margin was measured gets the wide one."""
    heads = replace(artefact(-1.0), recheck_margin=stored)
    int8, precise = CountingEncoder(), CountingEncoder()
    classifier = HybridClassifier(heads, int8, precise=precise)
    assert classifier.recheck_margin == (stored or UNMEASURED_RECHECK_MARGIN)
    classifier.probabilities([ENGLISH])
    assert int8.seen == [ENGLISH]
    assert (precise.seen == [ENGLISH]) is rechecked
    assert classifier.rechecked == int(rechecked)
