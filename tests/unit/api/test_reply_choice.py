"""Which reply templates a flag gets (issue #20): urgent ones by the kind of emergency the rules found, human
titles and published sources, a neutral greeting without an author, and the comment's language preselected;
urgent templates in every language the classifier covers (issue #18), each passing the PHI guard and the
reply review."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from triage_api.drafts.check import review_reply
from triage_api.flags.suggestions import comment_language
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import (
    LANGUAGE_NAMES,
    URGENT_LANGUAGES,
    Emergency,
    emergencies,
    languages,
    load_catalogue,
    templates_for,
)
from triage_api.replies.guard import check_reply
from triage_api.replies.render import render
from triage_classifier.language import COVERED

VARIABLES = {
    "organisation": "Brightwater Health",
    "appointment_url": "https://brightwater.example/appointments",
    "nurse_line": "1-800-555-0100",
    "patient_relations_phone": "1-800-555-0199",
    "portal_url": "https://mychart.brightwater.example",
    "source_url": "https://www.cdc.gov",
}


def ids(rule_ids: list[str], labels: tuple[str, ...] = ("urgent",)) -> list[str]:
    evidence = [{"rule_id": rule} for rule in rule_ids]
    return [t.id for t in templates_for(list(labels), "facebook", ["urgent.public"], evidence)]


def test_a_medical_emergency_gets_911_and_never_the_crisis_line() -> None:
    assert ids(["urgent.emergency_now"]) == ["urgent.medical.public", "urgent.medical.private"]
    for language in ("en", "es"):
        for template_id in ("urgent.medical.public", "urgent.medical.private"):
            text = render(load_catalogue()[template_id], language, {**VARIABLES, "handle": "@sam"})
            assert "911" in text and "988" not in text


def test_self_harm_gets_988_and_both_kinds_get_both_self_harm_first() -> None:
    assert ids(["urgent.suicidal_intent"]) == ["urgent.public", "urgent.private"]
    assert ids([]) == ["urgent.public", "urgent.private"]  # a model-only urgent flag: 911 and 988
    both = ids(["urgent.emergency_now", "urgent.means_or_plan"], ("clinical_advice", "urgent"))
    assert both[:4] == ["urgent.public", "urgent.private", "urgent.medical.public", "urgent.medical.private"]
    assert both[4:] == ["clinical_advice.public", "clinical_advice.private"]
    assert emergencies([{"rule_id": "urgent.specific_threat"}]) == [Emergency.MEDICAL]


def test_titles_are_for_people_and_sources_name_published_guidance() -> None:
    for template in load_catalogue().values():
        assert template.title and template.id not in template.title and "." not in template.title
        assert template.sources and not any(".md" in s or "thread" in s.lower() for s in template.sources)


WRITTEN = sorted((t.id, language) for t in load_catalogue().values() for language in t.text)
URGENT = {
    Emergency.SELF_HARM: ("urgent.public", "urgent.private"),
    Emergency.MEDICAL: ("urgent.medical.public", "urgent.medical.private"),
}
# A comment full of PHI: a reply must repeat none of it.
COMMENT = "My mom Jane Doe (DOB 04/12/1961, MRN 88812345) had chemo in room 412, call me 312-555-0148"


@pytest.mark.parametrize(("template_id", "language"), WRITTEN)
def test_without_an_author_the_greeting_is_neutral(template_id: str, language: str) -> None:
    text = render(load_catalogue()[template_id], language, {**VARIABLES, "handle": ""})
    assert "there" not in text and not text.startswith((",", "\uff0c", "\u060c", " ")) and ", ," not in text
    assert " ," not in text and "님" not in text  # Korean: the honorific goes with the handle
    assert not text[0].islower()  # a capital where the script has case (Chinese, Arabic, Korean have none)


def test_urgent_templates_exist_in_every_language_the_classifier_covers() -> None:
    catalogue = load_catalogue()
    assert set(URGENT_LANGUAGES) == set(COVERED) and len(URGENT_LANGUAGES) == 11
    for kind, template_ids in URGENT.items():
        for template_id in template_ids:
            template = catalogue[template_id]
            assert template.emergency is kind and set(template.text) == set(URGENT_LANGUAGES), template_id
            assert len(set(template.text.values())) == len(
                URGENT_LANGUAGES
            )  # no language copied from another
    assert {t.variant for ids in URGENT.values() for t in map(catalogue.get, ids) if t} == {
        "public",
        "private",
    }


@pytest.mark.parametrize("language", URGENT_LANGUAGES)
@pytest.mark.parametrize("handle", ["@sam", ""])
def test_each_kind_of_emergency_gets_its_lines_in_every_language(language: str, handle: str) -> None:
    catalogue = load_catalogue()
    for template_id in URGENT[Emergency.SELF_HARM]:
        text = render(catalogue[template_id], language, {**VARIABLES, "handle": handle})
        assert "988" in text and "911" in text, (template_id, language)
    for template_id in URGENT[Emergency.MEDICAL]:
        text = render(catalogue[template_id], language, {**VARIABLES, "handle": handle})
        assert "911" in text and "988" not in text, (template_id, language)
        assert (handle in text) if handle else ("{{" not in text)


@pytest.mark.parametrize(("template_id", "language"), WRITTEN)
def test_every_template_in_every_language_passes_the_guard_and_the_review(
    template_id: str, language: str
) -> None:
    account = AccountBook.load(None).get("*")
    text = render(load_catalogue()[template_id], language, {**account.variables(), "handle": "@sam"})
    assert "{{" not in text and "{%" not in text
    assert check_reply(text, COMMENT, account.phone_numbers()).ok, (template_id, language)
    review = review_reply(text, COMMENT, account.phone_numbers())
    assert review.findings == [], (template_id, language, review.reasons())


def test_an_urgent_template_missing_a_language_fails_at_start_up(tmp_path: Path) -> None:
    entry = load_catalogue()["urgent.medical.public"].model_dump(mode="json")
    del entry["text"]["ht"]
    path = tmp_path / "templates.yaml"
    path.write_text(yaml.safe_dump([entry], allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"urgent.medical.public lacks languages \['ht'\]"):
        load_catalogue(path)


def test_the_selector_offers_every_language_by_its_own_name() -> None:
    offered = languages()
    assert offered[:2] == ["en", "es"] and set(offered) == set(URGENT_LANGUAGES)
    assert all(LANGUAGE_NAMES.get(code) for code in offered)
    assert LANGUAGE_NAMES["vi"] == "Tiếng Việt" and LANGUAGE_NAMES["ht"] == "Kreyòl ayisyen"


def test_the_comments_language_is_preselected_when_a_template_has_it() -> None:
    book = AccountBook({"*": {"language": "en"}, "acct-es": {"language": "es"}})
    flag = SimpleNamespace(account_id="acct-1", language="es")
    assert comment_language(flag, book) == "es"  # type: ignore[arg-type]
    assert comment_language(SimpleNamespace(account_id="acct-1", language="xx"), book) == "en"  # type: ignore[arg-type]
    assert comment_language(SimpleNamespace(account_id="acct-es", language=None), book) == "es"  # type: ignore[arg-type]
    for code in URGENT_LANGUAGES:  # every covered language now has (urgent) templates: preselected
        assert comment_language(SimpleNamespace(account_id="acct-1", language=code), book) == code  # type: ignore[arg-type]
