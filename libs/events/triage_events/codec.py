"""Bytes <-> events. Every way a payload can be wrong ends in one exception, `InvalidEvent`, with a reason."""

from __future__ import annotations

import functools
import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from triage_events.schemas import FlagCleared, FlagRaised

MAX_EVENT_BYTES = 1_000_000

E = TypeVar("E", bound=BaseModel)


class InvalidEvent(ValueError):
    """A payload that cannot become the expected event. `reason` is a short, low-cardinality code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(event: BaseModel) -> bytes:
    """Serialise an event as compact UTF-8 JSON."""
    return event.model_dump_json().encode("utf-8")


def decode(model: type[E], data: bytes | None) -> E:
    """Parse bytes into `model`, or raise `InvalidEvent` saying what was wrong (never the payload itself)."""
    return _validate(model, _load(data))


def decode_typed(models: tuple[type[E], ...], data: bytes | None) -> E:
    """Parse bytes from a topic that carries more than one event type, choosing the model by the payload's
    `type`. A payload without a `type` is read as the first model (the topic's original event, whose
    `type` has a default); a `type` none of `models` has is `InvalidEvent("unknown_type")`."""
    raw = _load(data)
    kind = raw.get("type")
    if kind is None:
        return _validate(models[0], raw)
    for model in models:
        if kind == model.model_fields["type"].default:
            return _validate(model, raw)
    # The value itself is not shown: it comes from the payload.
    raise InvalidEvent("unknown_type", f"type is none of {', '.join(m.__name__ for m in models)}")


def decode_flag_event(data: bytes | None) -> FlagRaised | FlagCleared:
    """A record of the flags topic: a `FlagRaised` (also when written before `type` existed) or a
    `FlagCleared`."""
    event = decode_typed((FlagRaised, FlagCleared), data)
    assert isinstance(event, FlagRaised | FlagCleared)
    return event


def event_type(data: bytes | None) -> str | None:
    """The `type` a payload says it is, without validating the rest (None when it is not a JSON object or
    names no type): for readers of a topic that carries events for more than one reader."""
    try:
        parsed = json.loads(data or b"")
    except (ValueError, RecursionError):
        return None
    kind = parsed.get("type") if isinstance(parsed, dict) else None
    return kind if isinstance(kind, str) else None


def _load(data: bytes | None) -> dict[str, object]:
    if data is None:
        raise InvalidEvent("empty", "message has no value")
    if len(data) > MAX_EVENT_BYTES:
        raise InvalidEvent("too_large", f"{len(data)} bytes exceeds {MAX_EVENT_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("not_utf8", f"invalid UTF-8 at byte {exc.start}") from None
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidEvent("not_json", str(exc)[:200]) from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not_object", f"expected a JSON object, got {type(raw).__name__}")
    return raw


def _validate(model: type[E], raw: dict[str, object]) -> E:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent("schema", f"{model.__name__}: {describe_validation_error(exc, model)}") from None


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """Field locations and error types only, never values: input values (and dict keys) may be PHI."""
    names = _field_names(model)
    return "; ".join(f"{_location(err['loc'], names)}: {err['type']}" for err in exc.errors()[:5])


@functools.cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name in `model` and the models it nests."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model.model_json_schema())
    return frozenset(names)


def _location(loc: tuple[int | str, ...], names: frozenset[str]) -> str:
    """A dotted error location; dict keys come from the payload (they may be PHI), so they show as `*`."""
    parts = (str(p) if isinstance(p, int) or p in names or p == "[key]" else "*" for p in loc)
    return ".".join(parts) or "<root>"
