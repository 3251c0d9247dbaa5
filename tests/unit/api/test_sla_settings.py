"""SLA targets live in the API settings: the defaults are the documented ones, `TRIAGE_API_SLA_*_S` sets
each severity, and `sla.Targets` built from them gives the due times, the breaches and the mapping the
routing view shows. `flags.sla` reads no settings itself: `create_app` builds the targets and passes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from triage_api.config import ApiSettings
from triage_api.flags import sla

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_sla_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for severity in sla.SEVERITIES:
        monkeypatch.delenv(f"TRIAGE_API_SLA_{severity.upper()}_S", raising=False)
    yield


def test_the_defaults_are_five_minutes_half_an_hour_four_hours_and_a_day() -> None:
    targets = sla.Targets(ApiSettings().sla_seconds())
    assert targets == sla.DEFAULT  # the constant for code run without an app says what the settings say
    assert targets.timedeltas() == {
        "critical": timedelta(minutes=5),
        "high": timedelta(minutes=30),
        "medium": timedelta(hours=4),
        "low": timedelta(hours=24),
    }
    assert targets.due_at(T, "high") == T + timedelta(minutes=30)
    assert targets.due_at(T, "unheard-of") == T + timedelta(hours=24)
    assert targets.due_at(T.replace(tzinfo=None), "critical") == T + timedelta(minutes=5)  # naive means UTC


def test_the_environment_sets_each_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_API_SLA_CRITICAL_S", "120")
    monkeypatch.setenv("TRIAGE_API_SLA_MEDIUM_S", "600")
    targets = sla.Targets(ApiSettings().sla_seconds())
    assert dict(targets.seconds) == {"critical": 120.0, "high": 1800.0, "medium": 600.0, "low": 86400.0}
    assert targets.target("critical") == timedelta(minutes=2) and len(targets.timedeltas()) == 4
    assert targets.due_at(T, "medium") == T + timedelta(minutes=10)
    now = T + timedelta(minutes=3)
    assert sla.breached(targets.due_at(T, "critical"), "new", now)
    assert not sla.breached(targets.due_at(T, "high"), "new", now)
    assert not sla.breached(targets.due_at(T, "critical"), "resolved", now)
    assert sla.DEFAULT.target("critical") == timedelta(minutes=5)  # what one app was given changes no other


def test_a_target_must_be_positive_and_every_severity_has_one() -> None:
    with pytest.raises(ValidationError):
        ApiSettings(sla_critical_s=0)
    with pytest.raises(ValueError, match="low"):
        sla.Targets({"critical": 60.0, "high": 60.0, "medium": 60.0})


def test_the_targets_cannot_be_changed_after_they_are_built() -> None:
    seconds = {"critical": 60.0, "high": 60.0, "medium": 60.0, "low": 60.0}
    targets = sla.Targets(seconds)
    seconds["critical"] = 1.0  # the caller's dict is copied
    assert targets.target("critical") == timedelta(minutes=1)
    with pytest.raises(TypeError):
        targets.seconds["critical"] = 1.0  # type: ignore[index]
