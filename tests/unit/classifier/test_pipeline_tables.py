"""What the classifier's tables turn into: repeat hostility raises a flag's severity, a surge becomes an alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from triage_classifier.pipeline import (
    SurgeMark,
    escalate_repeat_hostility,
    read_surge_record,
    surge_alert,
)
from triage_events import AlertKind, Label, Platform, Severity, encode

from tests.builders import make_account, make_author, make_comment, make_comment_body, make_flag

HOUR = 3600


def _hostile_flag(severity: Severity = Severity.MEDIUM):  # type: ignore[no-untyped-def]
    return make_flag(labels=[Label.HOSTILE], severity=severity)


def test_below_the_threshold_the_flag_is_unchanged() -> None:
    flag = _hostile_flag()

    result = escalate_repeat_hostility(flag, count=1, threshold=2, window_s=HOUR)

    assert result == flag
    assert result.severity is Severity.MEDIUM
    assert all(e.rule_id != "hostile.repeat" for e in result.evidence)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Severity.LOW, Severity.MEDIUM),
        (Severity.MEDIUM, Severity.HIGH),
        (Severity.HIGH, Severity.CRITICAL),
        (Severity.CRITICAL, Severity.CRITICAL),
    ],
)
def test_at_the_threshold_severity_goes_one_step_up_and_critical_stays_critical(
    before: Severity, after: Severity
) -> None:
    flag = _hostile_flag(before)

    result = escalate_repeat_hostility(flag, count=2, threshold=2, window_s=HOUR)

    assert result.severity is after


def test_above_the_threshold_it_is_still_only_one_step() -> None:
    result = escalate_repeat_hostility(_hostile_flag(), count=7, threshold=2, window_s=HOUR)

    assert result.severity is Severity.HIGH


def test_escalation_adds_a_repeat_hostility_note_and_keeps_everything_else() -> None:
    flag = _hostile_flag()

    result = escalate_repeat_hostility(flag, count=3, threshold=3, window_s=2 * HOUR)

    assert result.evidence[: len(flag.evidence)] == flag.evidence
    [added] = result.evidence[len(flag.evidence) :]
    assert added.label is Label.HOSTILE
    assert added.source == "rule"
    assert added.rule_id == "hostile.repeat"
    assert "3 hostile comments" in added.note
    assert "120 minutes" in added.note
    unchanged = ("comment_key", "labels", "comment", "scores", "model_version", "account", "platform")
    assert {f: getattr(result, f) for f in unchanged} == {f: getattr(flag, f) for f in unchanged}
    assert flag.severity is Severity.MEDIUM  # the original flag is not modified
    assert len(flag.evidence) == 1


def _misinfo_flag(at: datetime, platform_comment_id: str):  # type: ignore[no-untyped-def]
    comment = make_comment(
        comment=make_comment_body(
            platform_comment_id=platform_comment_id,
            text="Onion juice in your ears cures measles, no shots needed",
            author=make_author(id="author-surge", handle="onion_fan", display_name="Perry Quill"),
        ),
        account=make_account(id="acct-surge"),
        platform=Platform.INSTAGRAM,
    )
    return make_flag(labels=[Label.MISINFORMATION], comment=comment, occurred_at=at)


def test_surge_alert_carries_the_count_window_and_comment_keys() -> None:
    flag = _misinfo_flag(datetime(2026, 11, 22, 10, 5, tzinfo=UTC), "p-3")
    keys = ["instagram:acct-surge:p-1", "instagram:acct-surge:p-2", "instagram:acct-surge:p-3"]

    alert = surge_alert(SurgeMark.of(flag), Label.MISINFORMATION, count=3, window_s=900, comment_keys=keys)

    assert alert.kind is AlertKind.SURGE
    assert alert.label is Label.MISINFORMATION
    assert alert.severity is Severity.HIGH
    assert alert.platform is Platform.INSTAGRAM
    assert alert.account.id == "acct-surge"
    assert (alert.count, alert.window_seconds) == (3, 900)
    assert alert.comment_keys == keys
    assert alert.dedup_key.startswith("surge:instagram:acct-surge:misinformation:")


def test_surge_alert_carries_no_comment_text_or_author() -> None:
    flag = _misinfo_flag(datetime(2026, 11, 22, 10, 5, tzinfo=UTC), "p-9")

    wire = encode(surge_alert(SurgeMark.of(flag), Label.MISINFORMATION, 3, 900, [flag.comment_key])).decode()

    assert flag.comment_key in wire
    for fragment in ("Onion", "measles", "onion_fan", "Perry", "Quill", "author-surge"):
        assert fragment not in wire


def test_surge_dedup_key_is_stable_within_a_window_and_changes_with_the_next() -> None:
    window = 900
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a multiple of 900 s since the epoch
    assert int(start.timestamp()) % window == 0

    def key(minute: int, second: int = 0) -> str:
        at = start.replace(minute=minute, second=second)
        return surge_alert(
            SurgeMark.of(_misinfo_flag(at, f"p-{minute}-{second}")), Label.MISINFORMATION, 3, window, []
        ).dedup_key

    assert key(0) == key(7) == key(14, 59)
    assert key(15) != key(14, 59)
    assert key(15) == key(29, 59)
    assert key(0).endswith(f":{int(start.timestamp())}")


def test_surge_dedup_key_differs_per_label_and_account() -> None:
    at = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    flag = _misinfo_flag(at, "p-1")
    other_account = flag.model_copy(update={"account": make_account(id="acct-elsewhere")})

    keys = {
        surge_alert(SurgeMark.of(flag), Label.MISINFORMATION, 3, 900, []).dedup_key,
        surge_alert(SurgeMark.of(flag), Label.SPAM, 3, 900, []).dedup_key,
        surge_alert(SurgeMark.of(other_account), Label.MISINFORMATION, 3, 900, []).dedup_key,
    }

    assert len(keys) == 3


def test_the_surge_mark_carries_no_comment_text_or_author_and_reads_back() -> None:
    flag = _misinfo_flag(datetime(2026, 11, 22, 10, 5, tzinfo=UTC), "p-9")

    wire = SurgeMark.of(flag).model_dump_json().encode()

    for fragment in ("Onion", "measles", "onion_fan", "Perry", "Quill", "author-surge"):
        assert fragment not in wire.decode()
    mark = SurgeMark.read(wire)
    assert (mark.comment_keys, mark.platform, mark.account, mark.occurred_at) == (
        [flag.comment_key],
        flag.platform,
        flag.account,
        flag.occurred_at,
    )
    assert mark.account_key == "instagram:acct-surge"


def test_a_batch_gets_one_mark_per_account_and_label_with_its_comment_keys_in_order() -> None:
    at = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    first, second, third = (_misinfo_flag(at.replace(second=s), f"p-{s}") for s in (1, 2, 3))
    second = second.model_copy(update={"labels": [Label.MISINFORMATION, Label.SPAM]})
    elsewhere = first.model_copy(
        update={"account": make_account(id="acct-elsewhere"), "comment_key": "other"}
    )

    marks = SurgeMark.per_account_label([first, second, elsewhere, third])

    assert [key for key, _ in marks] == [
        b"instagram:acct-surge|misinformation",
        b"instagram:acct-surge|spam",
        b"instagram:acct-elsewhere|misinformation",
    ]
    misinformation, spam, other = (mark for _, mark in marks)
    assert misinformation.comment_keys == [first.comment_key, second.comment_key, third.comment_key]
    assert misinformation.occurred_at == third.occurred_at  # the last flag's time
    assert spam.comment_keys == [second.comment_key]
    assert (other.comment_keys, other.account.id) == (["other"], "acct-elsewhere")
    assert SurgeMark.per_account_label([]) == []


def test_surge_records_of_both_earlier_formats_still_read() -> None:
    """Records of earlier releases may be in flight at an upgrade: the whole flag, then a mark of one key."""
    flag = _misinfo_flag(datetime(2026, 11, 22, 10, 5, tzinfo=UTC), "p-9")
    whole_flag = json.dumps({"comment_key": flag.comment_key, "flag": encode(flag).decode()}).encode()
    one_key = SurgeMark.of(flag).model_dump(mode="json")
    one_key["comment_key"] = one_key.pop("comment_keys")[0]

    assert SurgeMark.read(whole_flag) == SurgeMark.of(flag)
    assert SurgeMark.read(json.dumps(one_key).encode()) == SurgeMark.of(flag)


def test_a_surge_record_reads_into_its_label_and_mark() -> None:
    flag = _misinfo_flag(datetime(2026, 11, 22, 10, 5, tzinfo=UTC), "p-9")
    [(key, mark)] = SurgeMark.per_account_label([flag])

    assert read_surge_record(key, mark.model_dump_json().encode()) == (Label.MISINFORMATION, mark)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, b"{}"),
        (b"instagram:acct|not-a-label", b"{}"),
        (b"instagram:acct|spam", None),
        (b"instagram:acct|spam", b"not json"),
        (b"instagram:acct|spam", b"[1, 2]"),
        (b"instagram:acct|spam", b"7"),
        (b"instagram:acct|spam", b'{"comment_keys": "one", "platform": "x"}'),
        (b"\xff\xfe|spam", b"{}"),
    ],
)
def test_an_unreadable_surge_record_is_a_value_error_naming_no_content(
    key: bytes | None, value: bytes | None
) -> None:
    with pytest.raises(ValueError, match=r"^unreadable surge record: [A-Za-z]+$"):
        read_surge_record(key, value)
