"""Edits and deletions reaching the classifier: an edit is judged afresh, a deletion is not judged at all;
a deletion, and an edit judged benign, clear the comment's flag; a new benign comment raises nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from triage_classifier.pipeline import author_key, judge_batch
from triage_classifier.rule_classifier import RuleClassifier
from triage_events import ClearReason, CommentChange, FlagCleared, Label, decode_flag_event, encode

from tests.builders import make_author, make_comment, make_comment_body, make_record

URGENT = "My dad just collapsed in the parking lot and he is not breathing"
BENIGN = "Thanks, the nurse line sorted it out"
EDITED_AT = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


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
    assert [(c.comment_key, c.reason) for c in result.cleared] == [(deleted.comment_key, ClearReason.DELETED)]


def test_a_deletion_clears_with_the_platform_time_ids_and_no_model() -> None:
    deleted = make_comment(text=URGENT).model_copy(
        update={"change": CommentChange.DELETED, "changed_at": EDITED_AT}
    )

    [cleared] = judge_batch(RuleClassifier(), [make_record(deleted)]).cleared

    assert (cleared.comment_key, cleared.platform, cleared.account) == (
        deleted.comment_key,
        deleted.platform,
        deleted.account,
    )
    assert (cleared.changed_at, cleared.source_event_id, cleared.model_version) == (
        EDITED_AT,
        deleted.event_id,
        None,
    )
    assert URGENT not in encode(cleared).decode()  # ids and times only, never the text
    assert decode_flag_event(encode(cleared)) == cleared


def test_a_deletion_reported_without_a_time_is_dated_when_ingest_saw_it() -> None:
    deleted = make_comment(text="").model_copy(update={"change": CommentChange.DELETED})

    [cleared] = judge_batch(RuleClassifier(), [make_record(deleted)]).cleared

    assert cleared.changed_at == deleted.occurred_at


def test_an_edit_judged_benign_clears_and_raises_no_flag() -> None:
    classifier = RuleClassifier()
    edited = make_comment(text=BENIGN).model_copy(
        update={"change": CommentChange.EDITED, "changed_at": EDITED_AT}
    )

    result = judge_batch(classifier, [make_record(edited)])

    assert result.flags == [] and result.alerts == []
    assert result.judged == 1
    assert result.cleared == [
        FlagCleared(
            event_id=result.cleared[0].event_id,
            occurred_at=result.cleared[0].occurred_at,
            comment_key=edited.comment_key,
            platform=edited.platform,
            account=edited.account,
            reason=ClearReason.EDITED_BENIGN,
            changed_at=EDITED_AT,
            source_event_id=edited.event_id,
            model_version=classifier.version,
        )
    ]


def test_a_new_benign_comment_raises_nothing_at_all() -> None:
    result = judge_batch(RuleClassifier(), [make_record(make_comment(text=BENIGN)) for _ in range(20)])

    assert result.judged == 20
    assert (result.flags, result.cleared, result.alerts, result.dead_letters) == ([], [], [], [])


def test_a_flag_carries_the_version_of_the_comment_it_judged() -> None:
    created = make_comment(text=URGENT)
    edited = make_comment(text=URGENT).model_copy(
        update={"change": CommentChange.EDITED, "changed_at": EDITED_AT}
    )

    result = judge_batch(RuleClassifier(), [make_record(created), make_record(edited)])

    assert [flag.changed_at for flag in result.flags] == [created.comment.created_at, EDITED_AT]
    assert result.cleared == []


def test_a_mixed_batch_keeps_going_past_bad_records() -> None:
    deleted = make_comment(text=URGENT).model_copy(update={"change": CommentChange.DELETED})
    benign_edit = make_comment(text=BENIGN).model_copy(update={"change": CommentChange.EDITED})
    harmful_edit = make_comment(text=URGENT).model_copy(update={"change": CommentChange.EDITED})
    records = [
        make_record(deleted),
        make_record(value=b"not json"),
        make_record(benign_edit),
        make_record(harmful_edit),
    ]

    result = judge_batch(RuleClassifier(), records)

    assert [c.reason for c in result.cleared] == [ClearReason.DELETED, ClearReason.EDITED_BENIGN]
    assert [c.comment_key for c in result.cleared] == [deleted.comment_key, benign_edit.comment_key]
    assert [f.comment_key for f in result.flags] == [harmful_edit.comment_key]
    assert [d.reason for d in result.dead_letters] == ["not_json"]
    assert result.judged == 2


def test_each_clear_knows_its_author_so_it_can_follow_the_comments_earlier_verdicts() -> None:
    """A clear goes to the author-verdicts topic, keyed by author like a hostile flag of the same comment,
    so it cannot overtake that flag."""
    deleted = make_comment(comment=make_comment_body(text=URGENT, author=make_author(id="a-del"))).model_copy(
        update={"change": CommentChange.DELETED}
    )
    benign_edit = make_comment(
        comment=make_comment_body(text=BENIGN, author=make_author(id="a-edit"))
    ).model_copy(update={"change": CommentChange.EDITED})

    result = judge_batch(RuleClassifier(), [make_record(deleted), make_record(benign_edit)])

    assert result.clear_authors == {
        deleted.comment_key: author_key(deleted.platform, "a-del"),
        benign_edit.comment_key: author_key(benign_edit.platform, "a-edit"),
    }
    assert author_key(deleted.platform, "a-del") == f"{deleted.platform.value}:a-del".encode()
