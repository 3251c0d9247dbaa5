"""Personal opinion as the institution's: the official account speaks for the organisation (AMA Opinion
2.3.2: keep personal and professional content apart; GUIDELINES.md rule 6: staff replies speak for the
organisation).

Findings: first-person opinion ("I think", "in my opinion") in anything the account publishes, and a
political position stated for the institution ("we support this bill", "vote for ...") — a sentence with a
stance and a political subject. Plain civic reminders ("remember to vote") and the organisation's mission
("we believe every child deserves care") are not findings.
"""

from __future__ import annotations

from triage_api.drafts.findings import Draft, Finding, make
from triage_api.drafts.rules import pattern, rules
from triage_api.drafts.spans import find, sentences
from triage_api.replies.normalise import normalise


def check(draft: Draft) -> list[Finding]:
    findings: list[Finding] = []
    for name, text in draft.fields():
        view = normalise(text)
        for m in find(view, pattern("opinion")):
            message = rules().text("opinion_message")
            findings.append(
                make("personal_opinion", "first_person", name, (m.start, m.end), message, excerpt=m.excerpt)
            )
        political = pattern("political")
        for start, end in sentences(view):
            sentence = view.text[start:end]
            stance = pattern("stance").search(sentence)
            if stance is None or not political.search(sentence):
                continue
            span = view.origin(start + stance.start(), start + stance.end())
            message = rules().text("political_message")
            findings.append(
                make("personal_opinion", "political_stance", name, span, message, excerpt=stance.group(0))
            )
        for m in find(view, pattern("vote")):
            message = rules().text("political_message")
            findings.append(
                make("personal_opinion", "endorsement", name, (m.start, m.end), message, excerpt=m.excerpt)
            )
    return findings
