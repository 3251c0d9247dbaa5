"""Dead letters: a message a service could not handle, with the reason.

Two kinds. A record of a bus topic (`dead_letter`) is kept whole, with its topic, partition and offset: it is
a copy of a record that already lives on that topic. A part of a platform's input (a webhook delivery's
change or notification, a replay line, a polled item: `dead_letter_part`) is kept alone, never with the
rest of its delivery, and with its text masked (`masked_part`): what stays is its shape, its ids, its field
names and timestamps, which is what a person needs to find it on the platform; the comment text does not.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Protocol

from triage_events import DeadLetter

MASK = "[masked]"
# Strings kept by `masked_part`: ids, and the fields that say what a part is and when it happened.
_KEPT_FIELDS = frozenset(
    {
        "id",
        "object",
        "field",
        "item",
        "verb",
        "action",
        "type",
        "kind",
        "change",
        "platform",
        "status_type",
        "time",
        "created_time",
        "created_at",
        "changed_at",
        "updated_time",
        "timestamp",
        "lastModifiedAt",
        "organizationalEntity",
        "generatedActivity",
        "sourcePost",
        "subscriber",
        "owner",
    }
)
_ID_FIELD = re.compile(r"(?:.*_id|.*Id|.*_ids|id)")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
_MAX_KEPT = 128  # no id or timestamp is longer; a longer string is masked even under a kept field
_MAX_DEPTH = 32


def dead_letter(
    service: str,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    error: str,
    partition: int | None = None,
    offset: int | None = None,
) -> DeadLetter:
    return DeadLetter(
        service=service,
        topic=topic,
        partition=partition,
        offset=offset,
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        value_b64=base64.b64encode(value).decode() if value is not None else None,
        reason=reason,
        error=error[:1000],
    )


class Record(Protocol):
    """What is needed of a Kafka record (aiokafka's `ConsumerRecord` is one)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def dead_letter_record(service: str, record: Record, reason: str, error: str) -> DeadLetter:
    """The dead letter of a bus record, kept whole with its topic, partition and offset."""
    return dead_letter(
        service, record.topic, record.key, record.value, reason, error, record.partition, record.offset
    )


def dead_letter_part(
    service: str, source: str, part: Any, reason: str, where: str, detail: str, offset: int | None = None
) -> DeadLetter:
    """The dead letter of one unusable part of a platform's input: `part` (parsed JSON) masked, `where` its
    location in what `source` delivered (`entry[0].changes[1]`, a line number in `offset`)."""
    value = json.dumps(masked_part(part), sort_keys=True, ensure_ascii=False).encode("utf-8")
    return dead_letter(service, source, None, value, reason, f"{where}: {detail}", offset=offset)


def masked_part(part: Any, depth: int = 0) -> Any:
    """A copy of JSON data with every string masked except ids and the fields in `_KEPT_FIELDS` (short ones);
    numbers, booleans and nulls stay; keys that are not plain field names are masked too (they are data)."""
    if depth > _MAX_DEPTH:
        return MASK
    if isinstance(part, dict):
        masked: dict[str, Any] = {}
        for number, (key, value) in enumerate(part.items()):
            plain = isinstance(key, str) and _PLAIN_KEY.fullmatch(key) is not None
            name = key if plain else f"{MASK}{number}"
            if plain and _kept(key) and isinstance(value, str) and len(value) <= _MAX_KEPT:
                masked[name] = value
            else:
                masked[name] = masked_part(value, depth + 1)
        return masked
    if isinstance(part, list):
        return [masked_part(value, depth + 1) for value in part]
    if isinstance(part, str):
        return MASK
    return part


def _kept(key: str) -> bool:
    return key in _KEPT_FIELDS or _ID_FIELD.fullmatch(key) is not None
