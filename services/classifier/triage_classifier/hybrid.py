"""The production classifier: transformer embeddings and guideline-rule features into trained multi-label
heads, per-label thresholds calibrated on held-out data, and strong rules as a floor where recall matters.
Every verdict carries its evidence: the rules that fired with their spans, and the model's scores.

Every comment is normalised and its language identified first (`triage_classifier.language`), then routed
(`TRIAGE_CLASSIFIER_MULTILINGUAL`, `triage_classifier.multilingual`):

- `routed` (the default): English and Spanish (or Latin text too short to tell) go through the fine-tuned
  MiniLM and its heads; the other covered languages through multilingual-e5-small and the heads trained over
  it, since the English encoder's scores on Chinese or Arabic text are noise (it flagged benign Chinese
  comments as spam);
- `single`: every covered comment through e5 and its heads;
- `off`: the other covered languages by the guideline rules alone.

Either way the rules stay on top: a strong rule is a floor on its label's score, and for the recall-first
labels (urgent, privacy) whatever the rules alone would flag stays flagged. A comment in a language the
classifier does not cover, that no rule flags, is sent for review."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from triage_events import Evidence, Label

from triage_classifier.artefact import Artefact
from triage_classifier.features import FEATURE_NAMES, extract
from triage_classifier.interface import Judgement
from triage_classifier.language import COVERED, Reading, read
from triage_classifier.multilingual import (
    SUBDIR,
    E5Encoder,
    Multilingual,
    MultilingualHeads,
    e5_delta_path,
    model_text,
)
from triage_classifier.rule_classifier import STRONG_SCORE, judge_by_rules, judgement, rule_evidence
from triage_classifier.rules import RuleHit, evaluate
from triage_classifier.runtime import Runtime, TextEncoder, load_encoder, load_onnx_encoder
from triage_classifier.training.thresholds import RECALL_FIRST


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))  # type: ignore[no-any-return]


# On the int8 runtime, a comment whose int8 logit for some label comes within that label's margin of its
# threshold is encoded again in float and judged on those logits; `triage train` measures the margins for the
# heads it fits (`training.recheck`). An artefact trained before that carries none and gets this one for every
# label, wide enough for every head trained so far (docs/benchmarks.md, "The margin for the heads of
# 2026-12-07"); one from before margins were measured per label carries one for all.
UNMEASURED_RECHECK_MARGIN = 3.0


def near_a_threshold(
    logits: np.ndarray, threshold_logits: np.ndarray, margins: np.ndarray | float
) -> np.ndarray:
    """Rows whose logit for some label lies within that label's margin of its threshold: re-checked in float."""
    return (np.abs(logits - threshold_logits) < margins).any(axis=1)  # type: ignore[no-any-return]


def recheck_margins(stored: dict[str, float] | float | None, labels: list[str]) -> np.ndarray:
    """The margin for each label, in `labels` order, from what an artefact carries."""
    if isinstance(stored, dict):
        return np.array([stored[label] for label in labels])
    return np.full(len(labels), stored or UNMEASURED_RECHECK_MARGIN)


Route = str  # "minilm", "e5" or "rules": who judges a comment


