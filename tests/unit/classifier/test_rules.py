"""Guideline rules and the rule-only classifier: what fires, on which words, and what argues against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_classifier.policy import LABELS
from triage_classifier.rule_classifier import (
    COUNTER_PENALTY,
    STRONG_SCORE,
    WEAK_SCORE,
    RuleClassifier,
    rule_scores,
)
from triage_classifier.rules import ALL_RULES, RuleHit, decisive_labels, evaluate
from triage_events import Label, Severity

U, P, C, H, S, M = (
    Label.URGENT,
    Label.PRIVACY,
    Label.CLINICAL_ADVICE,
    Label.HOSTILE,
    Label.SPAM,
    Label.MISINFORMATION,
)

classifier = RuleClassifier()


def labels_of(text: str) -> list[Label]:
    return classifier.classify(text).labels


def span_of(text: str, rule_id: str) -> str:
    """The substring the named rule points at (the rule must have fired)."""
    hits = [h for h in evaluate(text) if h.rule_id == rule_id]
    assert hits, f"{rule_id} did not fire; fired: {[h.rule_id for h in evaluate(text)]}"
    return text[hits[0].start : hits[0].end]


# (text, label it must carry, rule that must fire, the exact words that rule points at), one per rule at
# least, English and Spanish: a table of cases, kept as data beside this file.
POSITIVES = [
    (case["text"], Label(case["label"]), case["rule"], case["span"])
    for case in json.loads((Path(__file__).parent / "rule_positives.json").read_text(encoding="utf-8"))
]


@pytest.mark.parametrize(("text", "label", "rule_id", "span"), POSITIVES, ids=[p[0][:40] for p in POSITIVES])
def test_positive_is_flagged_with_the_rule_pointing_at_the_right_words(
    text: str, label: Label, rule_id: str, span: str
) -> None:
    judgement = classifier.classify(text)

    assert label in judgement.labels
    assert span_of(text, rule_id) == span
    evidence = [e for e in judgement.evidence if e.rule_id == rule_id]
    assert evidence and evidence[0].label is label and evidence[0].source == "rule"
    assert text[evidence[0].start : evidence[0].end] == span


SPECIFIC_THREATS = [text for text, _, rule_id, _ in POSITIVES if rule_id == "urgent.specific_threat"]


@pytest.mark.parametrize("text", SPECIFIC_THREATS, ids=[t[:40] for t in SPECIFIC_THREATS])
def test_a_specific_threat_is_hostile_as_well_as_urgent(text: str) -> None:
    judgement = classifier.classify(text)

    assert {U, H} <= set(judgement.labels)
    assert any(e.rule_id == "hostile.threat" and e.label is H for e in judgement.evidence)


def test_every_positive_rule_has_a_positive_example() -> None:
    covered = {rule_id for _, _, rule_id, _ in POSITIVES}
    positive_rules = {rule.id for rule in ALL_RULES if rule.polarity > 0}

    assert positive_rules <= covered


def test_rule_ids_are_unique_and_named_after_their_label() -> None:
    ids = [rule.id for rule in ALL_RULES]
    prefixes = {U: "urgent.", P: "privacy.", C: "clinical.", H: "hostile.", S: "spam.", M: "misinfo."}

    assert len(ids) == len(set(ids))
    for rule in ALL_RULES:
        assert rule.id.startswith(prefixes[rule.label]), rule.id


# (text, the label it must NOT get): service questions, praise, civil complaints, figures of speech,
# awareness posts, debunks, past events, identifiers without health details, the system's own links.
HARD_NEGATIVES = [
    ("This insurance paperwork is killing me lol", U),
    ("Me muero de risa con el video de las enfermeras bailando", U),
    ("me voy a matar estudiando para el examen de anatomía", U),
    ("otra vez se cayó el portal de citas, me quiero morir jajaja", U),
    ("blood sugar was 250 after the cake, confused about how much insulin to take", U),
    ("I'm gonna jump on that free screening offer", U),
    ("bye everyone, signing off for the holidays, thanks for a great year volunteering", U),
    ("I'm going to end things with my boyfriend, he never came to my appointments", U),
    ("my throat feels tight after talking all day at the conference lol", U),
    ("I won't be here tomorrow for my infusion, flying to see my kids", U),
    ("I don't want to be here anymore, this waiting room is freezing", U),
    ("I took all my pills this morning like the pharmacist said", U),
    ("выпил все лекарства утром, как врач назначил", U),
    ("¿qué síntomas tiene un infarto en mujeres? para compartir con mi grupo", U),
    ("me quiero morir de la vergüenza, me caí en el lobby jaja", U),
    ("shut up and take my money, the new cafe is amazing", H),
    ("shut up!! no way, congrats to the whole NICU team", H),
    ("Join us Saturday for the suicide prevention walk around the lake", U),
    ("Two years ago I had a heart attack in your parking lot and your team saved me", U),
    ("I was on the roof of the old wing back in 2019 when the fire drill happened", U),
    ("El año pasado mi papá tuvo un infarto y hoy está perfecto, gracias", U),
    ("Can you kill the music in the waiting room? It's so loud", U),
    # The real register's ideation phrases, beside what they must not catch.
    ("i hope i dont wake up my roommate when i come home from night shift", U),
    ("going to end it with my boyfriend tonight, planning how to end it with him nicely", U),
    ("that was so embarrassing i want to disappear forever lol", U),
    ("i dont wanna wake up early for the 7am appointment tho", U),
    ("I'd rather be dead than wear scrubs that color lol jk", U),
    ("Join us: thinking about suicide prevention, our walk is Saturday", U),
    ("i want this semester to end, everything to end lol", U),
    ("nadie me va a extrañar en la fiesta jajaja", U),
    ("my uncle shot himself in 2009, please support suicide prevention month", U),
    ("hoy me despido de mi doctora favorita que se jubila, gracias por todo", U),
    ("the kids would be better off with a pediatrician closer to home", U),
    ("the guard was pointing a flashlight at the parking signs", U),
    ("ya no quiero despertar tan temprano para las citas de las 7", U),
    ("huge thanks to the team who helped me through my suicidal period last year, in a good place now", U),
    ("el año pasado intenté quitarme la vida y hoy estoy bien gracias a su equipo", U),
    ("I'm dying to try the new café in the atrium", U),
    ("So tired of living paycheck to paycheck with these hospital bills", U),
    ("Nobody would notice if i was late to the 8am class lol", U),
    ("I've been saving up for the new patio furniture", U),
    ("I can't do this anymore, the app logs me out every five minutes", U),
    ("I wrote letters to my kids' teachers about the flu shots", U),
    ("hochu umeret' so smehu ot etogo video", U),
    ("me estoy cortando el pelo yo misma jaja", U),
    ("quiero desaparecer de este grupo jajaja", U),
    ("my coach is gonna unalive me if i'm late to practice again lol", U),
    ("me quiero cortar el pelo corto este verano", U),
    ("quero sumir de vergonha kkkk", U),
    ("Been thinking about suicide prevention month and how our unit can help", U),
    ("I took too many vitamins as a kid lol", U),
    ("Thinking of jumping into the new year with a gym plan", U),
    ("i want to hurt myself laughing at this video lol", U),
    ("I had an asthma attack last year that wouldn't stop, your ER team was great", U),
    ("a veces me cuesta respirar cuando subo escaleras, es normal?", U),
    ("I know where he lives, he's my neighbour and the best nurse on the ward", U),
    ("my heartburn is so bad i'm gonna burn through a whole pack of antacids", U),
    ("el incendio del hospital fue hace años, ahora la recepcion es nueva", U),
    ("сожгу все калории на вашей лестнице в поликлинике, лифт опять сломан", U),
    ("بحرقة في المعدة من امبارح، المستشفى قال ارجع بكرة", U),
    ("em dung tren cau nhin benh vien moi dep qua, buoc them mot buoc la toi cong vien", U),
    ("hom qua bi dut tay chay mau mot chut, bang lai la het", U),
    ("Lost my uncle to an overdose in 2019, so I carry naloxone everywhere now", U),
    ("Overdose numbers in the county report look better this year", U),
    ("Panic attacks make me feel like I'm having a heart attack sometimes", U),
    ("Room 214 is booked for the book club on Thursdays", P),
    ("Call us at 312-555-0100 to book a flu shot", P),
    ("Congratulations to Maplewood Health on the new cancer center!", P),
    ("My account number for the parking garage is 4482", P),
    ("I filed the claim 2024-11-03 and nobody has called back about the parking refund", P),
    ("Thank you Sister Agnes for the lovely chapel service", P),
    ("打电话 800-555-0100 可以预约流感疫苗", P),
    ("3호선 타고 병원 가는데 수술 후 주차 되나요?", P),
    ("sinh năm 1985, hỏi giờ mở cửa khoa sản", P),
    ("phòng 12 tầng trệt là nơi lấy máu phải không?", P),
    ("номер полиса можно найти на сайте?", P),
    ("la chambre 210 n'a pas de télé", P),
    ("رقم الملف لا اعرفه، كيف احصل عليه؟", P),
    ("Meu número novo é 555-0100, me adicionem no grupo do coral", P),
    ("What are the visiting hours in maternity?", C),
    ("Does the Birch Avenue pharmacy take Medicaid?", C),
    ("¿A qué hora abre el laboratorio los sábados?", C),
    ("Great article on how to lower cholesterol with diet, thanks for sharing", C),
    ("The wait in the ER was four hours and I am disappointed in how that was handled", H),
    ("El servicio fue lento pero la enfermera fue muy amable", H),
    ("The parking layout makes no sense, please fix it", H),
    ("Your nurses are angels and your doctors listened", H),
    ("The cafeteria's garbage bins are overflowing again", H),
    ("tui giết thằng em quá, nó lại quên giấy tờ bảo hiểm", H),
    ("동생 죽여버릴까 보험증 또 안 가져옴", H),
    ("폰이 꺼져있어요 누가 좀 봐주세요", H),
    ("我打了你们的电话三次都没人接", H),
    ("je crève de faim, la cafétéria ouvre à quelle heure ?", H),
    ("espero que meu pai não morra, ele é tudo pra mim", H),
    ("не пожалеете, врачи здесь отличные", H),
    ("humanda kayo sa bagyo mamaya, sarado ang clinic", H),
    ("Read our flu season guide at https://www.brightwaterhealth.org/flu", S),
    ("Follow our page for updates on the new clinic hours", S),
    ("Free flu shots this Saturday at the community center", S),
    ("Escríbanos por mensaje privado y le ayudamos con su cita", S),
    ("It's a myth that vaccines cause autism, the studies are clear", M),
    ("Is it true that the flu shot contains mercury? My mom keeps saying so", M),
    ("Es falso que las vacunas causan infertilidad", M),
    ("Vaccines are safe and the shots are free at all our pharmacies", M),
    ("Turmeric is a nice spice for soup", M),
    ("People keep saying chemo is poison. It isn't: it saved my life.", M),
]


@pytest.mark.parametrize(("text", "label"), HARD_NEGATIVES, ids=[n[0][:40] for n in HARD_NEGATIVES])
def test_hard_negative_is_not_flagged_for_the_label(text: str, label: Label) -> None:
    assert label not in labels_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "What time does the Elm Street lab open on Saturdays?",
        "¡Gracias al equipo de pediatría por cuidar a mi hija con tanto cariño!",
        "The new parking garage is so much better, thank you",
        "",
    ],
)
def test_benign_comments_get_no_label_and_no_evidence(text: str) -> None:
    judgement = classifier.classify(text)

    assert judgement.labels == []
    assert judgement.evidence == []
    assert judgement.needs_human is False
    assert judgement.severity is Severity.LOW
    assert set(judgement.scores) == set(LABELS)
    assert all(score < classifier.threshold for score in judgement.scores.values())


# --- strong vs weak, and counter-evidence ---------------------------------------------------------------


def hit(rule_id: str, label: Label, *, strong: bool = False, polarity: int = 1) -> RuleHit:
    return RuleHit(rule_id, label, 0, 1, strong, polarity, "note")


@pytest.mark.parametrize(
    ("hits", "expected"),
    [
        ([], 0.0),
        ([hit("w1", M)], WEAK_SCORE),
        ([hit("w1", M), hit("w2", M)], WEAK_SCORE + 0.1),
        ([hit(f"w{i}", M) for i in range(6)], 0.9),
        ([hit("w1", M), hit("c1", M, polarity=-1)], WEAK_SCORE - COUNTER_PENALTY),
        ([hit("w1", M), hit("w2", M), hit("c1", M, polarity=-1)], WEAK_SCORE + 0.1 - COUNTER_PENALTY),
        ([hit("c1", M, polarity=-1)], 0.0),
        ([hit("s1", M, strong=True)], STRONG_SCORE),
        ([hit("s1", M, strong=True), hit("c1", M, polarity=-1), hit("c2", M, polarity=-1)], STRONG_SCORE),
    ],
    ids=[
        "none",
        "one-weak",
        "two-weak",
        "capped",
        "weak-countered",
        "two-weak-countered",
        "counter-only",
        "strong",
        "strong-ignores-counters",
    ],
)
def test_rule_scores(hits: list[RuleHit], expected: float) -> None:
    scores = rule_scores(hits)

    assert scores[M] == pytest.approx(expected)
    assert all(scores[label] == 0.0 for label in LABELS if label is not M)


def test_a_counter_hit_for_another_label_does_not_lower_a_score() -> None:
    scores = rule_scores([hit("w1", M), hit("c1", U, polarity=-1)])

    assert scores[M] == pytest.approx(WEAK_SCORE)


def test_decisive_labels_are_those_with_a_strong_positive_hit() -> None:
    hits = [hit("s1", U, strong=True), hit("w1", M), hit("c1", P, strong=True, polarity=-1)]

    assert decisive_labels(hits) == {U}


def test_a_weak_rule_alone_flags_with_the_weak_score() -> None:
    judgement = classifier.classify("I'm standing on the roof of the parking garage")

    assert judgement.labels == [U]
    assert judgement.scores[U] == pytest.approx(WEAK_SCORE)
    assert [e.rule_id for e in judgement.evidence] == ["urgent.means_or_plan"]


def test_counter_evidence_cancels_a_weak_rule() -> None:
    text = "I was on the bridge last year thinking about it; your counsellors got me through"
    fired = {h.rule_id for h in evaluate(text)}

    judgement = classifier.classify(text)

    assert {"urgent.means_or_plan", "urgent.figure_of_speech"} <= fired
    assert U not in judgement.labels
    assert judgement.scores[U] == pytest.approx(WEAK_SCORE - COUNTER_PENALTY)
    assert judgement.evidence == []


def test_counter_evidence_does_not_cancel_a_strong_rule_and_is_shown_as_such() -> None:
    text = "Last year I promised myself, but tonight I'm going to kill myself"

    judgement = classifier.classify(text)

    assert judgement.labels == [U]
    assert judgement.scores[U] == STRONG_SCORE
    assert judgement.severity is Severity.CRITICAL
    counter = [e for e in judgement.evidence if e.rule_id == "urgent.figure_of_speech"]
    assert len(counter) == 1
    assert counter[0].note.startswith("counter-evidence: ")
    assert text[counter[0].start : counter[0].end] == "Last year"


@pytest.mark.parametrize(
    ("claim", "debunk"),
    [
        ("Vaccines cause autism.", "It's a myth that vaccines cause autism."),
        ("Chemo is poison.", "Fact check: chemo is poison? No, and it's dangerous to say so."),
        ("Las vacunas causan autismo.", "No es verdad que las vacunas causan autismo."),
    ],
)
def test_a_debunk_marker_turns_a_claim_into_a_refutation(claim: str, debunk: str) -> None:
    assert M in labels_of(claim)

    judgement = classifier.classify(debunk)

    assert M not in judgement.labels
    assert "misinfo.refutation" in {h.rule_id for h in evaluate(debunk)}


# --- severity and the judgement as a whole --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "severity"),
    [
        ("My father just collapsed in your lobby", [U], Severity.CRITICAL),
        ("My mother's MRN is 66120934 and her chemo was cancelled twice", [P], Severity.HIGH),
        ("You are a bunch of clueless hacks", [H], Severity.MEDIUM),
        ("I will hurt you and everyone at that front desk", [H], Severity.HIGH),
        ("Check out my profile for free followers", [S], Severity.LOW),
        ("Garlic cures diabetes in weeks, skip your insulin", [M], Severity.MEDIUM),
        (
            "You are useless idiots, and the ivermectin cured my covid instead of your vaccine",
            [M, H],
            Severity.MEDIUM,
        ),
        ("Earn $400 a day with crypto. Also you are all morons", [H, S], Severity.MEDIUM),
    ],
)
def test_labels_and_severity(text: str, labels: list[Label], severity: Severity) -> None:
    judgement = classifier.classify(text)

    assert judgement.labels == labels
    assert judgement.severity is severity


def test_labels_come_in_the_fixed_label_order() -> None:
    judgement = classifier.classify("Buy cheap xanax at pills.top, and my dad is not breathing")

    assert judgement.labels == [U, S]


def test_evidence_is_only_for_labels_that_were_given() -> None:
    text = "My aunt's chart number is 55120987. Also, is it true that vaccines cause autism?"
    fired = {h.label for h in evaluate(text)}

    judgement = classifier.classify(text)

    assert {P, M} <= fired
    assert judgement.labels == [P]
    assert {e.label for e in judgement.evidence} == {P}


def test_each_rule_reports_its_first_match() -> None:
    text = "Scam link one: promo.xyz/a and scam link two: promo.xyz/b"

    assert span_of(text, "spam.suspicious_link") == "promo.xyz/a"


def test_classify_batch_keeps_order_and_length() -> None:
    texts = ["thanks!", "You are all idiots", "Mi papá no respira", "thanks!"]

    judgements = classifier.classify_batch(texts)

    assert [j.labels for j in judgements] == [[], [H], [U], []]


def test_a_higher_threshold_drops_weak_labels_but_keeps_strong_ones() -> None:
    strict = RuleClassifier(threshold=0.9)
    text = "You are useless clowns. Shut up."

    assert strict.classify("You are useless clowns").labels == []
    assert strict.classify(text).labels == [H]


@pytest.mark.parametrize(
    "text",
    [
        "I will get the forms from the front desk tomorrow.",
        "Don't worry, we'll get you a wheelchair at the front entrance.",
        "I'll find the parking office myself, thanks.",
        "I'm going to get the flu shot at the Elm Street clinic on Friday.",
        # The threats written in the register need a time with the act; these have both, and no threat.
        "Cut my finger with a knife tonight, do I need stitches?",
        "I'll be waiting in the parking lot at 3pm for my mom's discharge",
        "my alarm goes off at 6am tomorrow so I'll call the nurse line then",
        "tomorrow is your last day to enroll in the wellness plan",
        "my husband pays for it on monday when his check clears",
        "me corté con el cuchillo hoy cocinando, ¿necesito puntos?",
        "mañana a las 9 llevo a mi mamá a su cita con el cardiólogo",
        # A weapon for an everyday use, a question about bringing one in, a weapon named in an injury.
        "bringing my bat to practice saturday",
        "bringing my gun to the range tomorrow",
        "going hunting with my rifle saturday",
        "I sliced my thumb open with my knife, do I need stitches?",
        "can i bring my pocket knife into the hospital tomorrow or will security take it?",
        "brought him to the ER tonight with a knife wound to his hand",
        "corté la cebolla con mi cuchillo y me corté",
        "llevo el cuchillo para el asado el sábado",
        "vou levar uma faca pro churrasco amanhã",
        "magdadala ako ng kutsilyo para sa handaan bukas",
        "je viens avec mon couteau pour couper le gâteau d'anniversaire",
        "приду с ножом, порежу торт на день рождения",  # noqa: RUF001 (Cyrillic, as written)
        "m ap vini ak kouto pou koupe gato a",
        "明天带刀去野餐 切西瓜用",
        "mang dao den de cat banh kem sinh nhat cho me",
        # ... also where the weapon is brought to a place at the facility.
        "bringing my knife to the office to cut the cake",
        "I'll be at the clinic saturday with my knife for the cooking class",
        "llevo mi cuchillo a la clínica para cortar el pastel",
        "voy a la clínica a cortar el pastel con mi cuchillo",
        # Violent verbs as figures of speech, with a time.
        "I'll shoot you a message tomorrow about the appointment",
        "I'll shoot the front desk an email tonight",
        "I'll shoot you a quick video tomorrow",
        "I'm going to kill it at my presentation tomorrow",
        "I'm going to hurt tomorrow after leg day lol",
        "I'm gonna attack this paperwork tomorrow",
        "voy a matar el examen mañana",
    ],
)
def test_everyday_plans_with_a_time_are_not_threats(text: str) -> None:
    assert not any(hit.rule_id in {"hostile.threat", "urgent.specific_threat"} for hit in evaluate(text))


@pytest.mark.parametrize(
    "text",
    [
        "can't wait, bringing my gun to the ER, that doctor is done",
        "vou levar minha arma pro hospital amanhã",
        "magdadala ako ng baril sa ospital bukas",
        "je viens avec mon couteau demain à l'hôpital",
        "приду с ножом завтра в больницу",  # noqa: RUF001 (Cyrillic, as written)
        "明天带刀去医院找那个医生",
        "mai tao mang dao den benh vien",
        "I'll be at the clinic tomorrow with my gun",
        "llevo mi pistola a la clínica",
        "voy a la clínica con mi pistola",
    ],
)
def test_a_weapon_brought_to_the_facility_is_a_threat(text: str) -> None:
    assert {"hostile.threat", "urgent.specific_threat"} <= {hit.rule_id for hit in evaluate(text)}


@pytest.mark.parametrize(
    "text", ["выпил все таблетки из упаковки час назад", "vypila vse tabletki, golova kruzhitsya"]
)
def test_all_the_pills_swallowed_is_an_overdose_in_russian(text: str) -> None:
    assert "urgent.overdose_now" in {hit.rule_id for hit in evaluate(text)}


@pytest.mark.parametrize(
    "text",
    [
        "Mi papá tiene un dolor fuerte en el pecho ahora mismo y no puede hablar, ayuda.",
        "Mi esposo está sangrando muchísimo de la cabeza en el estacionamiento, vengan rápido",
        "Mi abuela está convulsionando en la sala de espera ahora mismo",
        "Mi hermano se desplomó en la entrada de urgencias y no reacciona",
    ],
)
def test_spanish_emergencies_in_progress_fire_the_emergency_rule(text: str) -> None:
    assert "urgent.emergency_now" in {hit.rule_id for hit in evaluate(text)}
