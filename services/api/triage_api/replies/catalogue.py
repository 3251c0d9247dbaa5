"""The reply template catalogue (`templates.yaml`): per label a public and a private variant, English and
Spanish, each with a human title, the guidance it follows and the published sources behind that guidance.
Urgent templates are for one kind of emergency (self-harm, medical), chosen from the rules that fired, and
are written in every language the classifier covers: someone in danger gets an answer they can read."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from triage_events import Label, Platform

CATALOGUE = Path(__file__).with_name("templates.yaml")
LANGUAGES = ("en", "es")
# The languages the classifier covers (`triage_classifier.language.COVERED`): every urgent template has each.
URGENT_LANGUAGES = ("en", "es", "zh", "vi", "tl", "ar", "ko", "ru", "ht", "pt", "fr")
# What the desk's language selector calls each language a template may be written in.
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "vi": "Tiếng Việt",
    "ht": "Kreyòl ayisyen",
    "zh": "中文",
    "tl": "Tagalog",
    "ar": "العربية",
    "fr": "Français",
    "pt": "Português",
    "ru": "Русский",
    "ko": "한국어",
}


class Emergency(enum.StrEnum):
    """The kind of emergency an urgent comment describes: each gets its own lines to call."""

    SELF_HARM = "self_harm"  # 988 Suicide & Crisis Lifeline, and 911 for immediate danger
    MEDICAL = "medical"  # 911 or the nearest emergency department (stroke, chest pain, not breathing …)


# The classifier's urgent rules (`triage_classifier.rules.urgent`) by the kind of emergency they find. A threat
# of violence, a fire or an accident is a 911 matter like a medical emergency: no crisis line.
EMERGENCY_RULES: dict[str, Emergency] = {
    "urgent.suicidal_intent": Emergency.SELF_HARM,
    "urgent.means_or_plan": Emergency.SELF_HARM,
    "urgent.overdose_now": Emergency.SELF_HARM,
    "urgent.emergency_now": Emergency.MEDICAL,
    "urgent.call_for_help_now": Emergency.MEDICAL,
    "urgent.fire_or_accident": Emergency.MEDICAL,
    "urgent.specific_threat": Emergency.MEDICAL,
}
# Platforms where an account can answer a comment with a private message (Meta private replies).
PRIVATE_REPLY_PLATFORMS = frozenset({Platform.FACEBOOK.value, Platform.INSTAGRAM.value})


class ReplyTemplate(BaseModel):
    id: str
    title: str = Field(min_length=1)
    label: Label
    emergency: Emergency | None = None
    variant: str = Field(pattern="^(public|private)$")
    needs_approval: bool = False
    guidance: list[str]
    sources: list[str]
    text: dict[str, str]

    @property
    def private(self) -> bool:
        return self.variant == "private"


@lru_cache
def load_catalogue(path: Path = CATALOGUE) -> dict[str, ReplyTemplate]:
    """Templates by id; a malformed catalogue fails loudly at start-up rather than at reply time."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    templates = [ReplyTemplate.model_validate(entry) for entry in raw]
    by_id = {t.id: t for t in templates}
    if len(by_id) != len(templates):
        raise ValueError("duplicate template ids in the catalogue")
    for template in templates:
        required = URGENT_LANGUAGES if template.label is Label.URGENT else LANGUAGES
        missing = [lang for lang in required if lang not in template.text]
        if missing:
            raise ValueError(f"template {template.id} lacks languages {missing}")
        if (template.emergency is None) != (template.label is not Label.URGENT):
            raise ValueError(f"template {template.id}: urgent templates, and only they, name an emergency")
    return by_id


def languages() -> list[str]:
    """Every language some template is written in: English and Spanish first, then the others by code."""
    written = {lang for t in load_catalogue().values() for lang in t.text}
    return [*LANGUAGES, *sorted(written - set(LANGUAGES))]


def emergencies(evidence: Iterable[Mapping[str, Any]]) -> list[Emergency]:
    """The kinds of emergency a flag's evidence points at, self-harm first; self-harm when no rule says
    (a model-only urgent flag): its template has 911 as well as 988."""
    found = {EMERGENCY_RULES[rule] for e in evidence if (rule := e.get("rule_id")) in EMERGENCY_RULES}
    return sorted(found, key=list(Emergency).index) or [Emergency.SELF_HARM]


def templates_for(
    labels: list[str],
    platform: str,
    suggested: list[str] | None = None,
    evidence: Iterable[Mapping[str, Any]] = (),
) -> list[ReplyTemplate]:
    """The templates that fit a flag: suggested ones first, then the rest for its labels; private variants
    only where the platform allows a private reply; urgent ones only for the kinds of emergency the
    evidence shows (a stroke never gets the crisis line's template)."""
    catalogue = load_catalogue()
    kinds = emergencies(evidence) if Label.URGENT.value in labels else []
    by_label = [t.id for label in labels for t in catalogue.values() if t.label.value == label]
    chosen: list[ReplyTemplate] = []
    for template_id in dict.fromkeys([*(suggested or []), *by_label]):
        template = catalogue.get(template_id)
        if template is None or (template.private and platform not in PRIVATE_REPLY_PLATFORMS):
            continue
        if template.emergency is not None and template.emergency not in kinds:
            continue
        chosen.append(template)
    # Emergencies first, self-harm before medical; the rest keep their order (the sort is stable).
    return sorted(chosen, key=lambda t: (0, kinds.index(t.emergency)) if t.emergency in kinds else (1, 0))
