"""An in-memory stand-in for the bus producer (`send_and_wait`), for tests of what gets published."""

from __future__ import annotations

from triage_events import COMMENTS, DLQ, CommentReceived, DeadLetter, decode


class InMemoryProducer:
    """Keeps what was sent, per topic; `fail` makes every send raise (a broker outage)."""

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[bytes | None, bytes]]] = {}
        self.fail = False

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        if self.fail:
            raise ConnectionError("broker unavailable")
        self.sent.setdefault(topic, []).append((key, value))

    def comments(self) -> list[CommentReceived]:
        return [decode(CommentReceived, v) for _k, v in self.sent.get(COMMENTS.name, [])]

    def dead_letters(self) -> list[DeadLetter]:
        return [decode(DeadLetter, v) for _k, v in self.sent.get(DLQ.name, [])]
