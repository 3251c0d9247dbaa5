"""Builds the classifier the settings ask for."""

from __future__ import annotations

import logging

from triage_classifier.config import ClassifierSettings
from triage_classifier.interface import Classifier
from triage_classifier.rule_classifier import RuleClassifier

log = logging.getLogger(__name__)


def load_classifier(settings: ClassifierSettings) -> Classifier:
    if settings.mode == "rules":
        classifier: Classifier = RuleClassifier()
    else:
        from triage_classifier.hybrid import HybridClassifier

        classifier = HybridClassifier.load(
            settings.artefact,
            threads=settings.threads or None,
            runtime=settings.runtime,
            cache_dir=settings.data_dir / "onnx",
            multilingual=settings.multilingual,
        )
    log.info(
        "classifier loaded mode=%s runtime=%s multilingual=%s version=%s",
        settings.mode,
        settings.runtime if settings.mode == "hybrid" else "-",
        settings.multilingual if settings.mode == "hybrid" else "-",
        classifier.version,
    )
    return classifier
