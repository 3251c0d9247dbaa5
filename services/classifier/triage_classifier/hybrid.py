"""The production classifier: transformer embeddings and guideline-rule features into trained multi-label
heads, per-label thresholds calibrated on held-out data, and strong rules as a floor where recall matters.
Every verdict carries its evidence: the rules that fired with their spans, and the model's scores.

Every comment is normalised and its language identified first (`triage_classifier.language`). The encoder
was fine-tuned on English and Spanish: comments in those languages (or too short to tell, in Latin script)
go through it; the others are judged by the guideline rules alone, written for each covered language, since
an English encoder's scores on Chinese or Arabic text are noise (it flagged benign Chinese comments as spam).
A comment in a language the classifier does not cover, that no rule flags, is sent for review."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from triage_events import Evidence, Label

from triage_classifier.artefact import Artefact
from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.judgement import Judgement
from triage_classifier.language import Reading, read
from triage_classifier.policy import severity_for
from triage_classifier.rule_classifier import STRONG_SCORE, judge_by_rules, review_of, rule_evidence
from triage_classifier.rules import RuleHit, evaluate
from triage_classifier.runtime import Runtime, TextEncoder, load_encoder


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


class HybridClassifier:
    def __init__(self, artefact: Artefact, encoder: TextEncoder) -> None:
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
    def load(
        cls,
        directory: Path | None = None,
        threads: int | None = None,
        runtime: Runtime = "onnx",
        cache_dir: Path | None = None,
    ) -> HybridClassifier:
        """The artefact with its encoder on `runtime` (triage_classifier.runtime; ONNX needs no torch)."""
        artefact = Artefact.load(directory)
        return cls(artefact, load_encoder(runtime, artefact.delta, threads=threads, cache_dir=cache_dir))

    def probabilities(
        self, texts: list[str] | list[Reading], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[RuleHit]]]:
        """Per-label model probabilities (rows in `texts` order) and the rule hits, before thresholds."""
        readings = [text if isinstance(text, Reading) else read(text) for text in texts]
        embeddings = self.encoder.encode([r.view.text for r in readings], batch_size=batch_size)
        features, hits = extract([r.view for r in readings])
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
        readings = [read(text) for text in texts]
        by_model = [i for i, reading in enumerate(readings) if reading.for_model]
        judgements: list[Judgement | None] = [None] * len(texts)
        if by_model:
            probs, hits = self.probabilities([readings[i] for i in by_model])
            for i, p, h in zip(by_model, probs, hits, strict=True):
                judgements[i] = self._judge(p, h, readings[i])
        for i, reading in enumerate(readings):
            if judgements[i] is None:
                judgements[i] = judge_by_rules(reading, evaluate(reading.view))
        return [j for j in judgements if j is not None]

    def _judge(self, probs: np.ndarray, hits: list[RuleHit], reading: Reading) -> Judgement:
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
        return Judgement(
            chosen,
            scores,
            severity_for(chosen, [h.rule_id for h in hits]),
            evidence,
            reading.language,
            review_of(reading, chosen),
        )
