"""Hand-built features the model's heads weigh beside the embedding: which guideline rules fired (+1 for
evidence, -1 for counter-evidence) and the bundled profanity model's probability (scored with numpy:
`triage_classifier.profanity`)."""

from __future__ import annotations

import numpy as np

from triage_classifier import profanity as profanity_model
from triage_classifier.normalise import Normalised
from triage_classifier.rules import ALL_RULES, RuleHit, evaluate

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in ALL_RULES)
FEATURE_NAMES: tuple[str, ...] = (*RULE_IDS, "profanity")
_INDEX = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}


def profanity(texts: list[str]) -> np.ndarray:
    return profanity_model.predict_prob(texts).astype(np.float32)


def rule_vector(hits: list[RuleHit]) -> np.ndarray:
    vector = np.zeros(len(RULE_IDS), dtype=np.float32)
    for hit in hits:
        vector[_INDEX[hit.rule_id]] = float(hit.polarity)
    return vector


def extract(texts: list[str] | list[Normalised]) -> tuple[np.ndarray, list[list[RuleHit]]]:
    """The feature matrix (rules + profanity) and the rule hits behind it, one row per text (or normalised
    view: the rules read it, the profanity model reads the original text)."""
    hits = [evaluate(text) for text in texts]
    rules = np.stack([rule_vector(h) for h in hits]) if texts else np.zeros((0, len(RULE_IDS)), np.float32)
    originals = [text.original if isinstance(text, Normalised) else text for text in texts]
    return np.hstack([rules, profanity(originals)[:, None]]).astype(np.float32), hits
