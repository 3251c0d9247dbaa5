# ruff: noqa: RUF001
"""Language identification on every comment: which language, which ones the classifier covers, and the
review flag (with its language, counted by the worker) for a comment in a language it does not cover."""

from __future__ import annotations

import json
import random
from array import array
from pathlib import Path

import numpy as np
import pytest
from triage_classifier import langid_states
from triage_classifier.config import ClassifierSettings
from triage_classifier.interface import UNSUPPORTED_LANGUAGE
from triage_classifier.language import CANDIDATES, COVERED, _identifier, read
from triage_classifier.loader import load_classifier
from triage_classifier.pipeline import Record, judge_batch
from triage_classifier.rule_classifier import RuleClassifier
from triage_events import CommentChange, Label, Severity

from tests.builders import make_comment, make_record

rules = RuleClassifier()
CORPUS = Path(__file__).parents[3] / "data" / "corpus"


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


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    """py3langid as it ships, automaton and all, restricted to the candidates."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def _every_corpus_text() -> list[str]:
    paths = sorted(CORPUS.glob("*.jsonl")) + sorted((CORPUS / "multilingual").glob("*.jsonl"))
    return [
        json.loads(line)["text"] for path in paths for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_the_identifier_holds_only_the_candidates_and_no_transition_table(reference) -> None:  # type: ignore[no-untyped-def]
    identifier = _identifier()

    assert identifier.nb_classes == reference.nb_classes
    assert identifier.nb_ptc.shape == (reference.nb_ptc.shape[0], len(reference.nb_classes))
    assert len(identifier.tk_nextmove) == 0
    assert identifier.states.keys.nbytes + identifier.states.features.nbytes < 2 * 2**20


def test_the_identifier_scores_every_corpus_comment_exactly_as_py3langid_does(reference) -> None:  # type: ignore[no-untyped-def]
    identifier = _identifier()
    texts = [
        *_every_corpus_text(),
        "Wann hat die Notaufnahme am Wochenende geöffnet?",
        "\x00\x00 NUL bytes \x00",
        "ß",
        "",
        "🙂🙂🙂 " * 40,
    ]
    rng = random.Random(7)
    texts += [
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30))).decode("utf-8", "replace")
        for _ in range(300)
    ]

    assert len(texts) > 5000
    for text in texts:
        assert np.array_equal(identifier._decide(text), reference._decide(text)), text[:40]


@pytest.fixture(scope="module")
def automaton() -> tuple[array[int], array[int]]:
    """py3langid's transition rows and each state's row, as its model file holds them."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    _, _, _, transitions, state_rows, _ = load_model(MODEL_DIR / MODEL_FILE)
    return transitions, state_rows


def test_the_state_tables_premise_holds_on_every_transition_of_the_automaton(
    automaton: tuple[array[int], array[int]],
) -> None:
    transitions, state_rows = automaton

    assert langid_states.check(transitions, state_rows) == len(state_rows) * 256


def test_check_finds_a_transition_that_is_not_the_longest_suffix(
    automaton: tuple[array[int], array[int]],
) -> None:
    transitions, state_rows = automaton
    rows = np.frombuffer(transitions, dtype=np.uint32).reshape(-1, 256).copy()
    start = int(state_rows[0])
    target = int(np.flatnonzero(rows[start] != 0)[0])
    rows[start, target] = 0  # that byte now leads back to the start state (from every state sharing its row)
    broken = array("I", rows.ravel().tobytes())

    with pytest.raises(ValueError, match=f"on byte {target} is not the longest suffix's state"):
        langid_states.check(broken, state_rows)


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
