"""A classifier made of the guideline rules alone: no model, fully explainable.

It is the floor under the hybrid classifier and the `rules` mode for development without torch. A strong
rule settles its label; weak rules flag only when no counter-evidence for the same label fired.
"""

from __future__ import annotations

from triage_events import Evidence, Label

from triage_classifier.interface import UNSUPPORTED_LANGUAGE, Judgement
from triage_classifier.language import Reading, read
from triage_classifier.policy import LABELS, severity_for
from triage_classifier.rules import ALL_RULES, RuleHit, evaluate

STRONG_SCORE = 0.97
WEAK_SCORE = 0.6
COUNTER_PENALTY = 0.35


def rule_scores(hits: list[RuleHit]) -> dict[Label, float]:
    """A score per label from the rules that fired."""
    scores: dict[Label, float] = {}
    for label in LABELS:
        mine = [h for h in hits if h.label is label]
        if any(h.strong and h.polarity > 0 for h in mine):
            scores[label] = STRONG_SCORE
            continue
        positive = sum(1 for h in mine if h.polarity > 0)
        negative = sum(1 for h in mine if h.polarity < 0)
        score = (WEAK_SCORE + 0.1 * (positive - 1)) if positive else 0.0
        scores[label] = round(max(0.0, min(0.9, score - COUNTER_PENALTY * negative)), 3)
    return scores


def judge_by_rules(reading: Reading, hits: list[RuleHit], threshold: float = 0.5) -> Judgement:
    """The rules' verdict on one read comment: labels whose rule score reaches `threshold`; a comment in a
    language the classifier does not cover that no rule flags is sent for review."""
    scores = rule_scores(hits)
    labels = [label for label in LABELS if scores[label] >= threshold]
    evidence = [e for e in rule_evidence(hits) if e.label in labels]
    return judgement(reading, labels, scores, evidence, hits)


def judgement(
    reading: Reading,
    labels: list[Label],
    scores: dict[Label, float],
    evidence: list[Evidence],
    hits: list[RuleHit],
) -> Judgement:
    """The verdict on one read comment once its labels are chosen: the severity from the labels and the rules
    that fired, and, for a comment that got no label in a language the classifier does not cover, why a person
    should read it."""
    review = UNSUPPORTED_LANGUAGE if reading.unsupported and not labels else None
    return Judgement(
        labels, scores, severity_for(labels, [h.rule_id for h in hits]), evidence, reading.language, review
    )


def rule_evidence(hits: list[RuleHit]) -> list[Evidence]:
    return [
        Evidence(
            label=h.label,
            source="rule",
            rule_id=h.rule_id,
            start=h.start,
            end=h.end,
            note=h.note if h.polarity > 0 else f"counter-evidence: {h.note}",
        )
        for h in hits
    ]


class RuleClassifier:
    version = "rules-1"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.rule_count = len(ALL_RULES)

    def classify_batch(self, texts: list[str]) -> list[Judgement]:
        return [self.classify(text) for text in texts]

    def classify(self, text: str) -> Judgement:
        reading = read(text)
        return judge_by_rules(reading, evaluate(reading.view), self.threshold)
