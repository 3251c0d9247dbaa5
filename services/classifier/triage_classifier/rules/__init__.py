"""Guideline rules: the explainable layer of the classifier. Each fired rule names its id and text span."""

from __future__ import annotations

from triage_events import Label

from triage_classifier.normalise import Normalised, normalise
from triage_classifier.rules import clinical_advice, hostile, misinformation, privacy, spam, urgent
from triage_classifier.rules.base import Rule, RuleHit

ALL_RULES: tuple[Rule, ...] = (
    *urgent.RULES,
    *privacy.RULES,
    *clinical_advice.RULES,
    *hostile.RULES,
    *spam.RULES,
    *misinformation.RULES,
)


def evaluate(text: str | Normalised, rules: tuple[Rule, ...] = ALL_RULES) -> list[RuleHit]:
    """Every rule that fires on the normalised `text`, with the span of its first match in the original text
    (a view `normalise` already made may be passed instead of the text)."""
    view = text if isinstance(text, Normalised) else normalise(text)
    hits: list[RuleHit] = []
    for rule in rules:
        match = rule.pattern.search(view.text)
        if match is None or (rule.requires is not None and rule.requires.search(view.text) is None):
            continue
        start, end = view.origin(match.start(), match.end())
        hits.append(RuleHit(rule.id, rule.label, start, end, rule.strong, rule.polarity, rule.note))
    return hits


def decisive_labels(hits: list[RuleHit]) -> set[Label]:
    """Labels that a strong rule settles on its own."""
    return {hit.label for hit in hits if hit.strong and hit.polarity > 0}


__all__ = ["ALL_RULES", "Rule", "RuleHit", "decisive_labels", "evaluate"]
