"""How people's label verdicts change a flag's labels in the feedback export (`comments.export`)."""

from __future__ import annotations

from triage_api.comments.export import corrected_labels


def test_wrong_removes_missing_adds_and_a_split_vote_keeps_the_model_s_call() -> None:
    assert corrected_labels(["hostile"], [("hostile", "wrong")]) == []
    assert corrected_labels(["spam"], [("urgent", "missing")]) == ["spam", "urgent"]
    assert corrected_labels([], [("privacy", "correct")]) == ["privacy"]  # correct on a label it lacked
    assert corrected_labels(["hostile"], [("hostile", "wrong"), ("hostile", "correct")]) == ["hostile"]
    assert corrected_labels([], [("urgent", "missing"), ("urgent", "wrong")]) == []
    assert (
        corrected_labels(["hostile"], [("hostile", "wrong"), ("hostile", "wrong"), ("hostile", "correct")])
        == []
    )
