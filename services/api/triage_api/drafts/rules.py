"""The draft check's rules, loaded once from `rules.yaml`: guidance citations, vocabularies and patterns,
compiled. Multi-line patterns in the file are joined without their line breaks and indentation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("rules.yaml")


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]
    message: str
    always: bool = False
    unless_before: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Rules:
    guidelines: dict[str, str]
    kinds: dict[str, dict[str, Any]]
    raw: dict[str, Any]

    def text(self, name: str) -> str:
        return str(self.raw[name])


def joined(source: str) -> str:
    """A pattern written over several lines, as one line."""
    return "".join(line.strip() for line in source.splitlines())


def compile_pattern(source: str, case: bool = False) -> re.Pattern[str]:
    return re.compile(joined(source), 0 if case else re.IGNORECASE)


def _rule(entry: dict[str, Any], raw: dict[str, Any]) -> Rule:
    source = joined(entry["pattern"]).replace("{medicines}", joined(raw.get("medicines", "")))
    unless = entry.get("unless_before")
    return Rule(
        id=entry["id"],
        pattern=re.compile(source, 0 if entry.get("case") else re.IGNORECASE),
        message=entry["message"],
        always=bool(entry.get("always", False)),
        unless_before=compile_pattern(unless) if unless else None,
    )


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The rules (a malformed file fails at the first check, and at start-up: `views` loads them)."""
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    loaded = Rules(raw["guidelines"], raw["kinds"], raw)
    for kind in loaded.kinds.values():  # every cited guideline exists
        for key in kind["guidelines"]:
            loaded.guidelines[key]
    return loaded


@lru_cache(maxsize=64)
def pattern(name: str, case: bool = False) -> re.Pattern[str]:
    """The pattern `name` of the file, compiled (case-insensitive unless `case`)."""
    return compile_pattern(rules().raw[name], case)


@lru_cache(maxsize=16)
def rule_list(name: str) -> tuple[Rule, ...]:
    """The list of rules `name` of the file, compiled."""
    raw = rules().raw
    return tuple(_rule(entry, raw) for entry in raw[name])
