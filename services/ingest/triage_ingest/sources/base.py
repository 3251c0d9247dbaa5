"""What every source hands back: the events it normalised, what it skipped on purpose, and what was wrong."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from triage_events import Comment, CommentReceived, Platform, describe_validation_error

from triage_ingest.accounts import Accounts


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


def received(
    accounts: Accounts, platform: Platform, account_id: str, comment: Comment, **change: Any
) -> CommentReceived:
    """The event of `comment`, seen on our account `account_id` (`change`, `changed_at`: what happened to it,
    when the platform says)."""
    return CommentReceived(
        platform=platform, account=accounts.account(platform, account_id), comment=comment, **change
    )


def describe(exc: ValidationError) -> str:
    """Field locations and error types only (the codec's PHI-safe wording for comment events)."""
    return describe_validation_error(exc, CommentReceived)
