"""Split a comment into plain and highlighted segments from evidence spans (rendering escapes each one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Segment:
    text: str
    label: str | None = None
    rule_id: str | None = None


def segments(text: str, evidence: list[dict[str, Any]]) -> list[Segment]:
    """Non-overlapping segments covering `text`; where spans overlap, the earlier span wins."""
    spans = sorted(
        (e for e in evidence if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: (e["start"], -e["end"]),
    )
    out: list[Segment] = []
    cursor = 0
    for span in spans:
        start, end = max(span["start"], cursor), min(span["end"], len(text))
        if start >= end:
            continue
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        out.append(Segment(text[start:end], span.get("label"), span.get("rule_id")))
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out
