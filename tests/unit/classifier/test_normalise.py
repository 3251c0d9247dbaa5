"""The classifier's normalisation: what it undoes, what it leaves alone, and that evidence still points into
the original text. The property test: an urgent comment the rules catch stays caught, with its evidence on
the original characters, however zero-width characters, spaced letters or homoglyphs are put into it."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_classifier.normalise import normalise
from triage_classifier.rule_classifier import RuleClassifier
from triage_classifier.rules import evaluate
from triage_events import Label

classifier = RuleClassifier()


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("k i l l myself tonight", "kill myself tonight"),
        ("K.I.L.L myself", "KILL myself"),
        ("i want to k1ll mys3lf", "i want to kill myself"),
        ("su1c1d3 note", "suicide note"),
        ("ki\u200bll my\u00adself", "kill myself"),  # zero-width space, soft hyphen
        ("\u202ekill myself", "kill myself"),  # a bidi override
        ("k\u0456ll m\u0443self", "kill myself"),  # Cyrillic i and u inside Latin words
        ("\uff2b\uff29\uff2c\uff2c myself", "KILL myself"),  # full-width letters
        ("i wanna diiiie", "i wanna die"),
        ("tôi muốn chết", "toi muon chet"),
        ("đau ngực", "dau nguc"),
        ("médico, mañana", "medico, manana"),
        ("أُرِيدُ أَنْ أَمُوتَ", "اريد ان اموت"),  # harakat dropped
        ("أريـــد", "اريد"),  # tatweel dropped
    ],
)
def test_what_normalisation_undoes(original: str, expected: str) -> None:
    assert normalise(original).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "я хочу умереть",  # Russian stays Cyrillic: no Latin letter in its words
        "죽고 싶어요",  # Hangul is not decomposed into jamo
        "我不想活了",
        "my B12 and covid19 results, MRN 40041234",  # digits in ordinary words are not leetspeak
        "www.maplewoodhealth.org/free",  # "www" is not shortened
        "free shuttle, see you soon",
    ],
)
def test_what_normalisation_leaves_alone(text: str) -> None:
    assert normalise(text).text == text


def test_every_character_maps_back_into_the_original() -> None:
    original = "I want to ki\u200bll my\u00adself, k i l l, K1LL, tôi muốn chết"
    view = normalise(original)

    assert len(view.starts) == len(view.ends) == len(view.text)
    for i in range(len(view.text)):
        start, end = view.origin(i, i + 1)
        assert 0 <= start < end <= len(original)
    start, end = view.origin(view.text.index("kill"), view.text.index("kill") + len("kill myself"))
    assert original[start:end] == "ki\u200bll my\u00adself"
    start, end = view.origin(view.text.index("chet"), view.text.index("chet") + 4)
    assert original[start:end] == "chết"


def test_rule_evidence_points_at_the_original_characters() -> None:
    text = "honestly i am going to k i l l myself tonight"
    [hit] = [h for h in evaluate(text) if h.rule_id == "urgent.suicidal_intent"]

    assert text[hit.start : hit.end] == "i am going to k i l l myself"


def test_accented_rule_patterns_match_text_with_and_without_accents() -> None:
    for text in (
        "el carro chocó con la ambulancia y hay gente atrapada ahora",
        "el carro choco con la ambulancia y hay gente atrapada ahora",
    ):
        assert Label.URGENT in classifier.classify(text).labels, text


# Urgent comments the rules catch, written as people write them.
CAUGHT = [
    "i am going to kill myself tonight nobody will miss me",
    "goodbye everyone thank you for trying",
    "my dad is not breathing and his lips are blue",
    "my roommate swallowed the whole bottle of her pills",
    "there is smoke in the lobby of the east building",
    "im bringing my gun to the er tomorrow",
    "ya no quiero vivir, me quiero morir esta noche",
]
_HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "y": "\u0443",
               "x": "\u0445", "i": "\u0456", "s": "\u0455"}  # fmt: skip
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def _words(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))


@st.composite
def disguised(draw: st.DrawFn) -> tuple[str, str]:
    """One caught comment and a disguise of it: zero-width characters put in, one word's letters spaced out,
    Latin letters swapped for lookalikes of another script (never a word's first letter, so each word keeps
    a Latin letter, as a word meant to be read as Latin does)."""
    text = draw(st.sampled_from(CAUGHT))
    chars = list(text)
    for position in draw(st.lists(st.integers(0, len(chars)), max_size=6)):
        chars.insert(min(position, len(chars)), draw(st.sampled_from(_INVISIBLE)))
    disguise = "".join(chars)
    words = _words(text)
    # Space out a word of three letters or more whose neighbours are not single letters ("i w a n t" would
    # read as "iwant" to anyone).
    candidates = [
        m for k, m in enumerate(words)
        if len(m.group(0)) >= 3 and m.group(0).isalpha()
        and all(len(words[n].group(0)) > 1 for n in (k - 1, k + 1) if 0 <= n < len(words))
    ]  # fmt: skip
    if candidates and draw(st.booleans()):
        word = draw(st.sampled_from(candidates))
        spaced = " ".join(word.group(0))
        text_spaced = text[: word.start()] + spaced + text[word.end() :]
        disguise = text_spaced if not draw(st.booleans()) else "\u200b".join(text_spaced)
    swaps = draw(st.sets(st.integers(0, len(disguise) - 1), max_size=8))
    out = list(disguise)
    for i in swaps:
        previous = disguise[i - 1] if i > 0 else " "
        if disguise[i] in _HOMOGLYPHS and previous.isalpha():
            out[i] = _HOMOGLYPHS[disguise[i]]
    return text, "".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(disguised())
def test_a_caught_urgent_comment_stays_caught_in_disguise(case: tuple[str, str]) -> None:
    plain, disguise = case
    assert Label.URGENT in classifier.classify(plain).labels

    judgement = classifier.classify(disguise)

    assert Label.URGENT in judgement.labels, (plain, disguise, normalise(disguise).text)
    for evidence in judgement.evidence:
        assert evidence.start is not None and evidence.end is not None
        assert 0 <= evidence.start < evidence.end <= len(disguise)
