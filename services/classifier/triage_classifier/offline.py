"""Offline use of the classifier: JSONL in, verdicts out (`triage classify`), and evaluation against gold
labels (`triage eval`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from triage_classifier.interface import Classifier
from triage_classifier.policy import LABELS
from triage_classifier.training.metrics import label_metrics

CHUNK = 256


class InputError(ValueError):
    """A line of the input that is not a JSON object with a string `text`."""


def _objects(lines: IO[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError(f"line {number}: expected an object with a string 'text'")
        yield obj


def classify_stream(classifier: Classifier, source: IO[str], sink: IO[str]) -> int:
    """Annotate every object with labels, scores, severity and evidence; other fields are kept."""
    count = 0
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        judgements = classifier.classify_batch([obj["text"] for obj in chunk])
        for obj, judgement in zip(chunk, judgements, strict=True):
            obj = {
                **obj,
                "labels": [label.value for label in judgement.labels],
                "scores": {label.value: round(score, 4) for label, score in judgement.scores.items()},
                "severity": judgement.severity.value if judgement.labels else None,
                "evidence": [e.model_dump(mode="json", exclude_none=True) for e in judgement.evidence],
                "model_version": classifier.version,
            }
            sink.write(json.dumps(obj, ensure_ascii=False) + "\n")
        chunk.clear()

    for obj in _objects(source):
        chunk.append(obj)
        count += 1
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    return count


def evaluate_stream(classifier: Classifier, source: IO[str]) -> dict[str, Any]:
    """Precision, recall and F1 per label, macro-F1 and the share of benign items flagged; the same per
    language (`per_language`) when the items name theirs (`lang` or `language`), with the share sent for
    review as written in a language the classifier does not cover."""
    texts: list[str] = []
    gold: list[list[int]] = []
    languages: list[str | None] = []
    names = [label.value for label in LABELS]
    for obj in _objects(source):
        labels = obj.get("labels")
        if not isinstance(labels, list) or any(label not in names for label in labels):
            raise InputError(f"item {len(texts) + 1}: 'labels' must be a list drawn from {', '.join(names)}")
        texts.append(obj["text"])
        gold.append([int(name in labels) for name in names])
        language = obj.get("lang", obj.get("language"))
        languages.append(str(language) if language else None)
    predictions = []
    reviewed = []
    for start in range(0, len(texts), CHUNK):
        for judgement in classifier.classify_batch(texts[start : start + CHUNK]):
            predictions.append([int(label in judgement.labels) for label in LABELS])
            reviewed.append(judgement.review is not None)
    gold_matrix = np.array(gold).reshape(-1, len(names))
    predicted = np.array(predictions).reshape(-1, len(names))
    report = label_metrics(gold_matrix, predicted, names)
    if any(languages):
        report["per_language"] = {}
        for language in sorted({lang for lang in languages if lang}):
            rows = np.array([lang == language for lang in languages])
            part = label_metrics(gold_matrix[rows], predicted[rows], names)
            part["reviewed"] = round(float(np.mean(np.array(reviewed)[rows])), 4)
            report["per_language"][language] = part
    report["model_version"] = classifier.version
    return report
