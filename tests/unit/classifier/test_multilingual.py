"""Recall-first urgent rules in every covered language: the hand-written multilingual items the rules were
written against all judge right (urgent caught, hyperbole about dying and killing left alone), and on the
multilingual test split, never used to write the rules, the rules alone meet their floors per language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_classifier.language import COVERED
from triage_classifier.offline import evaluate_stream
from triage_classifier.rule_classifier import RuleClassifier
from triage_classifier.rules import evaluate
from triage_classifier.rules.urgent import PHRASES
from triage_events import Label

CORPUS = Path(__file__).parents[3] / "data" / "corpus" / "multilingual"
classifier = RuleClassifier()


def items(split: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def rule_items() -> list[dict[str, object]]:
    """The training items the urgent rules were written against (the rest of the split was written later,
    for the model, and is judged by the floors on the test split)."""
    return [item for item in items("train") if item.get("written_for") == "rules"]


def test_every_covered_language_has_urgent_phrases_for_each_kind_of_danger() -> None:
    kinds = ("suicidal_intent", "means_or_plan", "overdose_now", "emergency_now", "specific_threat")
    for rule_id in (*(f"urgent.{kind}" for kind in kinds), "urgent.figure_of_speech"):
        assert set(PHRASES[rule_id]) >= COVERED - {"en", "es"}, rule_id  # en/es: the core in urgent.py


@pytest.mark.parametrize("item", rule_items(), ids=lambda item: f"{item['lang']}:{str(item['text'])[:30]}")
def test_written_against_items_judge_right(item: dict[str, object]) -> None:
    judgement = classifier.classify(str(item["text"]))

    assert (Label.URGENT in judgement.labels) == ("urgent" in item["labels"]), judgement  # type: ignore[operator]
    assert judgement.language == item["lang"]
    for evidence in judgement.evidence:
        assert evidence.start is not None and evidence.end is not None
        assert 0 <= evidence.start < evidence.end <= len(str(item["text"]))


# The rules alone on the multilingual test split (`TRIAGE_CLASSIFIER_MULTILINGUAL=off`, and the floor under
# the routed classifier, whose own floors are in tests/integration/test_multilingual_model.py): precise, but
# they catch only about half of the urgent comments written in the register people really use. Floors at
# what is reached (docs/model.md).
RULES_URGENT_RECALL_PER_LANGUAGE = 0.35
RULES_BENIGN_FLAGGED_PER_LANGUAGE = 0.08
RULES_URGENT_RECALL = 0.45
RULES_URGENT_PRECISION = 0.9
RULES_BENIGN_FLAGGED = 0.03


def test_the_rules_alone_on_the_multilingual_test_split_meet_their_floors() -> None:
    with (CORPUS / "test.jsonl").open(encoding="utf-8") as source:
        report = evaluate_stream(classifier, source)

    assert set(report["per_language"]) == COVERED - {"en", "es"}
    for language, part in report["per_language"].items():
        assert part["per_label"]["urgent"]["recall"] >= RULES_URGENT_RECALL_PER_LANGUAGE, language
        assert part["benign_flagged"] <= RULES_BENIGN_FLAGGED_PER_LANGUAGE, language
        assert part["reviewed"] == 0.0, language  # a covered language is never sent for review
    assert report["per_label"]["urgent"]["recall"] >= RULES_URGENT_RECALL
    assert report["per_label"]["urgent"]["precision"] >= RULES_URGENT_PRECISION
    assert report["benign_flagged"] <= RULES_BENIGN_FLAGGED


def test_the_test_split_shares_no_text_with_the_training_or_validation_items() -> None:
    test = {item["text"] for item in items("test")}
    assert len(rule_items()) >= 150
    assert not test & {item["text"] for item in items("train")}
    if (CORPUS / "validation.jsonl").exists():
        assert not test & {item["text"] for item in items("validation")}


def fired(text: str, *, strong: bool = False, label: Label | None = None) -> set[str]:
    """The ids of the rules a text fires for its label (`label`: only that one; `strong`: only strong rules)."""
    return {
        hit.rule_id
        for hit in evaluate(text)
        if hit.polarity > 0 and (hit.strong or not strong) and label in (None, hit.label)
    }


def strong_urgent_rules(text: str) -> set[str]:
    return fired(text, strong=True, label=Label.URGENT)


@pytest.mark.parametrize(
    "text",
    [
        # "I almost had a heart attack" at a bill or a fright.
        "suýt lên cơn đau tim khi nhận hóa đơn viện phí",
        "m te manke fè yon kriz kè lè m wè pri a",
        "كادت تجيني نوبة قلبية من الفاتورة",
        "j'ai failli faire une crise cardiaque en lisant la facture",
        "청구서 보고 심장마비 올 뻔했어요",
        "收到账单差点心脏病发",
        # Waiting or boredom "to death".
        "chờ lâu muốn chết mà chưa tới lượt",
        "等到我想死 急诊排了五个钟",
        "đợi bác sĩ mà muốn chết luôn, 4 tiếng rồi",
        # An emergency that is over, told in thanks; a sore arm after a vaccine.
        "엄마가 뇌졸중 왔을 때 빨리 치료해 주셔서 감사합니다",
        "salamat sa inyo nung na-stroke si lolo, malakas na sya ngayon",
        "cảm ơn bệnh viện lúc bị đột quỵ năm ngoái đã cứu bố tôi",
        "après le vaccin j'ai mal au bras, c'est normal ?",
        # A stroke last year, told in thanks; pills kept for a trip.
        "noong isang taon na-stroke si tatay, ngayon nakakalakad na, salamat po",
        "guardei os remédios na geladeira pra viagem",
    ],
)
def test_figures_of_speech_do_not_fire_a_strong_urgent_rule(text: str) -> None:
    assert not strong_urgent_rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "mon père fait une crise cardiaque, venez vite",
        "아버지가 심장마비 온 것 같아요 도와주세요",
        "我爸心脏病发了 快叫救护车",
        "jvais me foutre en lair ce soir",
        "j'ai envie de crever, j'en peux plus",
        "me perdoa mãe, adeus",
        "mwen prale pou toutan, padone m",
        "прощайте друзья, не поминайте лихом",
        "下辈子再做你们的孩子",
        "这是我最后一条朋友圈",
        "paalam na sa inyong lahat",
        "muốn biến mất khỏi thế giới này",
        "聽日拎刀去醫院",
        "tao mang dao lên bệnh viện tìm nó",
        "sa ospital bukas, may dala akong baril",
        "外婆血糖才2 人迷迷糊糊",
        # Blood sugar far too low or too high, with confusion or fainting.
        "my mom's glucose is 42 and she passed out",
        "la glucosa de mi papá está en 600 y se desmayó",
        "할아버지 혈당 38인데 쓰러지셨어요",
        "45 lang ang sugar ni tatay, hinimatay sya",
        "đường huyết của bà còn 1.8, bà xỉu rồi",
        # Bleeding, the words the other way round.
        "máu chảy không cầm được, cứu với",
        # Pills saved up to take at once.
        "llevo semanas juntando pastillas, hoy se acaba todo",
        "guardei as cartelas da minha mãe, hj à noite tomo tudo",
        "накопила снотворное за два месяца",
        "inipon ko na yung mga gamot ni lola, iinumin ko lahat mamaya",
        "جمعت حبوب الضغط تبع ابوي",
        # A low sugar with a muddled head; a stroke and a closing throat written in Latin letters.
        "58 lang sugar ni mama tapos ang labo na kausap",
        "u otca pravaya ruka otnyalas i lico perekosilo",
        "mesh 2adra atnafes ba3d el fool sudani",
        # Coming to the clinic with a gun, words between.
        "завтра приду в вашу поликлинику со стволом",  # noqa: RUF001 (Cyrillic, as written)
        "hoje às 18h tô aí no pronto-socorro com a faca, ele vai ver",
        # Chest weight down the arm (Egyptian), a child who swallowed tablets, a goodbye to a mother.
        "ضغط جامد على صدري ونازل على دراعي من ربع ساعة",
        "nainom ng bunso ko yung mga gamot ni lolo sa puso",
        "desculpa por tudo mãe, cuida da Bia por mim",
    ],
)
def test_kinds_of_danger_written_the_way_people_post_fire_a_strong_urgent_rule(text: str) -> None:
    assert strong_urgent_rules(text)


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("nací el 02/09/1979 y no me han dado los resultados de la biopsia", "privacy.date_of_birth"),
        ("bday ko 09/30/1988, nasaan na po yung result ng biopsy ko", "privacy.date_of_birth"),
        ("ngày sinh của em 21/03/1995, cho em hỏi kết quả xét nghiệm HIV", "privacy.date_of_birth"),
        ("llámenme al 33 1820 4455 por lo de mi quimio", "privacy.contact_in_health_context"),
        ("позвоните мне +7 903 111-22-33 насчёт операции", "privacy.contact_in_health_context"),
        ("은평로 45길 12에 살아요 항암 끝나고 외출이 힘들어요", "privacy.contact_in_health_context"),
        ("nhà em ở 14 Nguyễn Trãi, cần y tá tới thay băng vết mổ", "privacy.contact_in_health_context"),
        ("mwen rete ri lamatinyè #8, m bezwen swen pou dyabèt mwen", "privacy.contact_in_health_context"),
        ("@rafa.gz23 acabó en urgencias por sobredosis anoche", "privacy.handle_with_admission"),
        ("@sasha_k снова в реанимации после аварии", "privacy.handle_with_admission"),
        ("@ahmed.k92 دخل المستشفى بسبب الادمان", "privacy.handle_with_admission"),
        ("@mei_ling 上星期入咗精神科", "privacy.handle_with_admission"),
        ("@joel_ht te entène lopital la pou overdoz", "privacy.handle_with_admission"),
        ("перезвоните насчёт химиотерапии папы, 8 (926) 555-12-34", "privacy.contact_in_health_context"),
        ("我的健保卡號是 123456789012 洗腎費用怎麼算", "privacy.insurance_or_account_id"),
        ("the guy in room 220 is detoxing, can you move my mom", "privacy.room_with_health"),
        ("they moved my colonoscopy again, call me at 312-555-0147", "privacy.contact_in_health_context"),
    ],
)
def test_personal_identifiers_with_health_are_caught_in_every_language(text: str, rule_id: str) -> None:
    assert rule_id in fired(text, label=Label.PRIVACY)


def test_an_overdose_that_is_over_is_not_an_emergency_in_russian() -> None:
    assert not strong_urgent_rules("он полгода в завязке после передоза, держится молодцом")
    assert strong_urgent_rules("у брата передоз, синеет")  # noqa: RUF001 (Cyrillic, as written)


@pytest.mark.parametrize(
    "text",
    [
        "los resultados de marta ruiz salieron positivos a vih, me lo dijo su prima",
        "o exame da paula moreira deu positivo pra hepatite",
        "rezilta tès jean pierre soti pozitif pou vih",
        "نتيجة فحص سامي الحداد طلعت ايجابية للسل",
        "王建国的病理报告是恶性",
    ],
)
def test_a_named_persons_positive_result_is_a_privacy_hit(text: str) -> None:
    assert "privacy.full_name_with_health" in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "Heads up, Darnell Whitaker from the pharmacy counter has HIV and nobody tells the customers",
        "nurse okafor on 5 west just got out of rehab, is that who you want handing out meds?",
        "no inventen, Gisela Ortega tiene VIH desde hace años y todos lo saben",
        "o marcelo antunes pegou sifilis na viagem, avisa as minas",
        "Infirmière Coralie Dubreuil était en hôpital psychiatrique cet été et elle soigne encore des enfants ?",
        "tout moun konnen ti roland estimé gen sida",
        "si jerome de leon ay may hiv daw sabi ng kapitbahay",
        "nghe noi thang khang le bi hiv roi",
        "ông Phạm Văn Lực ở khu tôi bị viêm gan B mà vẫn bán đồ ăn",
        "听说刘建华有艾滋病，大家小心点",  # noqa: RUF001 (full-width, as written)
        "急诊的护士周婉婷在吃抗抑郁药",
        "박지훈 씨 에이즈 확진이래요",
        "у олега смирнова вич, он сам мне сказал",  # noqa: RUF001 (Cyrillic, as written)
        "медсестра Зоя Петрова лежала в наркологии",
        "الممرض خالد النجار كان مدمن وطلع من مصحة الشهر الماضي",
        "يوسف العلي عنده ايدز والناس ما بتعرف",
    ],
)
def test_a_named_person_with_a_sensitive_condition_is_decisive(text: str) -> None:
    """A name (or staff by title and name) with HIV, an infection, addiction, a psychiatric stay or medicine:
    privacy on its own, whatever the model says."""
    assert "privacy.full_name_with_health" in fired(text, strong=True)


@pytest.mark.parametrize(
    "text",
    [
        "Does Dr. Amara Singh see patients with hepatitis B? Need someone in network",
        "Dr. Felix Moreau gave a great talk on HIV prevention at the library",
        "Cedar Ridge HIV Clinic now has evening hours",
        "Hollis County overdose deaths went down this year",
        "La Dra. Inés Salgado dará una charla sobre adicciones el martes",
        "Доктор Левин принимает пациентов с гепатитом?",  # noqa: RUF001 (Cyrillic, as written)
        "الدكتورة سارة منصور قدمت محاضرة عن الايدز",
        "我有艾滋病，请问你们有没有支持小组？",  # noqa: RUF001 (full-width, as written)
        "저희 어머니가 간염이 있으신데 통역 가능한가요?",
        "i have hiv and i'm not ashamed, thank you to the clinic team",
    ],
)
def test_a_doctor_a_clinic_or_ones_own_condition_is_not_decisive(text: str) -> None:
    assert "privacy.full_name_with_health" not in fired(text, strong=True)


@pytest.mark.parametrize(
    "text",
    [
        "los análisis de sangre salieron positivos a anemia",
        "o resultado do teste rápido deu positivo pra covid",
        "我的活检结果是恶性的",
    ],
)
def test_ones_own_or_a_kind_of_test_result_is_not_a_named_persons(text: str) -> None:
    assert "privacy.full_name_with_health" not in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        # "I know where you live", said to someone.
        "i know where u live nurse kim",
        "sé dónde vives, doctora",
        "eu sei onde você mora, doutor",
        "je sais où t'habites, on se reverra",
        "я знаю, где ты живёшь, доктор",
        "انا عارف وين ساكن يا دكتور",
        "너 어디 사는지 알아",
        "alam ko kung saan ka nakatira doc",
        "tao biết nhà mày ở đâu rồi",
        "m konnen kote w rete enfimyè",
        "我知道你住哪里",
        # "You will regret it", to more than one.
        "se van a arrepentir, cuídense la espalda",
        "너네 다 후회하게 될 거야",
        "pagsisisihan nyo talaga to",
        "tụi mày sẽ phải hối hận",
        # ... and about a staff member, in the third person; what they will do, and where.
        "i know where that nurse lives",
        "sé dónde vive la recepcionista",
        "sei onde a enfermeira mora",
        "je sais où elle habite, cette infirmière",
        "знаю, где живёт ваш хирург",
        "그 간호사 집이 어딘지 알아",
        "alam ko kung saan nakatira yung doktor",
        "tui biết nhà thằng bác sĩ đó",
        "m konnen kote doktè a rete",
        "我知道那个医生住哪",
        "babarilin ko yan bukas",
        "m pral touye l demen",
        "喺門口等佢 一刀斬死佢",
        "vou meter bala nele na saída",
        "подкараулю у входа и прибью",  # noqa: RUF001 (Cyrillic, as written)
        "tao sẽ đâm chết nó",
        "راح اقتله بكرة",
        "you people are going to regret this",
        "ya van a ver lo que les pasa",
        "vous allez voir ce qui va vous arriver",
        "vocês vão ver o que vai acontecer",
        "nou pral wè sa k ap rive",
        "babalikan ko kayo",
        "والله لتندمون",
        # Profanity aimed at the hospital.
        "a la mierda este hospital",
        "يلعن ابو هالمستشفى",
        "putangina tong ospital na to",
    ],
)
def test_threats_and_abuse_are_hostile_in_every_language(text: str) -> None:
    assert fired(text, strong=True) & {"hostile.threat", "hostile.harassment"}


@pytest.mark.parametrize(
    "text",
    [
        "vou matar o dr. paulo quando ele sair do plantão",
        "jvais buter le docteur à la sortie de sa garde",
        "убью этого доктора, когда выйдет с работы",  # noqa: RUF001 (Cyrillic, as written)
        "والله لاذبح الدكتور اذا شفته",
    ],
)
def test_a_threat_to_kill_a_doctor_is_specific(text: str) -> None:
    assert "urgent.specific_threat" in strong_urgent_rules(text)


@pytest.mark.parametrize(
    "text",
    [
        # A reminder that one will regret skipping a vaccine, and a workout to be "killed".
        "get your flu shot folks, you'll regret it when you're sick in bed",
        "vacúnense, se van a arrepentir cuando les dé la gripe",
        "faites le vaccin, vous allez le regretter quand vous serez malades",
        "magpabakuna na kayo, pagsisisihan nyo pag nagkasakit kayo",
        "liberado pra academia, hoje vou matar esse treino",
        "pwede na ko mag gym sabi ni doc, papatayin ko tong workout mamaya",
        "재활 끝 오늘 운동 죽여버린다",
    ],
)
def test_reminders_and_workouts_are_not_threats(text: str) -> None:
    assert not fired(text, strong=True) & {"hostile.threat", "urgent.specific_threat"}


@pytest.mark.parametrize(
    "text",
    [
        "the useless billing staff lost my claim again",
        "that pharmacist is a total clown",
        "what a sorry excuse for a surgeon",
        "who hired these morons at the front desk",
        "los enfermeros de noche son unos inútiles",
        "la cajera pendeja me cobró doble",
        "那个废物保安又不让我进去",
        "nhan vien tong dai toan lu vo dung",
        "yung receptionist nyo ay isang malaking tanga",
        "الممرضة هذي غبية ما تفهم شي",
        "무능한 상담원 때문에 예약 또 꼬였어요",
        "криворукая медсестра три раза не попала в вену",
        "enfimyè sa a se yon bourik",
        "os recepcionistas daqui são uns incompetentes",
        "le standardiste est un bouffon",
    ],
)
def test_an_insult_at_staff_by_their_role_is_decisive(text: str) -> None:
    assert "hostile.insult" in fired(text, strong=True)


@pytest.mark.parametrize(
    "text",
    [
        "@kev lol you idiot, wrong entrance again 😂",
        "I'm so stupid, I left my card at the front desk",
        "a man called the nurse stupid and she stayed calm, respect",
        "this stupid parking machine ate my ticket",
        "hôm qua có ông chửi cô y tá là đồ ngu, vậy là không được",
        "putangina mo cancer, tapos na ang chemo ni lola!",
        "vai se foder, câncer, meu pai tocou o sino hoje",
        "that surgeon is a beast, best in the state",
    ],
)
def test_teasing_oneself_a_thing_or_a_reported_insult_is_not_decisive(text: str) -> None:
    assert not fired(text, strong=True) & {"hostile.insult", "hostile.harassment"}
