"""What the product does with labels: default severities, escalation, suggested reply templates.

Severity and routes are configuration in spirit; these defaults follow the label table in DESIGN.md.
"""

from __future__ import annotations

from triage_events import Label, Severity

DEFAULT_SEVERITY: dict[Label, Severity] = {
    Label.URGENT: Severity.CRITICAL,
    Label.PRIVACY: Severity.HIGH,
    Label.MISINFORMATION: Severity.MEDIUM,
    Label.CLINICAL_ADVICE: Severity.MEDIUM,
    Label.HOSTILE: Severity.MEDIUM,
    Label.SPAM: Severity.LOW,
}

# Rules whose firing makes a label more serious than its default.
ESCALATING_RULES: dict[str, Severity] = {
    "hostile.threat": Severity.HIGH,
    "urgent.specific_threat": Severity.CRITICAL,
}

# Labels in a fixed order, the order of model heads and of label lists on the wire.
LABELS: tuple[Label, ...] = (
    Label.URGENT,
    Label.PRIVACY,
    Label.MISINFORMATION,
    Label.CLINICAL_ADVICE,
    Label.HOSTILE,
    Label.SPAM,
)


def severity_for(labels: list[Label], fired_rules: list[str]) -> Severity:
    """The highest severity among the labels' defaults and any escalating rule that fired."""
    candidates = [DEFAULT_SEVERITY[label] for label in labels]
    candidates += [ESCALATING_RULES[r] for r in fired_rules if r in ESCALATING_RULES]
    return Severity.highest(candidates)


def suggested_templates(labels: list[Label]) -> list[str]:
    """Reply template ids for the flag, most pressing label first (the API owns the templates)."""
    ordered = [label for label in LABELS if label in labels]
    return [f"{label.value}.public" for label in ordered]
