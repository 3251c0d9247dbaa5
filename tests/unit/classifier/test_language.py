# ruff: noqa: RUF001
"""Language identification on every comment: which language, which ones the classifier covers, and the
review flag (with its language, counted by the worker) for a comment in a language it does not cover."""

from __future__ import annotations

import pytest
from triage_classifier.config import ClassifierSettings
from triage_classifier.interface import UNSUPPORTED_LANGUAGE
from triage_classifier.language import CANDIDATES, COVERED, _identifier, read
from triage_classifier.loader import load_classifier
from triage_classifier.pipeline import Record, judge_batch
from triage_classifier.rule_classifier import RuleClassifier
from triage_events import CommentChange, Label, Severity

from tests.builders import make_comment, make_record

rules = RuleClassifier()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hey does the oak street clinic take walk ins on saturday mornings", "en"),
        ("hola, a qué hora abre el laboratorio los sábados? gracias", "es"),
        ("请问周六早上门诊开门吗？我妈妈要抽血", "zh"),
        ("請問星期六朝早門診有冇開？我阿媽要抽血", "zh"),  # Cantonese, traditional characters
        ("cho em hỏi thứ bảy phòng khám có mở cửa buổi sáng không ạ", "vi"),
        ("cho em hoi thu bay phong kham co mo cua khong, toi muon dua me di kham", "vi"),  # no diacritics
        ("bukas po ba ang clinic sa sabado ng umaga? salamat po", "tl"),
        ("هل العيادة مفتوحة يوم السبت صباحا؟ شكرا لكم", "ar"),
        ("토요일 아침에도 진료하나요? 어머니 피검사 때문에요", "ko"),
        ("подскажите, поликлиника работает в субботу утром? спасибо", "ru"),
        ("bonjou, eske klinik la louvri samdi maten? mwen vle mennen manman m", "ht"),
        ("olá, a clínica abre no sábado de manhã? preciso levar minha mãe", "pt"),
        ("bonjour, est-ce que la clinique est ouverte le samedi matin ? merci", "fr"),
    ],
)
def test_each_covered_language_is_identified(text: str, language: str) -> None:
    reading = read(text)

    assert (reading.language, reading.unsupported) == (language, False)
    assert language in COVERED


def test_the_identifier_holds_only_the_candidates_and_scores_as_py3langid_restricted_to_them() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages(list(CANDIDATES))
    identifier = _identifier()
    texts = [
        "my dad has chest pain and his arm is numb what do we do",
        "mi papá tiene dolor en el pecho y no siente el brazo",
        "bố tôi bị đau ngực và tê tay",
        "Wann hat die Notaufnahme am Wochenende geöffnet?",
        "请问周六早上门诊开门吗",
    ]

    assert identifier.nb_classes == reference.nb_classes
    assert identifier.nb_ptc.shape == (reference.nb_ptc.shape[0], len(reference.nb_classes))
    for text in texts:
        code, probability = identifier.classify(text)
        expected_code, expected_probability = reference.classify(text)
        assert code == expected_code
        assert probability == pytest.approx(expected_probability, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wann hat die Notaufnahme am Wochenende geöffnet? Meine Mutter braucht Hilfe.", "de"),
        ("Czy ktoś wie, kiedy otwierają przychodnię w sobotę rano? Dziękuję bardzo.", "pl"),
        ("シャトルバスは土曜日も運行していますか？母の通院に使いたいです", "ja"),
        ("क्या शनिवार को क्लिनिक सुबह खुला रहता है? मेरी माँ को दिखाना है", "hi"),
    ],
)
def test_a_language_the_classifier_does_not_cover_is_sent_for_review(text: str, language: str) -> None:
    judgement = rules.classify(text)

    assert judgement.labels == []
    assert (judgement.language, judgement.review) == (language, UNSUPPORTED_LANGUAGE)
    assert judgement.needs_human and judgement.severity is Severity.LOW


@pytest.mark.parametrize(
    "text", ["ok thanks!", "lol", "🙏🙏🙏", "Gracias!!", "see you there", "https://x.co/a"]
)
def test_short_comments_have_no_language_and_are_not_sent_for_review(text: str) -> None:
    judgement = rules.classify(text)

    assert judgement.review is None and not judgement.needs_human


def test_a_review_flag_carries_the_language_and_is_counted() -> None:
    comment = make_comment(
        text="Wann hat die Notaufnahme am Wochenende geöffnet? Meine Mutter braucht Hilfe."
    )

    result = judge_batch(rules, [make_record(comment)])

    [flag] = result.flags
    assert flag.labels == [] and flag.severity is Severity.LOW
    assert (flag.language, flag.review_reason) == ("de", UNSUPPORTED_LANGUAGE)
    assert flag.evidence == [] and flag.suggested_templates == []
    assert result.alerts == []
    assert result.unsupported_languages == ["de"]


def test_flags_carry_the_identified_language_and_labelled_ones_are_not_for_review() -> None:
    urgent = make_comment(text="mi papá no respira y tiene los labios morados, ayuda por favor")
    benign = make_comment(text="hey does the oak street clinic take walk ins on saturday mornings")

    result = judge_batch(rules, [make_record(urgent), make_record(benign)])

    [flag] = result.flags
    assert flag.labels == [Label.URGENT]
    assert (flag.language, flag.review_reason) == ("es", None)
    assert result.unsupported_languages == []


def test_an_edit_into_an_unsupported_language_is_reviewed_not_cleared() -> None:
    comment = make_comment(
        text="Wann hat die Notaufnahme am Wochenende geöffnet? Meine Mutter braucht Hilfe."
    )
    edited = comment.model_copy(
        update={"change": CommentChange.EDITED, "changed_at": comment.comment.created_at}
    )

    result = judge_batch(rules, [Record(edited.kafka_key, make_record(edited).value)])

    assert result.cleared == []
    [flag] = result.flags
    assert flag.review_reason == UNSUPPORTED_LANGUAGE


def test_a_worker_loads_language_identification_at_start_not_at_its_first_comment() -> None:
    _identifier.cache_clear()

    load_classifier(ClassifierSettings(mode="rules"))

    assert _identifier.cache_info().currsize == 1
