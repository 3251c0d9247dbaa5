"""Dead letters: a message a service could not handle, kept whole with the reason."""

from __future__ import annotations

import base64

from triage_events import DeadLetter


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
