"""Health claims: what a post says a treatment does needs the evidence beside it (FSMB 2021: information
that is factual, scientifically grounded and consensus-driven; share only credible sources).

`needs_citation` claims ("prevents flu", "studies show", "cuts your risk") pass when the draft gives a
source: a link (in the text, the caption or its links) or a named source ("according to the CDC").
`absolute` claims ("100% effective", "no side effects", "cures cancer") are findings whatever the source:
no evidence says that. Fund-raising and plain statements ("help us find a cure", "there is no cure") are
not claims.

The classifier's misinformation model is not consulted here: services do not import each other, and the
classifier has no request/answer interface yet (docs/post_check.md says what it would take).
"""

from __future__ import annotations

from triage_api.drafts.findings import Draft, Finding, make
from triage_api.drafts.rules import pattern, rule_list
from triage_api.drafts.spans import find
from triage_api.replies.normalise import normalise


def has_source(draft: Draft) -> bool:
    if any(link.strip() for link in draft.links):
        return True
    return any(pattern("source").search(normalise(text).text) for _, text in draft.fields())


def check(draft: Draft) -> list[Finding]:
    sourced = has_source(draft)
    findings: list[Finding] = []
    for name, text in draft.fields():
        view = normalise(text)
        not_claims = [(m.start(), m.end()) for m in pattern("not_a_claim").finditer(view.text)]
        for rule in rule_list("claim_rules"):
            if sourced and not rule.always:
                continue
            for m in find(view, rule.pattern):
                if any(s < m.until and m.at < e for s, e in not_claims):
                    continue
                findings.append(
                    make("health_claim", rule.id, name, (m.start, m.end), rule.message, excerpt=m.excerpt)
                )
    return findings
