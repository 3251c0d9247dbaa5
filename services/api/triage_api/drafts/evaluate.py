"""The draft check measured on labelled drafts (JSONL: `text`, `kinds` — the finding kinds expected, empty for
a clean draft — and optionally `platform`, `caption`, `links`, `sponsored`, `sponsor`, `reply_to`): precision
and recall per kind, and the share of clean drafts given any finding. Used by `triage eval --drafts` and the
tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from triage_api.drafts.check import KINDS, check_draft
from triage_api.drafts.findings import Draft
from triage_api.replies.accounts import AccountSettings


class LabelledDraftError(ValueError):
    """A line of the labelled set that is not a labelled draft (the message names the line)."""


@dataclass(frozen=True)
class KindScore:
    precision: float
    recall: float
    support: int
    true_positives: int
    false_positives: int


@dataclass(frozen=True)
class DraftReport:
    drafts: int
    clean: int
    clean_with_a_finding: int
    kinds: dict[str, KindScore]

    @property
    def false_on_clean(self) -> float:
        return self.clean_with_a_finding / max(1, self.clean)

    def as_dict(self) -> dict[str, Any]:
        return {
            "drafts": self.drafts,
            "clean": self.clean,
            "clean_with_a_finding": self.clean_with_a_finding,
            "false_on_clean": round(self.false_on_clean, 4),
            "kinds": {k: vars(s) for k, s in self.kinds.items()},
        }

    def table(self) -> str:
        lines = [f"{'kind':20} {'precision':>9} {'recall':>7} {'support':>7}"]
        for kind, s in self.kinds.items():
            lines.append(f"{kind:20} {s.precision:9.3f} {s.recall:7.3f} {s.support:7d}")
        lines.append(
            f"clean drafts with a finding: {self.clean_with_a_finding} of {self.clean} ({self.false_on_clean:.1%})"
        )
        return "\n".join(lines)


def as_draft(row: dict[str, Any]) -> Draft:
    return Draft(
        row["text"],
        row.get("platform", "facebook"),
        row.get("caption", ""),
        tuple(row.get("links", [])),
        bool(row.get("sponsored", False)),
        row.get("sponsor", ""),
        row.get("reply_to"),
    )


def read_labelled(lines: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise LabelledDraftError(f"line {number}: not JSON") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise LabelledDraftError(f"line {number}: an object with a `text` string is expected")
        kinds = row.get("kinds")
        if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
            raise LabelledDraftError(f"line {number}: `kinds` must be a list of {', '.join(KINDS)}")
        rows.append(row)
    return rows


def evaluate(rows: list[dict[str, Any]], account: AccountSettings | None = None) -> DraftReport:
    counts = {k: {"tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    clean = flagged_clean = 0
    for row in rows:
        found = {f.kind for f in check_draft(as_draft(row), account)}
        expected = set(row["kinds"])
        if not expected:
            clean += 1
            flagged_clean += bool(found)
        for kind in KINDS:
            if kind in found:
                counts[kind]["tp" if kind in expected else "fp"] += 1
            elif kind in expected:
                counts[kind]["fn"] += 1
    kinds = {
        kind: KindScore(
            precision=c["tp"] / max(1, c["tp"] + c["fp"]),
            recall=c["tp"] / max(1, c["tp"] + c["fn"]),
            support=c["tp"] + c["fn"],
            true_positives=c["tp"],
            false_positives=c["fp"],
        )
        for kind, c in counts.items()
    }
    return DraftReport(len(rows), clean, flagged_clean, kinds)
