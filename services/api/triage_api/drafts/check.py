"""The draft check: every check on a draft, findings in reading order; and the review of a reply before
the desk sends it (the PHI guard's findings block it, any other finding sends it to a lead)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from triage_api.drafts import advice, claims, opinion, patient_story, phi, sponsorship
from triage_api.drafts.findings import CAPTION, Draft, Finding
from triage_api.replies import guard
from triage_api.replies.accounts import AccountSettings

KINDS = ("phi", "patient_identifier", "clinical_advice", "health_claim", "sponsorship", "personal_opinion")
_CHECKS: tuple[Callable[[Draft], list[Finding]], ...] = (
    patient_story.check,
    advice.check,
    claims.check,
    sponsorship.check,
    opinion.check,
)


def check_draft(draft: Draft, account: AccountSettings | None = None) -> list[Finding]:
    """Every finding on `draft` (the text first, then the caption; by position), one per rule and span."""
    found = phi.check(draft, account)
    for run in _CHECKS:
        found += run(draft)
    return _ordered(found)


def _ordered(found: list[Finding]) -> list[Finding]:
    """One finding per span: of two of the same kind, one inside the other, the outer one stays (the PHI
    guard's findings on a reply are kept as the guard gives them)."""
    unique = list({(f.kind, f.rule, f.field, f.start, f.end): f for f in found if f.blocks}.values())
    unique += list({(f.kind, f.field, f.start, f.end): f for f in found if not f.blocks}.values())
    phi_spans = [(f.field, f.start, f.end) for f in unique if f.kind == "phi"]
    kept = [
        f
        for f in unique
        if f.blocks
        or not (
            any(
                o is not f
                and o.kind == f.kind
                and o.field == f.field
                and o.start <= f.start
                and f.end <= o.end
                for o in unique
            )
            # a date or number the PHI guard already reported is not a patient-story finding as well
            or (
                f.kind == "patient_identifier"
                and any(fd == f.field and s < f.end and f.start < e for fd, s, e in phi_spans)
            )
        )
    ]
    return sorted(kept, key=lambda f: (f.field == CAPTION, f.start, KINDS.index(f.kind), f.end))


@dataclass(frozen=True)
class ReplyReview:
    """A reply checked before it is sent: `blocked` by the PHI guard, or `needs_review` by a lead."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)

    @property
    def needs_review(self) -> bool:
        return bool(self.findings)

    def reasons(self) -> list[str]:
        """The PHI guard's reasons as the guard words them, then every other finding with its guidance."""
        phi_found = [
            guard.Finding(f.rule.removeprefix("guard."), f.start, f.end, f.message, f.excerpt)
            for f in self.findings
            if f.blocks
        ]
        return guard.reasons(phi_found) + [f.reason() for f in self.findings if not f.blocks]

    def summary(self) -> str:
        """The kinds found, for a flag's last action and the audit ("clinical_advice, health_claim")."""
        return ", ".join(sorted({f.kind for f in self.findings}))


def review_reply(
    text: str, comment: str | None, allowed_numbers: Sequence[str] = (), platform: str = "facebook"
) -> ReplyReview:
    """The draft check on a reply to `comment`, with the account's lines allowed."""
    draft = Draft(text=text, platform=platform, reply_to=comment or "")
    findings = phi.check_reply(draft, list(allowed_numbers))
    for run in _CHECKS:
        findings += run(draft)
    return ReplyReview(_ordered(findings))
