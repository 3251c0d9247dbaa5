"""Edits and deletions reaching the classifier: an edit is judged afresh, a deletion is not judged at all."""

from __future__ import annotations

from triage_classifier.pipeline import judge_batch
from triage_classifier.rule_classifier import RuleClassifier
from triage_events import CommentChange, Label

from tests.builders import make_comment, make_record

URGENT = "My dad just collapsed in the parking lot and he is not breathing"


def test_an_edited_comment_is_judged_on_its_new_text() -> None:
    edited = make_comment(text=URGENT).model_copy(update={"change": CommentChange.EDITED})
    result = judge_batch(RuleClassifier(), [make_record(edited)])
    assert [flag.labels for flag in result.flags] == [[Label.URGENT]]
    assert result.judged == 1


def test_a_deleted_comment_raises_no_flag_and_the_rest_of_the_batch_is_judged() -> None:
    deleted = make_comment(text=URGENT).model_copy(update={"change": CommentChange.DELETED})
    alive = make_comment(text=URGENT)
    result = judge_batch(RuleClassifier(), [make_record(deleted), make_record(alive)])
    assert [flag.comment_key for flag in result.flags] == [alive.comment_key]
    assert result.judged == 1
    assert not result.dead_letters
