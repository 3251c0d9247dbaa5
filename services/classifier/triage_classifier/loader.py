"""Builds the classifier the settings ask for."""

from __future__ import annotations

import logging

from triage_classifier.config import ClassifierSettings
from triage_classifier.judgement import Classifier
from triage_classifier.rule_classifier import RuleClassifier

log = logging.getLogger(__name__)


def load_classifier(settings: ClassifierSettings) -> Classifier:
    if settings.mode == "rules":
        classifier: Classifier = RuleClassifier()
    else:
        from triage_classifier.hybrid import HybridClassifier

        classifier = HybridClassifier.load(settings.artefact, threads=settings.threads or None)
    log.info("classifier loaded mode=%s version=%s", settings.mode, classifier.version)
    return classifier
