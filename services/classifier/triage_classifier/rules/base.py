"""What a guideline rule is and what it reports when it fires."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import yaml
from triage_events import Label

from triage_classifier.normalise import fold_pattern

REGEX_FLAGS = re.IGNORECASE | re.UNICODE


@dataclass(frozen=True)
class Rule:
    """A pattern tied to one label.

    `strong` rules are decisive on their own (a medical record number is a privacy exposure whatever the
    model thinks); weak rules are features the model's head weighs. `polarity=-1` marks counter-evidence
    (a debunk marker, a figure of speech) that argues against the label. `requires` is a second pattern
    that must also occur somewhere in the text (an identifier *and* a health detail). `decisive` is the
    narrow reading of a weak rule that settles the label on its own (a named person *has* HIV, where the weak
    pattern only sees a name somewhere near a health word): when it matches, the hit is strong, needs nothing
    from `requires`, and is still the same rule (one id, one feature).
    """

    id: str
    label: Label
    pattern: re.Pattern[str]
    note: str
    strong: bool = False
    polarity: int = 1
    requires: re.Pattern[str] | None = None
    decisive: re.Pattern[str] | None = None


@dataclass(frozen=True)
class RuleHit:
    rule_id: str
    label: Label
    start: int
    end: int
    strong: bool
    polarity: int
    note: str


def rx(*alternatives: str) -> re.Pattern[str]:
    """Compile alternatives into one case-insensitive pattern, in the spelling rules read (accents off Latin
    letters: see `triage_classifier.normalise`), so an alternative may be written with its accents."""
    return re.compile("|".join(f"(?:{fold_pattern(a)})" for a in alternatives), REGEX_FLAGS)


Phrases = dict[str, dict[str, list[str]]]  # rule id (or lexicon name) → language → regex alternatives


def load_phrases(filename: str) -> Phrases:
    """A YAML file of phrasing per language beside the rules (`urgent_phrases.yaml`, `privacy_phrases.yaml`)."""
    table: Phrases = yaml.safe_load(
        files("triage_classifier.rules").joinpath(filename).read_text(encoding="utf-8")
    )
    return table


def in_every_language(table: Phrases, key: str) -> list[str]:
    """Every language's alternatives for `key` in `table`."""
    return [pattern for patterns in table.get(key, {}).values() for pattern in patterns]
