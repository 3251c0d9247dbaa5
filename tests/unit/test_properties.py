"""Property-based tests: whatever bytes or text arrive, the codec, the replay normaliser and the rules either
do their job or fail in the one documented way, never with an unexpected exception, and never echo input
text in an error."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_classifier.rule_classifier import RuleClassifier
from triage_classifier.rules import evaluate
from triage_events import Account, CommentReceived, FlagRaised, InvalidEvent, decode, encode
from triage_ingest.replay_lines import from_replay_line

from tests.builders import make_comment

ACCOUNT = Account(id="acct-props", handle="@props")
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MARK = "PHI\u2063"  # every generated string carries it: an error message must never contain it
marked_text = st.text(max_size=30).map(lambda t: MARK + t)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | marked_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(marked_text, children, max_size=5),
    max_leaves=30,
)


@FAST
@given(st.binary(max_size=2000))
def test_codec_turns_any_bytes_into_an_event_or_invalid_event(data: bytes) -> None:
    for model in (CommentReceived, FlagRaised):
        try:
            decode(model, data)
        except InvalidEvent as exc:
            assert exc.reason in {"empty", "too_large", "not_utf8", "not_json", "not_object", "schema"}


@FAST
@given(json_values)
def test_codec_reports_wrong_shapes_as_schema_errors_without_their_values(value: object) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    try:
        decode(CommentReceived, data)
    except InvalidEvent as exc:
        assert exc.reason in {"not_object", "schema"}
        assert MARK not in str(exc)


def test_codec_survives_deeply_nested_json() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    try:
        decode(CommentReceived, data)
    except InvalidEvent as exc:
        assert exc.reason in {"not_json", "not_object"}


@FAST
@given(st.text(max_size=3000))
def test_any_comment_text_round_trips_through_the_codec(text: str) -> None:
    event = make_comment(text=text)
    assert decode(CommentReceived, encode(event)).comment.text == text


@FAST
@given(st.binary(max_size=500) | json_values.map(lambda v: json.dumps(v).encode()))
def test_replay_lines_become_events_or_invalid_event(line: bytes) -> None:
    try:
        event = from_replay_line(line, ACCOUNT)
    except InvalidEvent as exc:
        assert exc.reason in {"not_json", "not_object", "schema"}
    else:
        assert event.comment.text.strip()


@FAST
@given(st.text(max_size=5000))
def test_rules_report_spans_inside_the_text_and_never_fail(text: str) -> None:
    for hit in evaluate(text):
        assert 0 <= hit.start <= hit.end <= len(text)
    judgement = RuleClassifier().classify(text)
    assert all(0.0 <= score <= 1.0 for score in judgement.scores.values())
    for evidence in judgement.evidence:
        assert evidence.label in judgement.labels


def test_rules_handle_huge_texts_with_control_characters() -> None:
    text = ("\x00\x1b[31m call me at 555-010-9999 \u202e my MRN is 12345678 " * 2000)[:200_000]
    hits = evaluate(text)
    assert any(hit.rule_id == "privacy.record_number" for hit in hits)
