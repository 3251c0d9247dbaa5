"""Reading a platform payload's fields: an object, an id, a comment's text, a timestamp. Each raises
`Unusable` (reason `schema`, with where, never the value) when the field is not what the platform documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from triage_ingest.sources.base import Unusable


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


def comment_text(value: Any, where: str) -> str:
    """A comment's text, which the platform sends as a string."""
    if not isinstance(value, str):
        raise Unusable("schema", f"{where}: missing or not a string")
    return value
