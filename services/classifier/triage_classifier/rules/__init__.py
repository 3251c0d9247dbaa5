"""Guideline rules: the explainable layer of the classifier. Each fired rule names its id and text span."""

from __future__ import annotations

import re

from triage_events import Label

from triage_classifier.normalise import Normalised, normalise
from triage_classifier.rules import clinical_advice, hostile, misinformation, privacy, spam, urgent
from triage_classifier.rules.base import Rule, RuleHit
from triage_classifier.rules.prefilter import NeedleIndex, Prefiltered, fold

ALL_RULES: tuple[Rule, ...] = (
    *urgent.RULES,
    *privacy.RULES,
    *clinical_advice.RULES,
    *hostile.RULES,
    *spam.RULES,
    *misinformation.RULES,
)


class _Compiled:
    """A tuple of rules with their patterns prefiltered (`rules.prefilter`) and the index of all their
    needles."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        def prefiltered(pattern: re.Pattern[str] | None) -> Prefiltered | None:
            return None if pattern is None else Prefiltered(pattern)

        self.rules = [
            (rule, Prefiltered(rule.pattern), prefiltered(rule.requires), prefiltered(rule.decisive))
            for rule in rules
        ]
        patterns = [p for _, *ps in self.rules for p in ps if p is not None]
        self.index = NeedleIndex(set().union(*(p.needles() for p in patterns)))


# By the identity of the tuple of rules (hashing 33 rules would cost more than the rules' prefilters).
_COMPILED: dict[int, tuple[tuple[Rule, ...], _Compiled]] = {}


def _compiled(rules: tuple[Rule, ...]) -> _Compiled:
    entry = _COMPILED.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_COMPILED) >= 64:  # callers that build a tuple per call do not pile them up
            _COMPILED.clear()
        entry = _COMPILED[id(rules)] = (rules, _Compiled(rules))
    return entry[1]


def evaluate(text: str | Normalised, rules: tuple[Rule, ...] = ALL_RULES) -> list[RuleHit]:
    """Every rule that fires on the normalised `text`, with the span of its first match in the original text
    (a view `normalise` already made may be passed instead of the text). Each pattern runs only the
    branches whose literals occur in the text (`rules.prefilter`): the same first match, found for less."""
    view = text if isinstance(text, Normalised) else normalise(text)
    compiled = _compiled(rules)
    present = compiled.index.present(fold(view.text))
    hits: list[RuleHit] = []
    for rule, pattern, requires, decisive in compiled.rules:
        match = decisive.search(view.text, present) if decisive is not None else None
        strong = rule.strong or match is not None
        if match is None:
            match = pattern.search(view.text, present)
            if match is None or (requires is not None and requires.search(view.text, present) is None):
                continue
        start, end = view.origin(match.start(), match.end())
        hits.append(RuleHit(rule.id, rule.label, start, end, strong, rule.polarity, rule.note))
    return hits


def decisive_labels(hits: list[RuleHit]) -> set[Label]:
    """Labels that a strong rule settles on its own."""
    return {hit.label for hit in hits if hit.strong and hit.polarity > 0}


__all__ = ["ALL_RULES", "Rule", "RuleHit", "decisive_labels", "evaluate"]
