"""What the product does with labels: default severities, escalation, suggested reply templates.

Severity and routes are configuration in spirit; these defaults follow the label table in DESIGN.md.
"""

from __future__ import annotations

from triage_events import DEFAULT_SEVERITY, Label, Severity

# Rules whose firing makes a label more serious than its default, when that label is given.
ESCALATING_RULES: dict[str, tuple[Label, Severity]] = {
    "hostile.threat": (Label.HOSTILE, Severity.HIGH),
    "urgent.specific_threat": (Label.URGENT, Severity.CRITICAL),
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
    """The highest severity among the labels' defaults and the escalating rules that fired for them."""
    candidates = [DEFAULT_SEVERITY[label] for label in labels]
    candidates += [
        severity
        for rule_id in fired_rules
        if rule_id in ESCALATING_RULES
        for label, severity in [ESCALATING_RULES[rule_id]]
        if label in labels
    ]
    return Severity.highest(candidates)


def suggested_templates(labels: list[Label]) -> list[str]:
    """Reply template ids for the flag, most pressing label first (the API owns the templates)."""
    ordered = [label for label in LABELS if label in labels]
    return [f"{label.value}.public" for label in ordered]
