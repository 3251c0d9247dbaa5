"""The production classifier: transformer embeddings and guideline-rule features into trained multi-label
heads, per-label thresholds calibrated on held-out data, and strong rules as a floor where recall matters.
Every verdict carries its evidence: the rules that fired with their spans, and the model's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from triage_events import Evidence, Label

from triage_classifier.artefact import Artefact
from triage_classifier.encoder import Encoder
from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.judgement import Judgement
from triage_classifier.policy import severity_for
from triage_classifier.rule_classifier import STRONG_SCORE, rule_evidence
from triage_classifier.rules import RuleHit


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


class HybridClassifier:
    def __init__(self, artefact: Artefact, encoder: Encoder) -> None:
        if tuple(artefact.feature_names) != FEATURE_NAMES:
            raise ValueError("artefact was trained with other rule features; run `triage train`")
        self.artefact = artefact
        self.encoder = encoder
        self.version = artefact.version
        self.labels = [Label(name) for name in artefact.labels]
        self.thresholds = np.array(
            [artefact.thresholds[label.value] for label in self.labels], dtype=np.float32
        )
        self._override = np.array([label.value in artefact.rule_override for label in self.labels])

    @classmethod
    def load(cls, directory: Path | None = None, threads: int | None = None) -> HybridClassifier:
        artefact = Artefact.load(directory)
        encoder = Encoder(threads=threads)
        if artefact.delta:
            encoder.apply_delta(artefact.delta)
        return cls(artefact, encoder)

    def probabilities(self, texts: list[str], batch_size: int = 32) -> tuple[np.ndarray, list[list[RuleHit]]]:
        """Per-label probabilities (rows in `texts` order) and the rule hits, before thresholds."""
        embeddings = self.encoder.encode(texts, batch_size=batch_size)
        features, hits = extract(texts)
        logits = np.hstack([embeddings, features]) @ self.artefact.weights + self.artefact.bias
        probs = sigmoid(logits)
        for row, row_hits in enumerate(hits):
            for hit in row_hits:
                if hit.strong and hit.polarity > 0:
                    col = self.labels.index(hit.label)
                    if self._override[col]:
                        probs[row, col] = max(probs[row, col], STRONG_SCORE)
        return probs, hits

    def classify_batch(self, texts: list[str]) -> list[Judgement]:
        probs, hits = self.probabilities(texts)
        return [self._judge(p, h) for p, h in zip(probs, hits, strict=True)]

    def _judge(self, probs: np.ndarray, hits: list[RuleHit]) -> Judgement:
        chosen = [label for label, p, t in zip(self.labels, probs, self.thresholds, strict=True) if p >= t]
        scores = {label: float(round(p, 4)) for label, p in zip(self.labels, probs, strict=True)}
        evidence = [e for e in rule_evidence(hits) if e.label in chosen]
        evidence += [
            Evidence(
                label=label,
                source="model",
                score=scores[label],
                note=f"model score {scores[label]:.2f} ≥ threshold {self.artefact.thresholds[label.value]:.2f}",
            )
            for label in chosen
        ]
        return Judgement(chosen, scores, severity_for(chosen, [h.rule_id for h in hits]), evidence)
