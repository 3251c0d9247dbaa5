"""The int8 re-check margin that `triage train` derives from the widest threshold crossing it measures."""

from dataclasses import replace

import pytest
from triage_classifier.hybrid import UNMEASURED_RECHECK_MARGIN, HybridClassifier, recheck_margins
from triage_classifier.training.recheck import MINIMUM, margin_for

from tests.unit.classifier.test_routing import ENGLISH, NAMES, CountingEncoder, artefact


@pytest.mark.parametrize(
    ("widest", "margin"),
    [(1.47, 2.0), (1.6, 2.0), (1.61, 2.25), (2.5, 3.25), (0.0, MINIMUM), (0.3, MINIMUM)],
)
def test_the_margin_covers_the_widest_crossing_with_headroom(widest: float, margin: float) -> None:
    assert margin_for(widest) == margin
    assert margin_for(widest) >= widest * 1.25


NARROW = dict.fromkeys(NAMES, 0.5)


@pytest.mark.parametrize(
    ("stored", "rechecked"),
    [
        (NARROW, False),
        ({**NARROW, "spam": 1.25}, True),  # one label's margin reaches its threshold
        (0.5, False),  # an artefact from before the margins were measured per label: one for all
        (2.25, True),
        (None, True),  # UNMEASURED_RECHECK_MARGIN
    ],
)
def test_the_runtime_rechecks_within_each_labels_margin(
    stored: dict[str, float] | float | None, rechecked: bool
) -> None:
    """Heads whose logits sit one logit below every threshold: re-checked in float only when some label's
    margin in the artefact reaches that far; an artefact trained before the margin was measured gets the wide one."""
    heads = replace(artefact(-1.0), recheck_margin=stored)
    int8, precise = CountingEncoder(), CountingEncoder()
    classifier = HybridClassifier(heads, int8, precise=precise)
    classifier.probabilities([ENGLISH])
    assert int8.seen == [ENGLISH]
    assert (precise.seen == [ENGLISH]) is rechecked
    assert classifier.rechecked == int(rechecked)


def test_each_label_gets_its_own_margin_in_the_artefacts_label_order() -> None:
    stored = {name: 0.5 + i for i, name in enumerate(reversed(NAMES))}
    assert list(recheck_margins(stored, NAMES)) == [stored[name] for name in NAMES]
    assert list(recheck_margins(1.5, NAMES)) == [1.5] * len(NAMES)
    assert list(recheck_margins(None, NAMES)) == [UNMEASURED_RECHECK_MARGIN] * len(NAMES)
