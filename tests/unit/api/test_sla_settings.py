"""SLA targets live in the API settings: the defaults are the documented ones, and `TRIAGE_API_SLA_*_S`
changes every reader of `flags.sla` (due times, breaches, the mapping the routing view shows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from triage_api.config import ApiSettings, get_settings
from triage_api.flags import sla

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for severity in sla.SEVERITIES:
        monkeypatch.delenv(f"TRIAGE_API_SLA_{severity.upper()}_S", raising=False)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_defaults_are_five_minutes_half_an_hour_four_hours_and_a_day() -> None:
    assert dict(sla.SLA) == {
        "critical": timedelta(minutes=5),
        "high": timedelta(minutes=30),
        "medium": timedelta(hours=4),
        "low": timedelta(hours=24),
    }
    assert sla.due_at(T, "high") == T + timedelta(minutes=30)
    assert sla.due_at(T, "unheard-of") == T + timedelta(hours=24)
    assert sla.due_at(T.replace(tzinfo=None), "critical") == T + timedelta(minutes=5)  # naive means UTC


def test_the_environment_sets_each_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_API_SLA_CRITICAL_S", "120")
    monkeypatch.setenv("TRIAGE_API_SLA_MEDIUM_S", "600")
    get_settings.cache_clear()
    assert sla.seconds() == {"critical": 120.0, "high": 1800.0, "medium": 600.0, "low": 86400.0}
    assert sla.SLA["critical"] == timedelta(minutes=2) and len(sla.SLA) == 4
    assert sla.due_at(T, "medium") == T + timedelta(minutes=10)
    now = T + timedelta(minutes=3)
    assert sla.breached(sla.due_at(T, "critical"), "new", now)
    assert not sla.breached(sla.due_at(T, "high"), "new", now)
    assert not sla.breached(sla.due_at(T, "critical"), "resolved", now)


def test_a_target_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        ApiSettings(sla_critical_s=0)
