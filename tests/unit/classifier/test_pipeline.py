"""One micro-batch through `judge_batch` with the rule classifier: flags, alerts and dead letters out."""

from __future__ import annotations

import base64
import json

from triage_classifier.pipeline import Record, judge_batch
from triage_classifier.rule_classifier import RuleClassifier
from triage_events import (
    COMMENTS,
    AlertKind,
    DeadLetter,
    FlagRaised,
    Label,
    Platform,
    Severity,
    decode,
    encode,
)

from tests.builders import make_comment, make_record

BENIGN = "What time does the Elm Street lab open on Saturdays?"
URGENT = "My dad just collapsed in the parking lot and he is not breathing"
PRIVACY = "Patient Walter Okafor in room 311 has lung cancer, MRN 55012399"
HOSTILE = "You are all incompetent clowns"

rules = RuleClassifier()


def test_benign_comment_raises_nothing() -> None:
    result = judge_batch(rules, [make_record(make_comment(text=BENIGN))])

    assert result.judged == 1
    assert result.flags == []
    assert result.alerts == []
    assert result.dead_letters == []


def test_every_judged_comment_gets_a_verdict_benign_included() -> None:
    benign, urgent = make_comment(text=BENIGN), make_comment(text=URGENT)
    deleted = make_comment(text="gone", change="deleted")

    result = judge_batch(rules, [make_record(benign), make_record(urgent), make_record(deleted)])

    assert [v.comment_key for v in result.verdicts] == [benign.comment_key, urgent.comment_key]
    quiet, loud = result.verdicts
    assert quiet.labels == [] and quiet.severity is Severity.LOW
    assert set(quiet.scores) == set(Label) and quiet.thresholds[Label.URGENT] == rules.threshold
    assert quiet.model_version == rules.version and quiet.source_event_id == benign.event_id
    assert quiet.comment == benign.comment and quiet.language == "en"
    assert loud.labels == [Label.URGENT] and loud.scores[Label.URGENT] >= rules.threshold
    assert decode(type(loud), encode(loud)) == loud


def test_urgent_comment_raises_a_critical_flag_and_an_urgent_alert() -> None:
    comment = make_comment(text=URGENT, platform=Platform.INSTAGRAM)

    result = judge_batch(rules, [make_record(comment)])

    [flag] = result.flags
    assert flag.comment_key == comment.comment_key
    assert flag.labels == [Label.URGENT]
    assert flag.severity is Severity.CRITICAL
    assert flag.source_event_id == comment.event_id
    assert flag.comment == comment.comment
    assert flag.model_version == rules.version
    assert flag.suggested_templates == ["urgent.public"]
    assert any(flag.comment.text[e.start : e.end] == "collapsed" for e in flag.evidence)
    [alert] = result.alerts
    assert alert.kind is AlertKind.URGENT_COMMENT
    assert alert.label is Label.URGENT
    assert alert.severity is Severity.CRITICAL
    assert alert.comment_keys == [comment.comment_key]
    assert alert.platform is Platform.INSTAGRAM and alert.account == comment.account
    assert alert.dedup_key == f"urgent_comment:{comment.comment_key}"


def test_privacy_comment_raises_a_phi_exposure_alert_without_comment_text() -> None:
    comment = make_comment(text=PRIVACY)

    result = judge_batch(rules, [make_record(comment)])

    [flag] = result.flags
    assert Label.PRIVACY in flag.labels
    assert flag.severity is Severity.HIGH
    [alert] = result.alerts
    assert alert.kind is AlertKind.PHI_EXPOSURE
    assert alert.label is Label.PRIVACY
    assert alert.comment_keys == [comment.comment_key]
    wire = encode(alert).decode()
    for fragment in ("Okafor", "cancer", "55012399"):
        assert fragment not in wire


def test_a_comment_that_is_both_urgent_and_private_raises_both_alerts() -> None:
    comment = make_comment(text="Maria Lindqvist in bed 4 of the ICU is not breathing, nurses aren't coming")

    result = judge_batch(rules, [make_record(comment)])

    assert result.flags[0].labels[:2] == [Label.URGENT, Label.PRIVACY]
    assert sorted(a.kind for a in result.alerts) == sorted([AlertKind.URGENT_COMMENT, AlertKind.PHI_EXPOSURE])


def test_hostile_comment_is_flagged_without_an_immediate_alert() -> None:
    result = judge_batch(rules, [make_record(make_comment(text=HOSTILE))])

    assert [f.labels for f in result.flags] == [[Label.HOSTILE]]
    assert result.alerts == []


def test_flags_survive_the_wire() -> None:
    result = judge_batch(rules, [make_record(make_comment(text=URGENT))])

    flag = result.flags[0]
    assert decode(FlagRaised, encode(flag)) == flag


def test_malformed_records_become_dead_letters_and_the_rest_of_the_batch_is_judged() -> None:
    first, last = make_comment(text=URGENT), make_comment(text=HOSTILE)
    not_json = b'{"text": "Rosa Delgado has HIV"'
    wrong_schema = json.dumps({"text": "hello"}).encode()
    records = [
        make_record(first),
        make_record(value=not_json, partition=3, offset=41),
        make_record(make_comment(text=BENIGN)),
        make_record(value=b"\xff\xfe\x00", partition=1, offset=7),
        make_record(value=wrong_schema, partition=2, offset=9),
        make_record(last),
    ]

    result = judge_batch(rules, records)

    assert result.judged == 3
    assert [f.comment_key for f in result.flags] == [first.comment_key, last.comment_key]
    assert [(d.reason, d.partition, d.offset) for d in result.dead_letters] == [
        ("not_json", 3, 41),
        ("not_utf8", 1, 7),
        ("schema", 2, 9),
    ]
    for letter, original in zip(result.dead_letters, (not_json, b"\xff\xfe\x00", wrong_schema), strict=True):
        assert isinstance(letter, DeadLetter)
        assert letter.service == "classifier"
        assert letter.topic == COMMENTS.name
        assert base64.b64decode(letter.value_b64 or "") == original
        assert base64.b64decode(letter.key_b64 or "") == b"facebook:author-1"
        assert letter.error.startswith(f"{letter.reason}: ")
        assert "Rosa" not in letter.error and "HIV" not in letter.error
        assert decode(DeadLetter, encode(letter)) == letter


def test_a_tombstone_is_a_dead_letter_without_value() -> None:
    result = judge_batch(rules, [Record(key=None, value=None, partition=0, offset=1)])

    [letter] = result.dead_letters
    assert letter.reason == "empty"
    assert letter.value_b64 is None and letter.key_b64 is None
    assert result.judged == 0 and result.flags == []


def test_a_batch_of_only_bad_records_judges_nothing() -> None:
    result = judge_batch(rules, [make_record(value=b"nope"), make_record(value=b"[]")])

    assert result.judged == 0
    assert [d.reason for d in result.dead_letters] == ["not_json", "not_object"]


def test_an_empty_batch_is_empty() -> None:
    result = judge_batch(rules, [])

    assert (result.judged, result.flags, result.alerts, result.dead_letters) == (0, [], [], [])


def test_flags_keep_the_order_of_the_batch() -> None:
    comments = [make_comment(text=t) for t in (HOSTILE, BENIGN, URGENT, PRIVACY, BENIGN)]

    result = judge_batch(rules, [make_record(c) for c in comments])

    assert [f.comment_key for f in result.flags] == [comments[i].comment_key for i in (0, 2, 3)]
    assert result.judged == 5
