"""Sponsorship and promotion: a paid or sponsored post, or one promoting a product, says so plainly (FTC
Endorsement Guides; the AMA's opinion on product promotion and FSMB: disclose financial interests).

A draft marked sponsored, or naming a sponsor, needs a disclosure ("#ad", "sponsored", "paid partnership")
in its text or caption; so does a draft with the marks of promotion (®, ™, promo codes, "% off", "shop
now"). The finding points at the sponsor's name where the text names it, else at the whole text.
"""

from __future__ import annotations

import re

from triage_api.drafts.findings import TEXT, Draft, Finding, make
from triage_api.drafts.rules import pattern, rules
from triage_api.drafts.spans import find
from triage_api.replies.normalise import normalise


def check(draft: Draft) -> list[Finding]:
    views = [(name, normalise(text)) for name, text in draft.fields()]
    if any(pattern("disclosure").search(view.text) for _, view in views):
        return []
    findings: list[Finding] = []
    sponsor = draft.sponsor.strip()
    if draft.sponsored or sponsor:
        span = (0, len(draft.text))
        if sponsor:
            named = re.search(re.escape(sponsor), draft.text, re.IGNORECASE)
            span = (named.start(), named.end()) if named else span
        message = rules().text("sponsored_message")
        findings.append(make("sponsorship", "sponsored_undisclosed", TEXT, span, message))
    for name, view in views:
        for m in find(view, pattern("promotion")):
            message = rules().text("promotion_message")
            findings.append(
                make("sponsorship", "promotion", name, (m.start, m.end), message, excerpt=m.excerpt)
            )
    return findings
