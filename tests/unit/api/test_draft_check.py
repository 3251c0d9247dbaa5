"""The draft check measured on a labelled set of drafts (tests/data/drafts.jsonl, 250 posts and replies
written for this project: every kind of finding, combinations and clean drafts), per kind of finding, plus
a smaller held-out set (tests/data/drafts_holdout.jsonl) written after the rules and never tuned on.

Floors: on the main set (the rules were written against it: a development set) recall >= 0.95 and
precision >= 0.9 for every kind and at most 5 % of clean drafts with any finding; on the held-out set
recall >= 0.7 per kind and at most 10 % of clean drafts with a finding. Measured numbers are in
docs/post_check.md; run with `-s` to see them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from triage_api.drafts.check import KINDS, check_draft, review_reply
from triage_api.drafts.evaluate import evaluate, read_labelled
from triage_api.drafts.findings import Draft
from triage_api.drafts.rules import rules
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import load_catalogue
from triage_api.replies.render import render

DATA = Path(__file__).parents[2] / "data"
ACCOUNT = AccountBook.load(None).get("*")
FLOORS = {"drafts.jsonl": (0.95, 0.90, 0.05), "drafts_holdout.jsonl": (0.70, 0.0, 0.10)}


def labelled(name: str) -> list[dict[str, Any]]:
    return read_labelled((DATA / name).read_text(encoding="utf-8").splitlines())


def test_the_labelled_set_covers_every_kind_and_clean_drafts() -> None:
    rows = labelled("drafts.jsonl")
    assert len(rows) >= 200
    assert all({"text", "platform", "kinds"} <= set(r) and set(r["kinds"]) <= set(KINDS) for r in rows)
    for kind in KINDS:
        assert sum(kind in r["kinds"] for r in rows) >= 25, kind
    assert sum(not r["kinds"] for r in rows) >= 60
    assert any(r.get("caption") for r in rows) and any(r.get("reply_to") for r in rows)
    assert any(r.get("sponsored") for r in rows)
    assert len({r["text"] for r in rows}) == len(rows)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_per_kind_precision_and_recall(name: str) -> None:
    report = evaluate(labelled(name), ACCOUNT)
    min_recall, min_precision, max_false = FLOORS[name]
    print(f"\n{name}\n{report.table()}")
    for kind, score in report.kinds.items():
        assert score.recall >= min_recall, (kind, score)
        assert score.precision >= min_precision, (kind, score)
    assert report.false_on_clean <= max_false


def test_findings_point_at_the_text_and_cite_the_guidance() -> None:
    text = "Our patient in room 5 is 72 years old. Take 400 mg of ibuprofen."
    findings = check_draft(Draft(text), ACCOUNT)
    spans = {(f.kind, text[f.start : f.end]) for f in findings}
    assert ("patient_identifier", "room 5") in spans and ("clinical_advice", "Take 400 mg") in spans
    cited = set(rules().guidelines.values())
    assert all(f.guidelines and set(f.guidelines) <= cited and f.fix for f in findings)


def test_a_hidden_identifier_is_found_through_the_guards_normalisation() -> None:
    text = "Patient M\u200bR\u200bN 4481\u20117263 went home."  # zero-width spaces, a non-breaking hyphen
    found = {f.rule: text[f.start : f.end] for f in check_draft(Draft(text), ACCOUNT) if f.kind == "phi"}
    assert found["guard.record_number"] == "M\u200bR\u200bN"
    assert found["guard.identifier"] == "4481\u20117263"


def test_a_link_or_a_named_source_clears_a_claim_but_not_an_absolute_one() -> None:
    claim = "A flu shot prevents hospitalizations."
    assert {f.kind for f in check_draft(Draft(claim))} == {"health_claim"}
    assert check_draft(Draft(claim, links=("https://www.cdc.gov/flu",))) == []
    assert check_draft(Draft(claim + " Source: CDC")) == []
    absolute = "Our flu shot is 100% effective. https://www.cdc.gov/flu"
    assert [f.rule for f in check_draft(Draft(absolute))] == ["absolute"]


def test_sponsorship_needs_a_disclosure() -> None:
    assert [f.rule for f in check_draft(Draft("Thanks Acme for the lounge!", sponsor="Acme"))] == [
        "sponsored_undisclosed"
    ]
    assert check_draft(Draft("#ad Thanks Acme for the lounge!", sponsor="Acme")) == []
    assert check_draft(Draft("Paid partnership with Acme: new lounge!", sponsored=True)) == []


def test_every_reply_template_passes_the_whole_check() -> None:
    variables = {**ACCOUNT.variables(), "handle": "@sam"}
    for template in load_catalogue().values():
        for language in template.text:
            text = render(template, language, variables)
            review = review_reply(text, "my mom had chemo and nobody called", ACCOUNT.phone_numbers())
            assert review.findings == [], (template.id, language, review.reasons())


def test_a_reply_review_blocks_phi_and_sends_the_rest_to_a_lead() -> None:
    blocked = review_reply("Nurse Lopez says you should stop taking your statin.", "help", [])
    assert blocked.blocked and blocked.reasons()[0].startswith("names a member of staff")
    held = review_reply("I think the vaccine mandate went too far.", "thoughts?", [])
    assert not held.blocked and held.needs_review and held.summary() == "personal_opinion"
    assert review_reply("Thanks, we've passed this on to our team.", "hi", []).findings == []


def test_triage_eval_reports_the_post_check_on_labelled_drafts() -> None:
    from click.testing import CliRunner
    from triage_cli.main import cli

    path = str(DATA / "drafts.jsonl")
    result = CliRunner().invoke(cli, ["eval", "--drafts", "--json", path])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["drafts"] == len(labelled("drafts.jsonl"))
    assert set(report["kinds"]) == set(KINDS)
    assert report["kinds"]["phi"]["recall"] >= 0.95
    assert report["false_on_clean"] <= 0.05

    bad = CliRunner().invoke(cli, ["eval", "--drafts", "-"], input='{"text": "hi", "kinds": ["nonsense"]}\n')
    assert bad.exit_code == 1
    assert "line 1: `kinds` must be a list of" in bad.output
