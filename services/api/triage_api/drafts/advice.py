"""Individual clinical advice: what to do with a medicine, doses, a diagnosis, or that no care is needed.
Advice belongs to a care relationship, not a public thread (ACP/FSMB 2013: avoid specific medical advice to
non-patients; FSMB 2019). General guidance ("talk to your doctor before you stop any medicine") passes:
a rule may name words that, just before its match, make it general (`unless_before`)."""

from __future__ import annotations

from triage_api.drafts.findings import Draft, Finding, make
from triage_api.drafts.rules import rule_list
from triage_api.drafts.spans import find
from triage_api.replies.normalise import normalise

LOOK_BEHIND = 40


def check(draft: Draft) -> list[Finding]:
    findings: list[Finding] = []
    for name, text in draft.fields():
        view = normalise(text)
        for rule in rule_list("advice_rules"):
            for m in find(view, rule.pattern):
                before = view.text[max(0, m.at - LOOK_BEHIND) : m.at]
                if rule.unless_before is not None and rule.unless_before.search(before):
                    continue
                findings.append(
                    make("clinical_advice", rule.id, name, (m.start, m.end), rule.message, excerpt=m.excerpt)
                )
    return findings
