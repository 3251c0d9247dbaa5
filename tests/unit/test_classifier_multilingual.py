"""Recall-first urgent rules in every covered language: the hand-written multilingual items the rules were
written against all judge right (urgent caught, hyperbole about dying and killing left alone), and the
multilingual test split, never used to write the rules, meets its floors per language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_classifier.language import COVERED
from triage_classifier.rule_classifier import RuleClassifier
from triage_classifier.rules.urgent import PHRASES
from triage_events import Label

CORPUS = Path(__file__).parents[2] / "data" / "corpus" / "multilingual"
classifier = RuleClassifier()


def items(split: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def test_every_covered_language_has_urgent_phrases_for_each_kind_of_danger() -> None:
    kinds = ("suicidal_intent", "means_or_plan", "overdose_now", "emergency_now", "specific_threat")
    for rule_id in (*(f"urgent.{kind}" for kind in kinds), "urgent.figure_of_speech"):
        assert set(PHRASES[rule_id]) >= COVERED - {"en", "es"}, rule_id  # en/es: the core in urgent.py


@pytest.mark.parametrize("item", items("train"), ids=lambda item: f"{item['lang']}:{str(item['text'])[:30]}")
def test_written_against_items_judge_right(item: dict[str, object]) -> None:
    judgement = classifier.classify(str(item["text"]))

    assert (Label.URGENT in judgement.labels) == ("urgent" in item["labels"]), judgement  # type: ignore[operator]
    assert judgement.language == item["lang"]
    for evidence in judgement.evidence:
        assert evidence.start is not None and evidence.end is not None
        assert 0 <= evidence.start < evidence.end <= len(str(item["text"]))
