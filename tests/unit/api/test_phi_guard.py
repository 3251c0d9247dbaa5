"""The PHI guard measured on a labelled set of replies (tests/data/phi_guard_replies.jsonl), its text
normalisation, its lexicon, and the findings it returns for a future draft check.

The set holds replies written for this project, in English and Spanish, each with the comment it answers,
whether it leaks and why. Every leaking reply must be blocked; at most WRONGLY_BLOCKED_MAX of the safe
ones may be (the two known ones are in docs/phi_guard.md). Run with `-s` to see the measured rates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from triage_api.replies.accounts import EXAMPLE as EXAMPLE_ACCOUNTS
from triage_api.replies.accounts import AccountBook, AccountSettings
from triage_api.replies.catalogue import load_catalogue
from triage_api.replies.guard import Finding, check, check_reply
from triage_api.replies.lexicon import LANGUAGES, Lexicon, default_lexicon, tokens
from triage_api.replies.normalise import normalise, spell_digits
from triage_api.replies.render import render

SET = Path(__file__).parents[2] / "data" / "phi_guard_replies.jsonl"
WRONGLY_BLOCKED_MAX = 0.025  # of the safe replies; measured: 2 of 105 (see docs/phi_guard.md)
EXAMPLE = AccountBook.load(None)
SETTINGS = EXAMPLE.get("any-account")


def labelled() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_set_is_large_balanced_and_bilingual() -> None:
    rows = labelled()
    assert len(rows) >= 150
    assert all(set(r) == {"text", "comment", "leaks", "why", "lang"} and r["why"] for r in rows)
    leaking = sum(r["leaks"] for r in rows)
    assert 0.4 <= leaking / len(rows) <= 0.6
    for language in ("en", "es"):
        of_language = [r for r in rows if r["lang"] == language]
        assert len(of_language) >= 40
        assert {r["leaks"] for r in of_language} == {True, False}
    assert len({r["text"] for r in rows}) == len(rows)


def test_every_leaking_reply_is_blocked_and_few_safe_ones_are() -> None:
    rows = labelled()
    leaking = [r for r in rows if r["leaks"]]
    safe = [r for r in rows if not r["leaks"]]
    missed = [r["text"] for r in leaking if not check(r["text"], r["comment"], SETTINGS)]
    wrongly = [r["text"] for r in safe if check(r["text"], r["comment"], SETTINGS)]
    blocked_rate = 1 - len(missed) / len(leaking)
    wrongly_rate = len(wrongly) / len(safe)
    print(
        f"\nPHI guard on {len(rows)} labelled replies: blocked {len(leaking) - len(missed)} of {len(leaking)} "
        f"leaking ({blocked_rate:.1%}), wrongly blocked {len(wrongly)} of {len(safe)} safe ({wrongly_rate:.1%})"
    )
    for text in wrongly:
        print(f"  wrongly blocked: {text}")
    assert missed == []
    assert wrongly_rate <= WRONGLY_BLOCKED_MAX, wrongly


@pytest.mark.parametrize("account_id", sorted(yaml.safe_load(EXAMPLE_ACCOUNTS.read_text(encoding="utf-8"))))
def test_the_templates_pass_for_every_comment_of_the_set(account_id: str) -> None:
    settings = EXAMPLE.get(account_id)
    variables = {**settings.variables(), "handle": "@river_w"}
    comments = sorted({r["comment"] for r in labelled()})
    for template in load_catalogue().values():
        for language in ("en", "es"):
            text = render(template, language, variables)
            for comment in comments:
                assert check(text, comment, settings) == [], (template.id, language, comment)
                assert check_reply(text, comment, settings.phone_numbers()).ok


def test_findings_point_at_the_original_text() -> None:
    reply = "We hope the lu\u200bpus eases. Call 312\u2011555\u20110148 or see Nurse L\u043epez."
    findings = check(reply, "My lupus is back", SETTINGS)
    by_kind = {f.kind: f for f in findings}
    assert set(by_kind) == {"health_detail", "phone", "staff_name"}
    assert reply[by_kind["health_detail"].start : by_kind["health_detail"].end] == "lu\u200bpus"
    assert by_kind["health_detail"].excerpt == "lupus"
    assert reply[by_kind["phone"].start : by_kind["phone"].end] == "312\u2011555\u20110148"
    assert reply[by_kind["staff_name"].start : by_kind["staff_name"].end] == "Nurse L\u043epez"
    assert all(isinstance(f, Finding) and f.message.startswith(f.reason) for f in findings)


def test_the_older_interface_reports_one_reason_per_kind() -> None:
    result = check_reply(
        "Your lab results and your chart are ready, Jane Doe.", "I'm Jane Doe", ["1-800-555-0100"]
    )
    assert result.reasons == [
        "repeats a name from the comment: Jane Doe",
        "confirms a care relationship: your chart, your lab results",
    ]
    assert [f.kind for f in result.findings] == ["name", "care_relationship", "care_relationship"]


def test_numbers_in_the_accounts_settings_are_allowed_and_no_others() -> None:
    settings = AccountSettings(
        nurse_line="+1 (800) 555-0100",
        portal_url="https://portal.example/org/90210777",
        patient_relations_phone="",
    )
    assert check("Nurse line: 1-800-555-0100, 800.555.0100 or 555-0100.", None, settings) == []
    assert check("See https://portal.example/org/90210777 to message us.", None, settings) == []
    assert [f.kind for f in check("Or call 1-800-555-0111.", None, settings)] == ["phone"]
    assert [f.kind for f in check("Your ticket is 902107.", None, settings)] == ["identifier"]
    # The older interface knows only the lines it is given; with the settings it allows the link too.
    assert not check_reply("https://portal.example/org/90210777", None, settings.phone_numbers()).ok
    assert check_reply("https://portal.example/org/90210777", None, settings).ok


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("Call five five five zero one four eight.", "phone"),
        ("Llame al cinco cinco cinco, cero uno cuatro ocho.", "phone"),
        ("Call 555 zero one four eight.", "phone"),
        ("M.R.N. 4471 is on file", "record_number"),
        ("m r n: 4471", "record_number"),
        ("Born on 14 March 1975.", "date_of_birth"),
        ("Seen 1975-03-14.", "date"),
        ("Visit room twenty-two.", "room"),
        ("Cama 4.", "room"),
    ],
)
def test_identifiers_in_any_form(reply: str, kind: str) -> None:
    assert kind in {f.kind for f in check(reply, None, SETTINGS)}


@pytest.mark.parametrize(
    ("reply", "tied"),
    [
        ("We're sorry about your lupus.", True),
        ("Your mother's breast cancer care matters to us.", True),
        ("She is still pregnant, so no.", True),
        ("Usted tiene diabetes, lo sabemos.", True),
        ("Está embarazada, felicidades.", True),
        ("We can't answer your questions about diabetes here.", False),
        ("If you are pregnant, our nurse line can help.", False),
        ("Si está embarazada, llame a la línea de enfermería.", False),
        ("Our cancer center is open on Saturdays.", False),
        ("Thanks for your comment. Diabetes classes start Monday.", False),
    ],
)
def test_a_condition_tied_to_a_person_is_blocked_even_if_the_comment_did_not_mention_it(
    reply: str, tied: bool
) -> None:
    kinds = {f.kind for f in check(reply, "Great parking garage!", SETTINGS)}
    assert ("condition" in kinds) is tied


def test_normalisation_folds_hidden_characters_and_keeps_the_way_back() -> None:
    original = "\uff43\u0430n\u200bcer\u00a0d\u00ede 312\u2011555 \u2019"
    view = normalise(original)
    assert view.text == "cancer die 312-555 '"
    start = view.text.index("cancer")
    assert view.origin(start, start + len("cancer")) == (0, 7)  # the zero-width space is inside the span
    assert original[slice(*view.origin(view.text.index("die"), view.text.index("die") + 3))] == "d\u00ede"
    assert view.origin(len(view.text), len(view.text)) == (len(original), len(original))
    combining = normalise("diabe\u0301tica")  # a combining acute accent
    assert combining.text == "diabetica" and combining.origin(0, 9) == (0, 10)


def test_spelled_digits_need_a_run_of_three() -> None:
    assert spell_digits(normalise("no one knows, one or two")).text == "no one knows, one or two"
    view = spell_digits(normalise("call nine one one"))
    assert view.text == "call 911" and view.original[slice(*view.origin(5, 8))] == "nine one one"


def test_the_lexicon_has_both_languages_for_every_concept_and_rejects_others() -> None:
    lexicon = default_lexicon()
    assert len(lexicon.concepts) >= 20
    for concept in lexicon.concepts:
        assert {t.words[0].language for t in lexicon.terms if t.concept == concept} == set(LANGUAGES), concept
    with pytest.raises(ValueError, match="unknown language"):
        Lexicon({"lupus": {"fr": ["lupus"]}})


@pytest.mark.parametrize(
    ("word", "concept"),
    [
        ("chemotherapy", "chemotherapy"),
        ("quimioterapia", "chemotherapy"),
        ("diabetic", "diabetes"),
        ("diabéticas", "diabetes"),
        ("pregnancies", "pregnancy"),
        ("embarazadas", "pregnancy"),
        ("AIDS", "hiv"),
        ("overdosed", "substance_use"),
        ("heart attacks", "heart"),
    ],
)
def test_inflections_and_synonyms_share_a_concept(word: str, concept: str) -> None:
    assert [m.concept for m in default_lexicon().find(tokens(normalise(word).text))] == [concept]


@pytest.mark.parametrize("word", ["aids", "parte", "medical", "médicos", "stating", "operación"])
def test_everyday_words_are_not_health_details(word: str) -> None:
    assert default_lexicon().find(tokens(normalise(word).text)) == []
