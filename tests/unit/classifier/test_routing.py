"""Which encoder judges a comment (`TRIAGE_CLASSIFIER_MULTILINGUAL`), with fake encoders and hand-set heads:
English and Spanish to the fine-tuned MiniLM, the other covered languages to e5 and its heads, languages not
covered to the rules and review; the rules stay on top of the heads for urgent and privacy. The real encoders
are in tests/integration/test_multilingual_model.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from triage_classifier.artefact import Artefact
from triage_classifier.features import FEATURE_NAMES
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.interface import UNSUPPORTED_LANGUAGE
from triage_classifier.language import read
from triage_classifier.multilingual import E5_DIM, Multilingual, MultilingualHeads, model_text
from triage_classifier.policy import LABELS
from triage_events import Label

NAMES = [label.value for label in LABELS]
INPUTS = E5_DIM + len(FEATURE_NAMES)


class CountingEncoder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.seen += texts
        return np.zeros((len(texts), E5_DIM), dtype=np.float32)


def artefact(bias: float) -> Artefact:
    return Artefact(
        version="minilm-test",
        labels=NAMES,
        feature_names=list(FEATURE_NAMES),
        thresholds=dict.fromkeys(NAMES, 0.5),
        rule_override=["urgent"],
        data_sha256="0" * 64,
        seed=1,
        weights=np.zeros((INPUTS, len(NAMES)), dtype=np.float32),
        bias=np.full(len(NAMES), bias, dtype=np.float32),
    )


def heads(spam_bias: float = -9.0) -> MultilingualHeads:
    bias = np.full(len(NAMES), -9.0, dtype=np.float32)
    bias[NAMES.index("spam")] = spam_bias
    return MultilingualHeads(
        version="e5-small-heads-test",
        labels=NAMES,
        feature_names=list(FEATURE_NAMES),
        weights=np.zeros((INPUTS, len(NAMES)), dtype=np.float32),
        bias=bias,
        thresholds={mode: dict.fromkeys(NAMES, 0.5) for mode in ("routed", "single")},
        rule_override=["privacy", "urgent"],
        data_sha256="1" * 64,
        seed=1,
    )


def classifier(
    mode: Multilingual, spam_bias: float = -9.0
) -> tuple[HybridClassifier, CountingEncoder, CountingEncoder]:
    minilm, e5 = CountingEncoder(), CountingEncoder()
    return HybridClassifier(artefact(-9.0), minilm, heads(spam_bias), e5, mode), minilm, e5


ENGLISH = "Where can I park when I visit someone on the maternity ward this weekend?"
SPANISH = "¿Dónde puedo estacionar cuando visito a alguien en el hospital este fin de semana?"
CHINESE = "请问周末去医院探望病人的时候可以在哪里停车呢 谢谢大家"
GERMAN = "Wo kann ich parken, wenn ich am Wochenende jemanden im Krankenhaus besuche? Vielen Dank"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("routed", {ENGLISH: "minilm", SPANISH: "minilm", CHINESE: "e5", GERMAN: "rules"}),
        ("single", {ENGLISH: "e5", SPANISH: "e5", CHINESE: "e5", GERMAN: "rules"}),
        ("off", {ENGLISH: "minilm", SPANISH: "minilm", CHINESE: "rules", GERMAN: "rules"}),
    ],
)
def test_each_mode_routes_each_language_to_its_encoder(mode: Multilingual, expected: dict[str, str]) -> None:
    hybrid, minilm, e5 = classifier(mode)

    assert {text: hybrid.route(read(text)) for text in expected} == expected
    judgements = hybrid.classify_batch(list(expected))
    assert sorted(minilm.seen) == sorted(read(t).view.text for t, r in expected.items() if r == "minilm")
    assert sorted(e5.seen) == sorted(model_text(t) for t, r in expected.items() if r == "e5")
    assert [j.language for j in judgements] == ["en", "es", "zh", "de"]
    assert judgements[-1].review == UNSUPPORTED_LANGUAGE


def test_off_needs_no_multilingual_model_and_keeps_the_artefact_version() -> None:
    hybrid = HybridClassifier(artefact(-9.0), CountingEncoder())

    assert hybrid.version == "minilm-test"
    assert hybrid.route(read(CHINESE)) == "rules"


def test_the_version_names_both_models_when_e5_judges() -> None:
    assert classifier("routed")[0].version == "minilm-test+e5-small-heads-test"


def test_routed_or_single_without_the_heads_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the multilingual heads"):
        HybridClassifier(artefact(-9.0), CountingEncoder(), None, None, "routed")


def test_the_heads_label_what_the_rules_do_not_and_the_rules_stay_on_top() -> None:
    hybrid, _, _ = classifier("routed", spam_bias=9.0)  # the heads call everything spam
    # No rule is a floor on the heads' scores either: only the rules on top can flag urgent.
    hybrid._e5_override[:] = False
    urgent = "我真的不想活了 今晚就结束一切 对不起爸妈"  # a goodbye and intent: the rules' urgent

    judgement = hybrid.classify_batch([urgent])[0]

    assert judgement.labels == [Label.URGENT, Label.SPAM]
    assert judgement.scores[Label.URGENT] >= 0.97  # the rule's score, not the heads' near zero
    sources = {(e.label, e.source) for e in judgement.evidence}
    assert (Label.URGENT, "rule") in sources
    assert (Label.SPAM, "model") in sources
    assert (Label.URGENT, "model") not in sources


def test_a_strong_rule_the_artefact_makes_a_floor_is_one_on_the_heads_too() -> None:
    minilm_artefact = artefact(-9.0)
    minilm_artefact.rule_override = ["hostile", "urgent"]
    hybrid = HybridClassifier(minilm_artefact, CountingEncoder(), heads(), CountingEncoder(), "routed")
    threat = "после смены я тебя найду, запомни мое лицо"  # hostile.threat, strong; the heads score ~0

    judgement = hybrid.classify_batch([threat])[0]

    assert hybrid.route(read(threat)) == "e5"
    assert Label.HOSTILE in judgement.labels
    assert judgement.scores[Label.HOSTILE] >= 0.97
    without = HybridClassifier(artefact(-9.0), CountingEncoder(), heads(), CountingEncoder(), "routed")
    assert Label.HOSTILE not in without.classify_batch([threat])[0].labels


def test_heads_round_trip_byte_for_byte(tmp_path: Path) -> None:
    original = heads()
    original.weights[3, 2] = 0.123456789
    original.save(tmp_path / "a")
    loaded = MultilingualHeads.load(tmp_path / "a")
    loaded.save(tmp_path / "b")

    assert (tmp_path / "a" / "heads.json").read_bytes() == (tmp_path / "b" / "heads.json").read_bytes()
    assert loaded.weights[3, 2] == pytest.approx(0.123457, abs=1e-6)
    assert loaded.thresholds == original.thresholds


def test_heads_of_another_shape_are_refused(tmp_path: Path) -> None:
    broken = heads()
    broken.weights = broken.weights[:-1]
    broken.save(tmp_path)

    with pytest.raises(ValueError, match="shape"):
        MultilingualHeads.load(tmp_path)
