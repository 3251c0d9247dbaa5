"""The PHI guard (`replies.guard`, with its normalisation and lexicon) on a draft.

On a reply it runs exactly as on the desk's reply path, against the comment answered: every finding blocks
the reply. On a post there is no comment, and a post speaks to everyone: "talk to your doctor" or a staff
member welcomed by name is ordinary, so only the guard's identifier findings count here (record, insurance
and other numbers, dates of birth, phone numbers that are not the account's, a condition tied to someone).
Dates and rooms in a post are judged by `patient_story`, which looks at whether the post is about a patient.
"""

from __future__ import annotations

import re

from triage_api.drafts.findings import TEXT, Draft, Finding, make
from triage_api.replies import guard
from triage_api.replies.accounts import AccountSettings

POST_KINDS = frozenset({"record_number", "date_of_birth", "insurance", "phone", "identifier", "condition"})


# A condition tied to "you" in a post speaks to every reader ("ask about your insulin"); one tied to a third
# person ("her leukemia", "he has diabetes") tells everyone about someone.
_ADDRESSED = re.compile(r"\b(?:you|your|yours|usted|tu|tus)\b[^.!?\n]*$", re.IGNORECASE)


def _finding(field: str, found: guard.Finding, blocks: bool) -> Finding:
    return make(
        "phi",
        f"guard.{found.kind}",
        field,
        (found.start, found.end),
        found.reason,
        blocks=blocks,
        excerpt=found.excerpt,
    )


def check(draft: Draft, account: AccountSettings | None) -> list[Finding]:
    if draft.is_reply:
        return check_reply(draft, account.phone_numbers() if account is not None else [])
    return check_post(draft, account)


def check_reply(draft: Draft, allowed_numbers: list[str]) -> list[Finding]:
    """The guard as the desk's reply path runs it: the account's lines allowed; every finding blocks."""
    result = guard.check_reply(draft.text, draft.reply_to, allowed_numbers)
    return [_finding(TEXT, f, blocks=True) for f in result.findings]


def check_post(draft: Draft, account: AccountSettings | None) -> list[Finding]:
    """The guard's identifier findings in a post's text and caption (numbers in the account's settings
    are allowed)."""
    return [
        _finding(name, f, blocks=False)
        for name, text in draft.fields()
        for f in guard.check(text, None, account)
        if f.kind in POST_KINDS
        and not (f.kind == "condition" and _ADDRESSED.search(text[max(0, f.start - 40) : f.start]))
    ]
