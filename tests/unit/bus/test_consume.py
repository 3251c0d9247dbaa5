"""The one consumer of the bus: decode or dead-letter each record, hand the rest over as one batch."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from triage_bus.consume import Received, Sink, handle_records
from triage_events import (
    DLQ,
    FLAGS,
    DeadLetter,
    FlagCleared,
    FlagRaised,
    decode,
    decode_flag_event,
    encode,
    event_type,
)

from tests.builders import make_flag
from tests.fakes.producer import InMemoryProducer


@dataclass(frozen=True)
class FakeRecord:
    value: bytes | None
    offset: int
    key: bytes | None = b"k"
    topic: str = FLAGS.name
    partition: int = 3


def flags_only(value: bytes | None) -> FlagRaised | FlagCleared | None:
    """A decoder for a shared topic: flags are read here, alerts belong to another reader."""
    if event_type(value) == "alert_raised":
        return None
    return decode_flag_event(value)


async def test_a_malformed_record_is_dead_lettered_with_its_reason_and_position() -> None:
    producer, letters, batches = InMemoryProducer(), [], []

    async def handle(received: list[Received[FlagRaised | FlagCleared]], sink: Sink) -> None:
        batches.append(received)

    sink = Sink(producer, "api", letters.append)
    await handle_records([FakeRecord(b"{not json", 7)], flags_only, handle, sink)
    [(key, value)] = producer.sent[DLQ.name]
    letter = decode(DeadLetter, value)
    assert (letter.service, letter.topic, letter.partition, letter.offset) == ("api", FLAGS.name, 3, 7)
    assert letter.reason == "not_json" and key is None
    assert base64.b64decode(letter.value_b64 or "") == b"{not json"
    assert letters == [letter] and batches == []  # counted once; nothing left to hand over


async def test_records_for_another_reader_are_passed_over_and_the_rest_handed_over_in_order() -> None:
    producer, batches = InMemoryProducer(), []

    async def handle(received: list[Received[FlagRaised | FlagCleared]], sink: Sink) -> None:
        batches.append([item.record.offset for item in received])

    flag, alert = encode(make_flag()), b'{"type": "alert_raised"}'
    records = [FakeRecord(flag, 1), FakeRecord(alert, 2), FakeRecord(flag, 3)]
    await handle_records(records, flags_only, handle, Sink(producer, "api"))
    assert batches == [[1, 3]] and producer.sent == {}
    await handle_records([FakeRecord(alert, 4)], flags_only, handle, Sink(producer, "api"))
    assert batches == [[1, 3]]  # an empty batch is not handed over


async def test_a_handler_that_raises_propagates_so_the_offsets_are_not_committed() -> None:
    async def handle(received: list[Received[object]], sink: Sink) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await handle_records(
            [FakeRecord(b"{}", 0)], lambda value: value, handle, Sink(InMemoryProducer(), "api")
        )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"type": "action_completed", "x": 1}', "action_completed"),
        (b'{"x": 1}', None),
        (b'{"type": 5}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (None, None),
    ],
)
def test_event_type_reads_only_the_type(payload: bytes | None, expected: str | None) -> None:
    assert event_type(payload) == expected
