"""Which flags page the on-call person at once: the same rule for the classifier's verdicts and for a flag a
person raises on the desk."""

from __future__ import annotations

from triage_events.schemas import AlertKind, AlertRaised, FlagRaised, Label

# Every urgent flag pages at once; every privacy flag is a PHI exposure to hide fast.
IMMEDIATE_ALERTS: dict[Label, AlertKind] = {
    Label.URGENT: AlertKind.URGENT_COMMENT,
    Label.PRIVACY: AlertKind.PHI_EXPOSURE,
}


def immediate_alerts(flag: FlagRaised) -> list[AlertRaised]:
    """The alerts `flag` raises as soon as it exists, one per label that pages, deduplicated by comment."""
    return [
        AlertRaised(
            kind=kind,
            platform=flag.platform,
            account=flag.account,
            label=label,
            severity=flag.severity,
            comment_keys=[flag.comment_key],
            dedup_key=f"{kind.value}:{flag.comment_key}",
        )
        for label, kind in IMMEDIATE_ALERTS.items()
        if label in flag.labels
    ]
