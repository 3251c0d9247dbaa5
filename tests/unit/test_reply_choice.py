"""Which reply templates a flag gets (issue #20): urgent ones by the kind of emergency the rules found, human
titles and published sources, a neutral greeting without an author, and the comment's language preselected."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from triage_api.flags.desk_views import comment_language
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import Emergency, emergencies, load_catalogue, templates_for
from triage_api.replies.render import render

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


@pytest.mark.parametrize("template_id", sorted(load_catalogue()))
@pytest.mark.parametrize("language", ["en", "es"])
def test_without_an_author_the_greeting_is_neutral(template_id: str, language: str) -> None:
    text = render(load_catalogue()[template_id], language, {**VARIABLES, "handle": ""})
    assert "there" not in text and not text.startswith((",", " ")) and ", ," not in text and " ," not in text
    assert text[0].isupper()


def test_the_comments_language_is_preselected_when_a_template_has_it() -> None:
    book = AccountBook({"*": {"language": "en"}, "acct-es": {"language": "es"}})
    flag = SimpleNamespace(account_id="acct-1", language="es")
    assert comment_language(flag, book) == "es"  # type: ignore[arg-type]
    assert comment_language(SimpleNamespace(account_id="acct-1", language="xx"), book) == "en"  # type: ignore[arg-type]
    assert comment_language(SimpleNamespace(account_id="acct-es", language=None), book) == "es"  # type: ignore[arg-type]
