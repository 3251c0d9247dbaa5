"""Replay lines (JSONL) to `CommentReceived`: what is filled in, what is rejected, and with which reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from triage_events import CommentKind, CommentReceived, InvalidEvent, Platform, decode, encode
from triage_ingest.replay_lines import from_replay_line

from tests.builders import make_account, replay_line

ACCOUNT = make_account(id="acct-replay", handle="@replay")
SECRET = "Rosa Delgado has HIV"


def test_a_minimal_line_gets_defaults() -> None:
    before = datetime.now(UTC)

    event = from_replay_line(json.dumps({"text": "Is the Oak Street clinic open today?"}).encode(), ACCOUNT)

    assert event.comment.text == "Is the Oak Street clinic open today?"
    assert event.platform is Platform.DEMO
    assert event.account == ACCOUNT
    assert event.comment.kind is CommentKind.COMMENT
    assert event.comment.author.id == "anonymous"
    assert event.comment.author.handle == "" and event.comment.author.display_name == ""
    assert event.comment.permalink is None and event.comment.language is None
    assert before <= event.comment.created_at <= datetime.now(UTC)
    assert len(event.comment.platform_comment_id) == 20
    assert event.comment_key == f"demo:acct-replay:{event.comment.platform_comment_id}"


def test_a_full_line_keeps_every_field() -> None:
    line = json.dumps(
        {
            "id": "yt-Ugx91",
            "platform": "youtube",
            "kind": "reply",
            "text": "¿Y los sábados?",
            "author": {"id": "UC42", "handle": "@lupe", "display_name": "Lupe R."},
            "account": {"id": "UC-brightwater", "handle": "@brightwater"},
            "permalink": "https://youtube.com/watch?v=abc&lc=Ugx91",
            "parent_id": "Ugx90",
            "thread_id": "Ugx90",
            "created_at": "2026-02-01T18:30:00Z",
            "language": "es",
        }
    ).encode()

    event = from_replay_line(line, ACCOUNT)

    assert event.platform is Platform.YOUTUBE
    assert event.account.id == "UC-brightwater" and event.account.handle == "@brightwater"
    assert event.comment.platform_comment_id == "yt-Ugx91"
    assert event.comment.kind is CommentKind.REPLY
    assert event.comment.text == "¿Y los sábados?"
    assert (event.comment.author.id, event.comment.author.handle, event.comment.author.display_name) == (
        "UC42",
        "@lupe",
        "Lupe R.",
    )
    assert event.comment.permalink == "https://youtube.com/watch?v=abc&lc=Ugx91"
    assert (event.comment.parent_id, event.comment.thread_id) == ("Ugx90", "Ugx90")
    assert event.comment.created_at == datetime(2026, 2, 1, 18, 30, tzinfo=UTC)
    assert event.comment.language == "es"
    assert event.comment_key == "youtube:UC-brightwater:yt-Ugx91"
    assert event.kafka_key == b"youtube:UC-brightwater:yt-Ugx91"  # keyed by comment


def test_the_result_is_a_valid_event_on_the_wire() -> None:
    event = from_replay_line(replay_line(), ACCOUNT)

    assert decode(CommentReceived, encode(event)) == event


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("nurse_fan", ("nurse_fan", "nurse_fan", "")),
        ({"handle": "only_handle"}, ("only_handle", "only_handle", "")),
        ({"id": 991, "name": "Ana P."}, ("991", "", "Ana P.")),
        (None, ("anonymous", "", "")),
        ({}, ("anonymous", "", "")),
    ],
)
def test_author_forms(author: object, expected: tuple[str, str, str]) -> None:
    event = from_replay_line(json.dumps({"text": "hi", "author": author}).encode(), ACCOUNT)

    assert (
        event.comment.author.id,
        event.comment.author.handle,
        event.comment.author.display_name,
    ) == expected


def test_lang_is_accepted_for_language_and_numeric_ids_become_strings() -> None:
    event = from_replay_line(json.dumps({"text": "hola", "lang": "es", "id": 12345}).encode(), ACCOUNT)

    assert event.comment.language == "es"
    assert event.comment.platform_comment_id == "12345"


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-02-01T18:30:00", datetime(2026, 2, 1, 18, 30, tzinfo=UTC)),
        ("2026-02-01 18:30:00", datetime(2026, 2, 1, 18, 30, tzinfo=UTC)),
        ("2026-02-01T18:30:00Z", datetime(2026, 2, 1, 18, 30, tzinfo=UTC)),
        ("2026-02-01T13:30:00-05:00", datetime(2026, 2, 1, 18, 30, tzinfo=UTC)),
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
    ],
    ids=["naive", "naive-space", "zulu", "offset", "date-only"],
)
def test_timestamps_are_aware_and_naive_ones_are_utc(created_at: str, expected: datetime) -> None:
    event = from_replay_line(json.dumps({"text": "hi", "created_at": created_at}).encode(), ACCOUNT)

    assert event.comment.created_at == expected
    assert event.comment.created_at.utcoffset() is not None


def test_an_offset_timestamp_keeps_its_offset() -> None:
    event = from_replay_line(
        json.dumps({"text": "hi", "created_at": "2026-02-01T13:30:00-05:00"}).encode(), ACCOUNT
    )

    assert event.comment.created_at.utcoffset() == timedelta(hours=-5)


def test_identical_lines_get_the_same_fallback_id_and_different_lines_different_ones() -> None:
    line = json.dumps({"text": "Same words, same line"}).encode()
    other = json.dumps({"text": "Same words, other line"}).encode()

    first, again, different = (from_replay_line(x, ACCOUNT) for x in (line, line, other))

    assert first.comment_key == again.comment_key
    assert first.event_id != again.event_id
    assert different.comment_key != first.comment_key


def test_an_explicit_id_wins_over_the_fallback() -> None:
    a = from_replay_line(json.dumps({"id": "c-1", "text": "first wording"}).encode(), ACCOUNT)
    b = from_replay_line(json.dumps({"id": "c-1", "text": "edited wording"}).encode(), ACCOUNT)

    assert a.comment_key == b.comment_key == "demo:acct-replay:c-1"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"text": "' + SECRET.encode() + b'"', "not_json"),
        (SECRET.encode(), "not_json"),
        (b"", "not_json"),
        (b'{"text": "' + SECRET.encode() + b'\xff"}', "not_json"),
        (json.dumps([SECRET]).encode(), "not_object"),
        (json.dumps(SECRET).encode(), "not_object"),
        (b"null", "not_object"),
        (json.dumps({"author": "x"}).encode(), "schema"),
        (json.dumps({"text": ""}).encode(), "schema"),
        (json.dumps({"text": "   \n"}).encode(), "schema"),
        (json.dumps({"text": 42}).encode(), "schema"),
        (json.dumps({"text": SECRET, "platform": "myspace"}).encode(), "schema"),
        (json.dumps({"text": SECRET, "kind": "story"}).encode(), "schema"),
        (json.dumps({"text": SECRET, "author": 7}).encode(), "schema"),
        (json.dumps({"text": SECRET, "created_at": "next tuesday"}).encode(), "schema"),
        (json.dumps({"text": SECRET, "account": {"handle": "no id"}}).encode(), "schema"),
        (json.dumps({"text": SECRET, "permalink": 5}).encode(), "schema"),
        (json.dumps({"text": SECRET * 2000}).encode(), "schema"),
    ],
    ids=[
        "truncated",
        "plain-text",
        "blank",
        "not-utf8",
        "list",
        "string",
        "null",
        "missing-text",
        "empty-text",
        "blank-text",
        "text-not-string",
        "bad-platform",
        "bad-kind",
        "bad-author",
        "bad-timestamp",
        "account-without-id",
        "bad-permalink",
        "text-too-long",
    ],
)
def test_bad_lines_are_rejected_with_a_reason_and_without_the_comment_text(line: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        from_replay_line(line, ACCOUNT)

    assert caught.value.reason == reason
    assert "Rosa" not in str(caught.value) and "HIV" not in str(caught.value)
