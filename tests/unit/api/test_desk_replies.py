"""Reply templates (catalogue, sandboxed rendering) and the PHI guard for outgoing replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from triage_api.flags.sla import DEFAULT, breached
from triage_api.flags.status import MANUAL_STATUSES, TRANSITIONS
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import load_catalogue, templates_for
from triage_api.replies.guard import check_reply
from triage_api.replies.render import RenderError, render, render_text
from triage_events import Label

SETTINGS = AccountBook.load(None).get("any-account")
VARIABLES = {**SETTINGS.variables(), "handle": "@river_w"}
COMMENT = "My mom Jane Doe (DOB 04/12/1961, MRN 88812345) had chemo in room 412, call me 312-555-0148"


def test_every_label_has_a_public_template_in_english_and_spanish_with_its_guidance() -> None:
    catalogue = load_catalogue()
    for label in Label:
        template = catalogue[f"{label.value}.public"]  # the ids the classifier suggests
        assert set(template.text) >= {"en", "es"}
        assert template.guidance and template.sources
    assert all(t.needs_approval for t in catalogue.values() if t.label is Label.MISINFORMATION)
    assert {t.label for t in catalogue.values() if t.variant == "private"} >= {
        Label.URGENT,
        Label.PRIVACY,
        Label.HOSTILE,
        Label.CLINICAL_ADVICE,
        Label.MISINFORMATION,
    }


@pytest.mark.parametrize("template_id", sorted(load_catalogue()))
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_template_renders_and_passes_the_phi_guard(template_id: str, language: str) -> None:
    text = render(load_catalogue()[template_id], language, VARIABLES)
    assert "{{" not in text and "}}" not in text
    assert "@river_w" in text or template_id == "spam.public"  # the spam warning addresses followers
    assert check_reply(text, COMMENT, SETTINGS.phone_numbers()).ok, text


def test_urgent_templates_carry_the_crisis_lines() -> None:
    for language in ("en", "es"):
        text = render(load_catalogue()["urgent.public"], language, VARIABLES)
        assert "911" in text and "988" in text


def test_private_variants_only_where_the_platform_allows_them() -> None:
    assert [t.id for t in templates_for(["hostile"], "instagram")] == ["hostile.public", "hostile.private"]
    assert [t.id for t in templates_for(["hostile"], "x")] == ["hostile.public"]
    assert [t.id for t in templates_for(["spam", "hostile"], "x", ["hostile.public"])] == [
        "hostile.public",
        "spam.public",
    ]


def test_rendering_is_sandboxed_and_strict() -> None:
    with pytest.raises(RenderError):
        render_text("{{ nurse_line }} {{ unknown }}", {"nurse_line": "1"})
    with pytest.raises(RenderError):
        render_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    with pytest.raises(RenderError, match="not configured: nurse_line"):
        render(load_catalogue()["clinical_advice.public"], "en", {**VARIABLES, "nurse_line": ""})


def test_unknown_language_falls_back_to_english() -> None:
    assert render(load_catalogue()["hostile.public"], "fr", VARIABLES).startswith("@river_w, we hear you")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("We hope the chemo went well.", "repeats health details from the comment: chemo"),
        ("Hi Jane Doe, please call us.", "repeats a name from the comment: Jane Doe"),
        ("Your MRN is on file.", "contains a medical record or patient number"),
        ("We have DOB 04/12/1961 on file", "contains a date of birth"),
        ("Please send your insurance number", "contains an insurance, member or account number"),
        ("Write to jane@example.com", "contains an email address"),
        ("Someone will visit room 412", "mentions a room or bed"),
        ("We called 312-555-0148", "contains a phone number that is not one of the account's lines"),
        ("We're sorry about your visit last week.", "confirms a care relationship: your visit"),
        ("When you were here the wait was long.", "confirms a care relationship: when you were here"),
        ("Please talk to your doctor.", "confirms a care relationship: your doctor"),
        ("Thank you for choosing us!", "confirms a care relationship: thank you for choosing us"),
        ("Lamentamos lo de su cirugía.", "confirms a care relationship: su cirugía"),
    ],
)
def test_the_guard_blocks_with_a_reason(reply: str, reason: str) -> None:
    result = check_reply(reply, COMMENT, SETTINGS.phone_numbers())
    assert not result.ok
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_the_guard_allows_the_accounts_own_lines_and_crisis_numbers() -> None:
    reply = "Call 911 or text 988; our nurse line is 1-800-555-0100 and patient relations (800) 555-0199."
    assert check_reply(reply, COMMENT, SETTINGS.phone_numbers()).ok


def test_sla_due_times_per_severity() -> None:
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert DEFAULT.due_at(t0, "critical") == t0 + timedelta(minutes=5)
    assert DEFAULT.due_at(t0.replace(tzinfo=None), "high") == t0 + timedelta(minutes=30)
    assert DEFAULT.due_at(t0, "medium") == t0 + timedelta(hours=4) and DEFAULT.due_at(
        t0, "low"
    ) == t0 + timedelta(hours=24)
    assert breached(DEFAULT.due_at(t0, "critical"), "new", now=t0 + timedelta(minutes=6))
    assert not breached(DEFAULT.due_at(t0, "critical"), "new", now=t0 + timedelta(minutes=4))
    assert not breached(DEFAULT.due_at(t0, "critical"), "resolved", now=t0 + timedelta(minutes=6))


def test_every_status_can_be_left_and_reopened() -> None:
    for status, targets in TRANSITIONS.items():
        assert targets and status not in targets
    assert all(any(s in targets for targets in TRANSITIONS.values()) for s in TRANSITIONS)
    assert {"replied", "hidden"}.isdisjoint(MANUAL_STATUSES)
