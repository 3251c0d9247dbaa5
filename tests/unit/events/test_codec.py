"""The wire codec: payloads written by older producers keep decoding, and every bad payload is one
`InvalidEvent` with a low-cardinality reason and no payload text in its message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import BaseModel
from triage_bus.dlq import dead_letter
from triage_events import (
    ActionCompleted,
    ActionKind,
    ActionRequested,
    ActionStatus,
    AlertKind,
    AlertRaised,
    ClearReason,
    CommentJudged,
    CommentKind,
    CommentReceived,
    DeadLetter,
    Evidence,
    FlagCleared,
    FlagRaised,
    InvalidEvent,
    Label,
    Platform,
    Severity,
    decode,
    decode_flag_event,
    encode,
)
from triage_events.codec import MAX_EVENT_BYTES

from tests.builders import make_alert, make_comment, make_flag

GOLDEN = Path(__file__).parents[2] / "golden"

MODELS: dict[str, type[BaseModel]] = {
    "comment_received": CommentReceived,
    "flag_raised": FlagRaised,
    "flag_cleared": FlagCleared,
    "comment_judged": CommentJudged,
    "alert_raised": AlertRaised,
    "action_requested": ActionRequested,
    "action_completed": ActionCompleted,
    "dead_letter": DeadLetter,
}

# A comment text that must never leak into an error message.
PHI = "Rosa Delgado in bed 12 has HIV, MRN 4471920"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


# --- golden samples -------------------------------------------------------------------------------------


def test_every_event_type_has_a_golden_sample() -> None:
    types = {json.loads(path.read_bytes())["type"] for path in GOLDEN.glob("*.json")}
    assert types == set(MODELS)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.name)
def test_golden_sample_decodes_and_survives_a_round_trip(path: Path) -> None:
    data = path.read_bytes()
    model = MODELS[json.loads(data)["type"]]

    event = decode(model, data)

    assert decode(model, encode(event)) == event
    assert event.schema_version == 1  # type: ignore[attr-defined]
    assert event.occurred_at.tzinfo is not None  # type: ignore[attr-defined]


def test_golden_comment_received() -> None:
    event = decode(CommentReceived, golden("comment_received.v1.json"))

    assert event.event_id == UUID("5b0f3c2e-8a41-4f7e-9d55-1c2a7e9b0a11")
    assert event.occurred_at == datetime(2026, 3, 2, 14, 5, 9, 412000, tzinfo=UTC)
    assert event.platform is Platform.FACEBOOK
    assert event.comment.kind is CommentKind.REPLY
    assert event.comment.author.display_name == "Theo Marchetti"
    assert event.comment.thread_id == "1029384756_88812000"
    assert event.comment_key == "facebook:1029384756:1029384756_88812345"
    assert event.kafka_key == b"facebook:1029384756:1029384756_88812345"  # keyed by comment


def test_golden_comment_received_with_only_required_fields_gets_defaults() -> None:
    event = decode(CommentReceived, golden("comment_received.v1.minimal.json"))

    assert event.comment.kind is CommentKind.COMMENT
    assert event.comment.text == "¿Dónde se estaciona uno para la clínica de vacunas?"
    assert event.account.handle == ""
    assert event.comment.author.handle == ""
    assert event.comment.permalink is None
    assert event.comment.language is None
    assert event.comment_key == "youtube:UC-brightwater:Ugx7Qk"


def test_golden_flag_raised_written_before_later_fields_existed() -> None:
    event = decode(FlagRaised, golden("flag_raised.v1.json"))

    assert event.labels == [Label.HOSTILE]
    assert event.scores == {Label.HOSTILE: 0.97, Label.SPAM: 0.0}
    assert event.severity is Severity.MEDIUM
    assert event.evidence == [
        Evidence(
            label=Label.HOSTILE,
            source="rule",
            rule_id="hostile.insult",
            start=0,
            end=29,
            note="an insult aimed at people",
        )
    ]
    # Fields added after this producer: defaults.
    assert event.suggested_templates == []
    assert event.source_event_id is None
    assert event.changed_at is None


def test_golden_flag_raised_with_unknown_fields_ignores_them() -> None:
    event = decode(FlagRaised, golden("flag_raised.v1.unknown_fields.json"))

    assert event.labels == [Label.URGENT, Label.CLINICAL_ADVICE]
    assert event.severity is Severity.CRITICAL
    assert event.occurred_at.utcoffset() == timedelta(hours=-5)
    assert event.occurred_at == datetime(2026, 3, 3, 14, 12, tzinfo=UTC)
    span = event.evidence[0]
    assert event.comment.text[span.start : span.end] == "is not breathing"
    assert event.evidence[1] == Evidence(label=Label.URGENT, source="model", score=0.91)
    assert event.source_event_id == UUID("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a")
    encoded = json.loads(encode(event))
    for unknown in ("producer", "routing", "explanations_v2"):
        assert unknown not in encoded
    assert "verified" not in encoded["account"]
    assert "reactions" not in encoded["comment"]
    assert "highlight_colour" not in encoded["evidence"][0]


def test_golden_flag_raised_with_the_comment_version_it_judged() -> None:
    event = decode(FlagRaised, golden("flag_raised.v1.changed_at.json"))

    assert event.changed_at == datetime(2026, 3, 2, 14, 9, 2, tzinfo=UTC)
    assert event.changed_at < event.occurred_at  # written on the platform before it was judged
    assert event.severity is Severity.HIGH
    assert event.comment_key == decode(FlagRaised, golden("flag_raised.v1.json")).comment_key


def test_golden_comment_judged_benign_carries_scores_and_thresholds() -> None:
    event = decode(CommentJudged, golden("comment_judged.v1.json"))

    assert event.labels == []  # judged benign: published all the same
    assert event.scores[Label.URGENT] == 0.31
    assert event.thresholds[Label.URGENT] == 0.35
    assert event.severity is Severity.LOW
    assert event.language == "en"
    assert event.comment_key == "facebook:1029384756:1029384756_555001"
    assert event.review_reason is None and event.source_event_id is None


def test_golden_flag_cleared_for_a_deleted_comment() -> None:
    event = decode(FlagCleared, golden("flag_cleared.v1.json"))

    assert event.reason is ClearReason.DELETED
    assert event.comment_key == "instagram:17841400001:18023456789"
    assert event.platform is Platform.INSTAGRAM
    assert event.changed_at == datetime(2026, 3, 2, 15, 19, 58, tzinfo=UTC)
    assert event.source_event_id == UUID("0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d")
    assert event.model_version is None


def test_golden_flag_cleared_for_an_edit_judged_benign_ignores_unknown_fields() -> None:
    event = decode(FlagCleared, golden("flag_cleared.v1.edited_benign.json"))

    assert event.reason is ClearReason.EDITED_BENIGN
    assert event.model_version == "minilm-heads-3"
    assert event.occurred_at == datetime(2026, 3, 2, 14, 41, 12, 500000, tzinfo=UTC)
    assert event.account.handle == "" and event.source_event_id is None
    assert "moderation_hint" not in json.loads(encode(event))


# --- the flags topic carries two event types, told apart by `type` -----------------------------------------


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("flag_raised.v1.json", FlagRaised),
        ("flag_raised.v1.unknown_fields.json", FlagRaised),
        ("flag_raised.v1.changed_at.json", FlagRaised),
        ("flag_cleared.v1.json", FlagCleared),
        ("flag_cleared.v1.edited_benign.json", FlagCleared),
    ],
)
def test_a_flags_topic_record_decodes_as_the_event_its_type_names(name: str, model: type[BaseModel]) -> None:
    event = decode_flag_event(golden(name))

    assert type(event) is model
    assert event == decode(model, golden(name))


def test_a_flag_raised_written_without_a_type_still_decodes_from_the_flags_topic() -> None:
    raw = json.loads(golden("flag_raised.v1.json"))
    del raw["type"]

    event = decode_flag_event(json.dumps(raw).encode())

    assert isinstance(event, FlagRaised) and event.labels == [Label.HOSTILE]


def test_an_unknown_type_on_the_flags_topic_is_invalid_without_echoing_it() -> None:
    raw = json.loads(golden("flag_cleared.v1.json"))
    raw["type"] = PHI

    with pytest.raises(InvalidEvent) as caught:
        decode_flag_event(json.dumps(raw).encode())

    assert caught.value.reason == "unknown_type"
    assert "Rosa" not in str(caught.value) and "FlagCleared" in caught.value.detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "spam"}, "reason"),
        ({"changed_at": None}, "changed_at"),
        ({"comment_key": None}, "comment_key"),
    ],
)
def test_a_malformed_flag_cleared_is_a_schema_error_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    raw = {**json.loads(golden("flag_cleared.v1.json")), **change}

    with pytest.raises(InvalidEvent) as caught:
        decode_flag_event(json.dumps(raw).encode())

    assert caught.value.reason == "schema"
    assert caught.value.detail.startswith("FlagCleared: ") and field in caught.value.detail


def test_a_consumer_reading_only_flag_raised_rejects_flag_cleared_as_invalid_not_as_a_crash() -> None:
    """An API replica older than FlagCleared dead-letters it (nothing is lost) and goes on: deploy the API
    before the classifier that emits it."""
    with pytest.raises(InvalidEvent) as caught:
        decode(FlagRaised, golden("flag_cleared.v1.json"))

    assert caught.value.reason == "schema"
    assert "type: literal_error" in caught.value.detail


def test_golden_alert_raised() -> None:
    event = decode(AlertRaised, golden("alert_raised.v1.json"))

    assert event.kind is AlertKind.SURGE
    assert event.label is Label.MISINFORMATION
    assert (event.count, event.window_seconds) == (14, 900)
    assert event.comment_keys == ["facebook:1029384756:a1", "facebook:1029384756:a2"]


def test_golden_action_requested_without_reply_text() -> None:
    event = decode(ActionRequested, golden("action_requested.v1.json"))

    assert event.action is ActionKind.HIDE
    assert event.text is None
    assert event.requested_by == "moderator:jlee"


def test_golden_action_completed_refers_to_its_request() -> None:
    requested = decode(ActionRequested, golden("action_requested.v1.json"))
    completed = decode(ActionCompleted, golden("action_completed.v1.json"))

    assert completed.request_id == requested.event_id
    assert completed.status is ActionStatus.DRY_RUN
    assert completed.platform_result_id is None
    assert completed.error is None


def test_golden_dead_letter_without_partition_offset_or_key() -> None:
    event = decode(DeadLetter, golden("dead_letter.v1.json"))

    assert (event.service, event.topic, event.reason) == ("classifier", "triage.comments.v1", "not_json")
    assert event.partition is None and event.offset is None and event.key_b64 is None
    assert event.value_b64 == "bm90IGpzb24="


def test_a_sample_of_one_type_does_not_decode_as_another() -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(CommentReceived, golden("flag_raised.v1.json"))

    assert caught.value.reason == "schema"
    assert "type" in caught.value.detail


# --- round trips ----------------------------------------------------------------------------------------


def _round_trip_events() -> list[BaseModel]:
    comment = make_comment(text="Mañana tengo cita 🙂 — gracias, Dr. Ávila")
    flag = make_flag(comment=comment, labels=[Label.PRIVACY, Label.SPAM], severity=Severity.HIGH)
    return [
        comment,
        flag,
        make_alert(
            flag, kind=AlertKind.PHI_EXPOSURE, label=Label.PRIVACY, severity=Severity.HIGH, dedup_key="phi:x"
        ),
        ActionRequested(
            action=ActionKind.REPLY,
            comment_key=flag.comment_key,
            platform=flag.platform,
            account=flag.account,
            platform_comment_id="c1",
            text="Please call us.",
            requested_by="u:1",
        ),
        ActionCompleted(
            request_id=flag.event_id,
            action=ActionKind.REPLY,
            comment_key=flag.comment_key,
            status=ActionStatus.FAILED,
            error="rate limited",
        ),
        dead_letter("api", "triage.flags.v1", b"k", b"\xff\x00", "not_utf8", "bad", partition=2, offset=7),
        FlagCleared(
            comment_key=flag.comment_key,
            platform=flag.platform,
            account=flag.account,
            reason=ClearReason.EDITED_BENIGN,
            changed_at=datetime(2026, 11, 22, 9, 45, tzinfo=UTC),
            source_event_id=comment.event_id,
            model_version="rules-1",
        ),
        flag.model_copy(update={"changed_at": datetime(2026, 11, 22, 9, 31, tzinfo=UTC)}),
    ]


@pytest.mark.parametrize("event", _round_trip_events(), ids=lambda e: type(e).__name__)
def test_encode_then_decode_gives_the_same_event(event: BaseModel) -> None:
    data = encode(event)

    assert isinstance(data, bytes)
    assert decode(type(event), data) == event
    assert json.loads(data)["type"] == event.type  # type: ignore[attr-defined]


def test_encode_is_compact_utf8_json_keeping_non_ascii_text() -> None:
    event = make_comment(text="Gracias, enfermera Ávila 🙂")

    data = encode(event)

    assert "Gracias, enfermera Ávila 🙂".encode() in data
    assert b"\n" not in data and b'", "' not in data


def test_naive_timestamps_are_rejected() -> None:
    raw = json.loads(golden("comment_received.v1.json"))
    raw["comment"]["created_at"] = "2026-03-02T14:04:58"

    with pytest.raises(InvalidEvent) as caught:
        decode(CommentReceived, json.dumps(raw).encode())

    assert caught.value.reason == "schema"
    assert "comment.created_at" in caught.value.detail


def test_aware_non_utc_timestamps_keep_their_instant() -> None:
    event = make_comment()
    raw = json.loads(encode(event))
    raw["occurred_at"] = "2026-03-02T10:00:00+02:00"

    decoded = decode(CommentReceived, json.dumps(raw).encode())

    assert decoded.occurred_at == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # noqa: UP017


# --- every way a payload can be wrong -------------------------------------------------------------------


def _valid_comment_json(**comment_overrides: object) -> dict:  # type: ignore[type-arg]
    raw = json.loads(encode(make_comment(text=PHI)))
    raw["comment"].update(comment_overrides)
    return raw


def _flag_with_bad_score_key() -> bytes:
    raw = json.loads(encode(make_flag()))
    raw["scores"] = {PHI: 0.5, "hostile": PHI}
    return json.dumps(raw).encode()


BAD_PAYLOADS = [
    pytest.param(CommentReceived, None, "empty", id="empty-none"),
    pytest.param(
        CommentReceived,
        b'{"text": "' + PHI.encode() + b" " * MAX_EVENT_BYTES + b'"}',
        "too_large",
        id="too_large",
    ),
    pytest.param(CommentReceived, b'{"text": "' + PHI.encode() + b'\xff\xfe"}', "not_utf8", id="not_utf8"),
    pytest.param(CommentReceived, PHI.encode("utf-16"), "not_utf8", id="not_utf8-utf16"),
    pytest.param(CommentReceived, b'{"text": "' + PHI.encode() + b'"', "not_json", id="not_json-truncated"),
    pytest.param(CommentReceived, PHI.encode(), "not_json", id="not_json-plain-text"),
    pytest.param(CommentReceived, b"[" * 100_000, "not_json", id="not_json-too-deep"),
    pytest.param(CommentReceived, json.dumps([PHI]).encode(), "not_object", id="not_object-list"),
    pytest.param(CommentReceived, json.dumps(PHI).encode(), "not_object", id="not_object-string"),
    pytest.param(CommentReceived, b"null", "not_object", id="not_object-null"),
    pytest.param(CommentReceived, b"42", "not_object", id="not_object-number"),
    pytest.param(CommentReceived, json.dumps({"text": PHI}).encode(), "schema", id="schema-missing-fields"),
    pytest.param(
        CommentReceived,
        json.dumps({**_valid_comment_json(), "platform": PHI}).encode(),
        "schema",
        id="schema-bad-enum",
    ),
    pytest.param(
        CommentReceived,
        json.dumps(_valid_comment_json(created_at=PHI)).encode(),
        "schema",
        id="schema-bad-timestamp",
    ),
    pytest.param(
        CommentReceived,
        json.dumps(_valid_comment_json(text=PHI * 1000)).encode(),
        "schema",
        id="schema-text-too-long",
    ),
    pytest.param(
        CommentReceived,
        json.dumps(_valid_comment_json(author={"id": PHI * 10})).encode(),
        "schema",
        id="schema-id-too-long",
    ),
    pytest.param(FlagRaised, _flag_with_bad_score_key(), "schema", id="schema-bad-dict-key"),
]


@pytest.mark.parametrize(("model", "data", "reason"), BAD_PAYLOADS)
def test_bad_payload_raises_invalid_event_with_reason_and_no_payload_text(
    model: type[BaseModel], data: bytes | None, reason: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(model, data)

    error = caught.value
    assert issubclass(type(error), ValueError)  # callers may catch ValueError
    assert error.reason == reason
    assert str(error).startswith(f"{reason}: ")
    for fragment in ("Rosa", "Delgado", "HIV", "4471920"):
        assert fragment not in str(error)
        assert fragment not in error.detail


def test_payload_exactly_at_the_size_limit_is_not_too_large() -> None:
    event = make_comment()
    data = encode(event)
    padded = data[:-1] + b" " * (MAX_EVENT_BYTES - len(data)) + b"}"

    assert len(padded) == MAX_EVENT_BYTES
    assert decode(CommentReceived, padded) == event


def test_schema_errors_name_the_fields_and_error_types() -> None:
    raw = _valid_comment_json(kind="story")
    del raw["account"]

    with pytest.raises(InvalidEvent) as caught:
        decode(CommentReceived, json.dumps(raw).encode())

    assert caught.value.detail == "CommentReceived: account: missing; comment.kind: enum"


def test_golden_flag_raised_for_review_carries_its_language() -> None:
    event = decode(FlagRaised, golden("flag_raised.v1.language_review.json"))

    assert event.labels == [] and event.severity is Severity.LOW
    assert (event.language, event.review_reason) == ("de", "unsupported_language")
    older = decode(FlagRaised, golden("flag_raised.v1.json"))
    assert (older.language, older.review_reason) == (None, None)  # older payloads still decode
