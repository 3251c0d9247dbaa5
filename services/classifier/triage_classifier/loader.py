"""Builds the classifier the settings ask for."""

from __future__ import annotations

import ctypes
import logging

from triage_classifier import language
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
        classifier.classify_batch(["warm"])  # the encoder's first run sizes its arena before the trim
    language.load()
    release_freed_memory()
    log.info(
        "classifier loaded mode=%s runtime=%s multilingual=%s version=%s",
        settings.mode,
        settings.runtime if settings.mode == "hybrid" else "-",
        settings.multilingual if settings.mode == "hybrid" else "-",
        classifier.version,
    )
    return classifier


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's `malloc_trim`), where the C library has it.

    Loading the encoders and language identification's model frees far more than they keep (the parsed ONNX
    protobufs, the model's full table), but the heap stays at its high-water mark, and a worker's resident
    memory with it: about 20 to 45 MiB (docs/benchmarks.md, "A leaner worker")."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own symbols: libc's on Linux
    if trim is not None:
        trim(0)
