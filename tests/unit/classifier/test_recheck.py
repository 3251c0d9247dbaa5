"""The int8 re-check margin that `triage train` derives from the widest threshold crossing it measures."""

import pytest
from triage_classifier.training.recheck import MINIMUM, margin_for


@pytest.mark.parametrize(
    ("widest", "margin"),
    [(1.47, 2.0), (1.6, 2.0), (1.61, 2.25), (2.5, 3.25), (0.0, MINIMUM), (0.3, MINIMUM)],
)
def test_the_margin_covers_the_widest_crossing_with_headroom(widest: float, margin: float) -> None:
    assert margin_for(widest) == margin
    assert margin_for(widest) >= widest * 1.25
