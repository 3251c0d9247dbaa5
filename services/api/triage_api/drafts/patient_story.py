"""Patient stories: the details that make a patient recognisable (AMA Opinion 2.3.2: no identifiable
patient information; HIPAA: ages, dates, places and rare conditions are identifiers too).

A draft is about a patient when a word of `patient_context` appears in it (patient, admitted, surgery,
baby...); then its ages, dates, birthdays, units, rooms and names are findings. Some details count in any
draft: a name followed by an age ("Jake, 7,"), a rare condition next to a place ("the only child with
progeria in Millbrook"), and a caption or alt text naming a person who is not introduced as staff.
On a reply the PHI guard already judges dates and rooms (against the comment), so those rules are skipped.
"""

from __future__ import annotations

import re

from triage_api.drafts.findings import CAPTION, Draft, Finding, make
from triage_api.drafts.rules import pattern, rule_list, rules
from triage_api.drafts.spans import find
from triage_api.replies.normalise import Normalised, normalise

REPLY_SKIPS = frozenset({"date", "room"})
STAFF_BEFORE = re.compile(r"(?:\b(?:dr|doctor|nurse|rn|np|pa|prof|professor)\.?\s*)$", re.IGNORECASE)
STAFF_AFTER = re.compile(r"^,?\s*(?:md|do|rn|np|pa-c|pa|phd|dnp|bsn|msn|crna|aprn)\b", re.IGNORECASE)


def check(draft: Draft) -> list[Finding]:
    views = [(name, normalise(text)) for name, text in draft.fields()]
    about_a_patient = any(pattern("patient_context").search(view.text) for _, view in views)
    has_place = any(pattern("places").search(view.text) for _, view in views)
    findings: list[Finding] = []
    for name, view in views:
        for rule in rule_list("patient_rules"):
            if draft.is_reply and rule.id in REPLY_SKIPS:
                continue
            if not (rule.always or about_a_patient):
                continue
            for m in find(view, rule.pattern):
                findings.append(
                    make(
                        "patient_identifier", rule.id, name, (m.start, m.end), rule.message, excerpt=m.excerpt
                    )
                )
        if has_place:
            for m in find(view, pattern("rare_conditions")):
                message = rules().text("rare_message")
                findings.append(
                    make(
                        "patient_identifier",
                        "rare_condition_place",
                        name,
                        (m.start, m.end),
                        message,
                        excerpt=m.excerpt,
                    )
                )
        if name == CAPTION:
            findings += _caption_names(view)
    return findings


def _caption_names(view: Normalised) -> list[Finding]:
    """Names in a caption that are neither an institution's ("Brightwater Heart Center") nor staff's."""
    text = view.text
    institution = pattern("not_a_person", case=True)
    found: list[Finding] = []
    for m in find(view, pattern("caption_name", case=True)):
        if institution.search(text[m.at : m.until]):
            continue
        if STAFF_BEFORE.search(text[max(0, m.at - 12) : m.at]) or STAFF_AFTER.search(
            text[m.until : m.until + 8]
        ):
            continue
        message = rules().text("caption_message")
        found.append(
            make("patient_identifier", "caption_name", CAPTION, (m.start, m.end), message, excerpt=m.excerpt)
        )
    return found
