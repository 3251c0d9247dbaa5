"""The links in pages point at the API that runs, unless `TRIAGE_ONCALL_PUBLIC_URL` says otherwise."""

from __future__ import annotations

import pytest
from triage_api.oncall.config import OncallSettings


def test_links_default_to_the_api_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_ONCALL_PUBLIC_URL", raising=False)
    monkeypatch.setenv("TRIAGE_API_PORT", "18000")
    monkeypatch.setenv("TRIAGE_API_HOST", "0.0.0.0")
    assert OncallSettings().public_url == "http://127.0.0.1:18000"
    monkeypatch.setenv("TRIAGE_API_HOST", "10.1.2.3")
    assert OncallSettings().public_url == "http://10.1.2.3:18000"


def test_a_configured_public_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_API_PORT", "18000")
    monkeypatch.setenv("TRIAGE_ONCALL_PUBLIC_URL", "https://triage.hospital.example")
    assert OncallSettings().public_url == "https://triage.hospital.example"