class HybridClassifier:
    def __init__(
        self,
        artefact: Artefact,
        encoder: TextEncoder,
        heads: MultilingualHeads | None = None,
        e5: TextEncoder | None = None,
        multilingual: Multilingual = "off",
        precise: TextEncoder | None = None,
    ) -> None:
        """`precise`: the float encoder that re-judges the comments `encoder` (int8) leaves near a threshold."""
        if tuple(artefact.feature_names) != FEATURE_NAMES:
            raise ValueError("artefact was trained with other rule features; run `triage train`")
        if multilingual != "off" and (heads is None or e5 is None):
            raise ValueError(f"multilingual={multilingual!r} needs the multilingual heads and encoder")
        self.artefact = artefact
        self.encoder = encoder
        self.precise = precise
        self.rechecked = 0  # comments encoded again by `precise`
        self.multilingual = multilingual
        self.heads = heads if multilingual != "off" else None
        self.e5 = e5 if multilingual != "off" else None
        self.version = artefact.version + (f"+{self.heads.version}" if self.heads is not None else "")
        self.labels = [Label(name) for name in artefact.labels]
        self.thresholds = np.array(
            [artefact.thresholds[label.value] for label in self.labels], dtype=np.float32
        )
        self._threshold_logits = logit(self.thresholds.astype(np.float64))
        self.recheck_margins = recheck_margins(artefact.recheck_margin, artefact.labels)
        self._override = np.array([label.value in artefact.rule_override for label in self.labels])
        if self.heads is not None:
            if self.heads.labels != artefact.labels:
                raise ValueError("the multilingual heads have other labels than the artefact")
            chosen = self.heads.thresholds[multilingual]
            self.e5_thresholds = np.array([chosen[label.value] for label in self.labels], dtype=np.float32)
            # A strong rule is decisive whoever judges the comment: the heads' floors (urgent, privacy) and
            # MiniLM's (`training.train.ALWAYS_FLOORED`: hostile too, as a threat or harassment is hostile in
            # any language; on the nine languages' validation items it added two catches and no false alarm).
            floors = set(self.heads.rule_override) | set(artefact.rule_override)
            self._e5_override = np.array([label.value in floors for label in self.labels])

    @classmethod
    def load(
        cls,
        directory: Path | None = None,
        threads: int | None = None,
        runtime: Runtime = "onnx",
        cache_dir: Path | None = None,
        multilingual: Multilingual = "routed",
    ) -> HybridClassifier:
        """The artefact with its encoder on `runtime` (triage_classifier.runtime; ONNX needs no torch), and
        unless `multilingual` is "off", the multilingual encoder with its heads."""
        artefact = Artefact.load(directory)
        encoder = load_encoder(runtime, artefact.delta, threads=threads, cache_dir=cache_dir)
        precise = None
        if runtime == "onnx-int8":
            precise = load_onnx_encoder("fp32-words16", artefact.delta, threads=threads, cache_dir=cache_dir)
        if multilingual == "off":
            return cls(artefact, encoder, precise=precise)
        heads_dir = directory / SUBDIR if directory else None
        heads = MultilingualHeads.load(heads_dir)
        e5 = E5Encoder(threads=threads, cache_dir=cache_dir, delta_path=e5_delta_path(heads_dir))
        return cls(artefact, encoder, heads, e5, multilingual, precise)

    def route(self, reading: Reading) -> Route:
        """Who judges a read comment: the fine-tuned MiniLM, e5 with its heads, or the rules alone (a
        language not covered, or text too short to tell outside Latin script)."""
        if reading.unsupported:
            return "rules"
        if self.multilingual == "single" and (reading.language in COVERED or reading.for_model):
            return "e5"
        if reading.for_model:
            return "minilm"
        if self.multilingual != "off" and reading.language in COVERED:
            return "e5"
        return "rules"

    def probabilities(
        self, texts: list[str] | list[Reading], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[RuleHit]]]:
        """Per-label model probabilities (rows in `texts` order) and the rule hits, before thresholds."""
        readings = [text if isinstance(text, Reading) else read(text) for text in texts]
        views = [r.view.text for r in readings]
        features, hits = extract([r.view for r in readings])
        logits = self._logits(self.encoder.encode(views, batch_size=batch_size), features)
        if self.precise is not None:
            near = near_a_threshold(logits, self._threshold_logits, self.recheck_margins)
            rows = np.flatnonzero(near)
            if len(rows):
                again = self.precise.encode([views[i] for i in rows], batch_size=batch_size)
                logits[rows] = self._logits(again, features[rows])
                self.rechecked += len(rows)
        probs = sigmoid(logits)
        self._floor_strong_hits(probs, hits, self._override)
        return probs, hits

    def _logits(self, embeddings: np.ndarray, features: np.ndarray) -> np.ndarray:
        return np.hstack([embeddings, features]) @ self.artefact.weights + self.artefact.bias  # type: ignore[no-any-return]

    def multilingual_probabilities(
        self, readings: list[Reading], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[RuleHit]]]:
        """Per-label probabilities from e5 and its heads, strong rules as floors, and the rule hits. e5 reads
        the comment's own spelling (`model_text`), the rules the normalised view."""
        if self.heads is None or self.e5 is None:
            raise RuntimeError("the multilingual encoder is off")
        embeddings = self.e5.encode([model_text(r.view.original) for r in readings], batch_size=batch_size)
        features, hits = extract([r.view for r in readings])
        probs = sigmoid(self.heads.logits(np.hstack([embeddings, features])))
        self._floor_strong_hits(probs, hits, self._e5_override)
        return probs, hits

    def _floor_strong_hits(self, probs: np.ndarray, hits: list[list[RuleHit]], override: np.ndarray) -> None:
        """Raise to `STRONG_SCORE` (in place) each label a strong positive rule fired for, where `override`
        lets that label's rules overrule the model."""
        for row, row_hits in enumerate(hits):
            for hit in row_hits:
                if hit.strong and hit.polarity > 0:
                    col = self.labels.index(hit.label)
                    if override[col]:
                        probs[row, col] = max(probs[row, col], STRONG_SCORE)

    def classify_batch(self, texts: list[str]) -> list[Judgement]:
        readings = [read(text) for text in texts]
        routes = [self.route(reading) for reading in readings]
        judgements: list[Judgement | None] = [None] * len(texts)
        by_minilm = [i for i, route in enumerate(routes) if route == "minilm"]
        if by_minilm:
            probs, hits = self.probabilities([readings[i] for i in by_minilm])
            for i, p, h in zip(by_minilm, probs, hits, strict=True):
                judgements[i] = self._judge(p, h, readings[i], self.thresholds)
        by_e5 = [i for i, route in enumerate(routes) if route == "e5"]
        if by_e5:
            probs, hits = self.multilingual_probabilities([readings[i] for i in by_e5])
            for i, p, h in zip(by_e5, probs, hits, strict=True):
                judgements[i] = self._judge(p, h, readings[i], self.e5_thresholds, rules_on_top=True)
        for i, reading in enumerate(readings):
            if judgements[i] is None:
                judgements[i] = judge_by_rules(reading, evaluate(reading.view))
        return [j for j in judgements if j is not None]

    def _judge(
        self,
        probs: np.ndarray,
        hits: list[RuleHit],
        reading: Reading,
        thresholds: np.ndarray,
        rules_on_top: bool = False,
    ) -> Judgement:
        """Labels whose score reaches its threshold; with `rules_on_top`, also the recall-first labels the
        rules alone would flag (what the rules caught before e5 judged these languages stays caught)."""
        by_model = {label for label, p, t in zip(self.labels, probs, thresholds, strict=True) if p >= t}
        scores = {label: float(round(p, 4)) for label, p in zip(self.labels, probs, strict=True)}
        by_rules: set[Label] = set()
        if rules_on_top:
            ruled = judge_by_rules(reading, hits)
            by_rules = {label for label in ruled.labels if label.value in RECALL_FIRST}
            for label in by_rules:
                scores[label] = max(scores[label], ruled.scores[label])
        chosen = [label for label in self.labels if label in by_model | by_rules]
        evidence = [e for e in rule_evidence(hits) if e.label in chosen]
        evidence += [
            Evidence(
                label=label,
                source="model",
                score=scores[label],
                note=f"model score {scores[label]:.2f} ≥ threshold {float(thresholds[col]):.2f}",
            )
            for col, label in enumerate(self.labels)
            if label in by_model
        ]
        return judgement(reading, chosen, scores, evidence, hits)
