"""What every source hands back: the events it normalised, what it skipped on purpose, and what was wrong."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from triage_events import CommentReceived, describe_validation_error


@dataclass(frozen=True)
class Problem:
    """A part of a delivery that could not become an event. `reason` is a short code; `where` a path."""

    account_id: str
    reason: str
    where: str
    detail: str = ""


@dataclass
class Batch:
    events: list[CommentReceived] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (account id, reason)
    problems: list[Problem] = field(default_factory=list)

    def collect(self, account_id: str, where: str, build: Callable[[], CommentReceived | str]) -> None:
        """Normalise one part of a delivery and file the outcome: an event, the reason it is skipped on
        purpose, or what was wrong with it."""
        try:
            result = build()
        except Unusable as exc:
            self.problems.append(Problem(account_id, exc.reason, where, exc.detail))
            return
        except ValidationError as exc:
            self.problems.append(Problem(account_id, "schema", where, describe(exc)))
            return
        if isinstance(result, str):
            self.ignored.append((account_id, result))
        else:
            self.events.append(result)


_STEP = re.compile(r"([A-Za-z_]+)\[(\d+)\]")


def part_at(payload: Any, where: str) -> Any:
    """The part of a delivery at a problem's `where` (`entry[0].changes[1]`, `notifications[3]`); the whole
    payload for `<root>`, None when the path does not lead anywhere."""
    if where == "<root>":
        return payload
    part = payload
    for step in where.split("."):
        match = _STEP.fullmatch(step)
        if match is None or not isinstance(part, dict):
            return None
        items = part.get(match.group(1))
        index = int(match.group(2))
        if not isinstance(items, list) or index >= len(items):
            return None
        part = items[index]
    return part


class Unusable(ValueError):
    """Raised inside a normaliser: this part of the payload is wrong (`reason`, never the content)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def same_digest(expected_hex: str, given: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive, as senders differ)."""
    return hmac.compare_digest(expected_hex.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def epoch_or_iso(value: Any) -> datetime:
    """A platform timestamp: epoch seconds (or milliseconds), or an ISO 8601 string."""
    if isinstance(value, bool) or value in (None, ""):
        raise Unusable("schema", "timestamp missing")
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Unusable("schema", "timestamp not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise Unusable("schema", f"timestamp is a {type(value).__name__}")


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unusable("schema", f"{where}: expected an object")
    return value


def text_id(value: Any, where: str) -> str:
    """An id that platforms send as a string (sometimes as a number)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise Unusable("schema", f"{where}: missing id")
    return str(value)


def describe(exc: ValidationError) -> str:
    """Field locations and error types only (the codec's PHI-safe wording for comment events)."""
    return describe_validation_error(exc, CommentReceived)
