"""Which flags page at once: the one rule the classifier and a person's "flag this" both follow."""

from __future__ import annotations

from triage_events import AlertKind, Label, Severity, immediate_alerts

from tests.builders import make_flag


def test_urgent_and_privacy_labels_page_once_each_in_label_order_with_the_flags_ids() -> None:
    flag = make_flag(labels=[Label.PRIVACY, Label.HOSTILE, Label.URGENT], severity=Severity.CRITICAL)

    alerts = immediate_alerts(flag)

    assert [(a.kind, a.label) for a in alerts] == [
        (AlertKind.URGENT_COMMENT, Label.URGENT),
        (AlertKind.PHI_EXPOSURE, Label.PRIVACY),
    ]
    assert [a.dedup_key for a in alerts] == [
        f"urgent_comment:{flag.comment_key}",
        f"phi_exposure:{flag.comment_key}",
    ]
    for alert in alerts:
        assert (alert.platform, alert.account, alert.severity) == (
            flag.platform,
            flag.account,
            Severity.CRITICAL,
        )
        assert alert.comment_keys == [flag.comment_key]


def test_labels_that_wait_for_a_person_page_nobody() -> None:
    flag = make_flag(labels=[Label.HOSTILE, Label.SPAM, Label.MISINFORMATION, Label.CLINICAL_ADVICE])

    assert immediate_alerts(flag) == []
