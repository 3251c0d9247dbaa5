"""Evidence spans to highlighted segments for the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from triage_api.dashboard.highlight import Segment, segments

TEXT = "Call me at 312-555-0148 about my chemo"


def ev(
    start: Any, end: Any, label: str = "privacy", rule_id: str | None = "privacy.contact"
) -> dict[str, Any]:
    return {"label": label, "source": "rule", "rule_id": rule_id, "start": start, "end": end}


def test_no_evidence_is_one_plain_segment() -> None:
    assert segments(TEXT, []) == [Segment(TEXT)]


def test_empty_text_has_no_segments() -> None:
    assert segments("", [ev(0, 5)]) == []


def test_a_span_in_the_middle_splits_the_text_in_three() -> None:
    result = segments(TEXT, [ev(11, 23)])

    assert result == [
        Segment("Call me at "),
        Segment("312-555-0148", "privacy", "privacy.contact"),
        Segment(" about my chemo"),
    ]


def test_segments_always_cover_the_text_exactly() -> None:
    evidence = [ev(33, 38, "privacy", "b"), ev(0, 4, "urgent", "a"), ev(11, 23)]

    result = segments(TEXT, evidence)

    assert "".join(s.text for s in result) == TEXT
    assert [s.rule_id for s in result if s.label] == ["a", "privacy.contact", "b"]


def test_spans_at_the_edges_leave_no_empty_segments() -> None:
    result = segments(TEXT, [ev(0, 4, rule_id="start"), ev(33, len(TEXT), rule_id="end")])

    assert result[0] == Segment("Call", "privacy", "start")
    assert result[-1] == Segment("chemo", "privacy", "end")
    assert all(s.text for s in result)


def test_overlapping_spans_the_earlier_wins_and_the_later_keeps_only_its_tail() -> None:
    result = segments(TEXT, [ev(5, 15, rule_id="later"), ev(0, 10, rule_id="earlier")])

    assert result[:3] == [
        Segment("Call me at", "privacy", "earlier"),
        Segment(" 312-", "privacy", "later"),
        Segment("555-0148 about my chemo"),
    ]


def test_of_two_spans_starting_together_the_longer_wins() -> None:
    result = segments(TEXT, [ev(0, 4, rule_id="short"), ev(0, 7, rule_id="long")])

    assert result == [Segment("Call me", "privacy", "long"), Segment(TEXT[7:])]


def test_a_span_inside_another_disappears() -> None:
    result = segments(TEXT, [ev(0, 23, rule_id="outer"), ev(11, 14, rule_id="inner")])

    assert [s.rule_id for s in result] == ["outer", None]


@pytest.mark.parametrize(
    "bad",
    [
        {"label": "urgent", "source": "model", "score": 0.9},  # model evidence has no span
        {"label": "urgent", "start": None, "end": None},
        {"label": "urgent", "start": "0", "end": "4"},
        ev(10, 10),
        ev(12, 3),
        ev(500, 600),
    ],
    ids=["no-span", "null-span", "string-span", "empty", "reversed", "past-the-end"],
)
def test_unusable_spans_are_ignored(bad: dict[str, Any]) -> None:
    assert segments(TEXT, [bad]) == [Segment(TEXT)]


def test_a_span_running_past_the_end_is_clipped() -> None:
    result = segments(TEXT, [ev(33, 999)])

    assert result[-1] == Segment("chemo", "privacy", "privacy.contact")
    assert "".join(s.text for s in result) == TEXT


def test_a_negative_start_is_clipped_to_the_beginning() -> None:
    result = segments(TEXT, [ev(-5, 4)])

    assert result[0] == Segment("Call", "privacy", "privacy.contact")
    assert "".join(s.text for s in result) == TEXT


def test_markup_in_the_text_is_kept_verbatim_for_the_template_to_escape() -> None:
    text = "<script>alert(1)</script> you idiots"

    result = segments(text, [ev(26, 36, "hostile", "hostile.insult")])

    assert result == [
        Segment("<script>alert(1)</script> "),
        Segment("you idiots", "hostile", "hostile.insult"),
    ]
