"""JSONL replay through the real publisher (its producer swapped for an in-memory one)."""

from __future__ import annotations

import json
from pathlib import Path

from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, DLQ, CommentReceived, DeadLetter, decode
from triage_ingest.publisher import Publisher, RecentKeys
from triage_ingest.replay import replay_file

from tests.builders import make_account, replay_line
from tests.fakes.producer import InMemoryProducer


def in_memory_publisher() -> tuple[Publisher, InMemoryProducer]:
    publisher = Publisher(BrokerProfile("127.0.0.1:1", embedded=True))
    producer = InMemoryProducer()
    publisher._producer = producer  # type: ignore[assignment]
    return publisher, producer


async def test_replay_publishes_good_lines_once_and_dead_letters_bad_ones(tmp_path: Path) -> None:
    good = replay_line(id="a1", text="Where do I park for radiology?")
    bad = b'{"text": "unterminated'
    path = tmp_path / "comments.jsonl"
    path.write_bytes(
        b"\n".join([good, b"", bad, good, replay_line(id="a2", text="Thanks, 3 West!"), b"   "]) + b"\n"
    )
    publisher, producer = in_memory_publisher()

    report = await replay_file(path, publisher, make_account(id="acct-1"))

    assert (report.published, report.duplicates, report.dead_letters) == (2, 1, 1)
    comments = [decode(CommentReceived, value) for _, value in producer.sent[COMMENTS.name]]
    assert [c.comment.platform_comment_id for c in comments] == ["a1", "a2"]
    assert [key for key, _ in producer.sent[COMMENTS.name]] == [c.kafka_key for c in comments]
    [(dlq_key, dlq_value)] = producer.sent[DLQ.name]
    letter = decode(DeadLetter, dlq_value)
    assert dlq_key is None
    assert (letter.service, letter.topic, letter.reason, letter.offset) == (
        "ingest",
        "replay:comments.jsonl",
        "not_json",
        3,
    )
    # A line that is not JSON may be nothing but comment text: the letter says where it is, not what.
    assert letter.value_b64 is None


async def test_replay_handles_crlf_and_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(replay_line(id="w1") + b"\r\n" + replay_line(id="w2"))
    publisher, producer = in_memory_publisher()

    report = await replay_file(path, publisher, make_account())

    assert report.published == 2 and report.dead_letters == 0
    assert len(producer.sent[COMMENTS.name]) == 2


async def test_duplicates_across_replays_through_one_publisher_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "again.jsonl"
    path.write_bytes(json.dumps({"text": "same comment, no id"}).encode() + b"\n")
    publisher, producer = in_memory_publisher()

    first = await replay_file(path, publisher, make_account())
    second = await replay_file(path, publisher, make_account())

    assert (first.published, second.published, second.duplicates) == (1, 0, 1)
    assert len(producer.sent[COMMENTS.name]) == 1
    assert (publisher.published, publisher.duplicates) == (1, 1)


def test_recent_keys_forget_the_oldest_key_beyond_capacity() -> None:
    recent = RecentKeys(capacity=2)

    assert [recent.seen(k) for k in ("a", "b", "a", "c")] == [False, False, True, False]
    # "b" was the least recently seen when "c" arrived.
    assert recent.seen("a") is True
    assert recent.seen("b") is False


def test_replay_takes_the_platform_the_file_names_in_any_case_or_field() -> None:
    """A replayed comment shows the platform its line names ("demo" only when it names none)."""
    import pytest
    from triage_events import Account, InvalidEvent, Platform
    from triage_ingest.replay_lines import from_replay_line

    account = Account(id="acct", handle="@acct")
    cases = {
        b'{"text": "hi", "platform": "Facebook"}': Platform.FACEBOOK,
        b'{"text": "hi", "platform": "twitter"}': Platform.X,
        b'{"text": "hi", "network": "instagram"}': Platform.INSTAGRAM,
        b'{"text": "hi", "source": "YouTube"}': Platform.YOUTUBE,
        b'{"text": "hi", "account": {"id": "page-1", "platform": "linkedin"}}': Platform.LINKEDIN,
        b'{"text": "hi"}': Platform.DEMO,
    }
    for line, platform in cases.items():
        assert from_replay_line(line, account).platform is platform, line
    with pytest.raises(InvalidEvent):
        from_replay_line(b'{"text": "hi", "platform": "myspace"}', account)
