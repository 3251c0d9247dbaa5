"""Ingest settings: platform secrets from the environment or the secrets file; the accounts file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triage_cli.supervisor import RunOptions, Supervisor
from triage_events import Platform
from triage_ingest.accounts import load_accounts
from triage_ingest.config import IngestSettings


def test_secrets_come_from_their_fixed_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_META_APP_SECRET", "from-env")
    monkeypatch.setenv("TRIAGE_META_VERIFY_TOKEN", "token")
    monkeypatch.setenv("TRIAGE_LINKEDIN_CLIENT_SECRET", "li")
    settings = IngestSettings()
    assert settings.meta_app_secret is not None and settings.meta_app_secret.get_secret_value() == "from-env"
    assert settings.linkedin_client_secret is not None
    assert "from-env" not in repr(settings)  # secrets never print


def test_secrets_file_fills_what_the_environment_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(
        "TRIAGE_META_APP_SECRET: from-file\nTRIAGE_LINKEDIN_CLIENT_SECRET: li-file\nFB_TOKEN: tok\n"
    )
    monkeypatch.setenv("TRIAGE_INGEST_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("TRIAGE_LINKEDIN_CLIENT_SECRET", "li-env")
    settings = IngestSettings()
    assert settings.meta_app_secret is not None and settings.meta_app_secret.get_secret_value() == "from-file"
    assert settings.linkedin_client_secret is not None
    assert settings.linkedin_client_secret.get_secret_value() == "li-env"
    assert settings.meta_verify_token is None
    assert settings.secret("FB_TOKEN") == "tok"


def test_accounts_file_with_credentials_and_reply_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    {
                        "platform": "facebook",
                        "id": "1045",
                        "handle": "@brightwater",
                        "credentials": {"access_token": "TRIAGE_FB_TOKEN"},
                        "reply_vars": {"appointment_url": "https://b.example/appt", "nurse_line": "555 0100"},
                    }
                ]
            }
        )
    )
    monkeypatch.setenv("TRIAGE_FB_TOKEN", "page-token")
    accounts = load_accounts(path, IngestSettings().secret)
    config = accounts.get(Platform.FACEBOOK, "1045")
    assert config is not None and config.reply_vars["nurse_line"] == "555 0100"
    assert accounts.credential(Platform.FACEBOOK, "1045", "access_token") == "page-token"
    assert accounts.account(Platform.FACEBOOK, "1045").handle == "@brightwater"
    assert accounts.metric_label(Platform.FACEBOOK, "9999") == "unknown"


def test_malformed_accounts_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text("accounts:\n  - platform: myspace\n    id: x\n")
    with pytest.raises(ValueError):
        load_accounts(path)


def test_triage_run_keeps_the_poll_state_in_its_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_INGEST_POLL_STATE_FILE", raising=False)
    env = Supervisor(RunOptions(data_dir=tmp_path))._env("admin-pw")
    expected = tmp_path.resolve() / "ingest-poll.sqlite3"
    assert env["TRIAGE_INGEST_POLL_STATE_FILE"] == str(expected)
    monkeypatch.setenv("TRIAGE_INGEST_POLL_STATE_FILE", env["TRIAGE_INGEST_POLL_STATE_FILE"])
    assert IngestSettings().poll_state_file == expected  # what the ingest child reads
    # An operator's own path is kept, as for the API's database URL.
    monkeypatch.setenv("TRIAGE_INGEST_POLL_STATE_FILE", str(tmp_path / "elsewhere.sqlite3"))
    override = Supervisor(RunOptions(data_dir=tmp_path))._env("admin-pw")
    assert override["TRIAGE_INGEST_POLL_STATE_FILE"] == str(tmp_path / "elsewhere.sqlite3")


def test_triage_run_gives_each_classifier_worker_its_port_folder_log_and_share_of_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    supervisor = Supervisor(RunOptions(data_dir=tmp_path, classifier_workers=2))
    env = supervisor._env("admin-pw")

    one = Supervisor(RunOptions(data_dir=tmp_path))._classifiers(env, tmp_path / "logs")
    two = supervisor._classifiers(env, tmp_path / "logs")

    assert [s.name for s in one] == ["classifier"]
    assert "TRIAGE_CLASSIFIER_THREADS" not in one[0].env  # torch's default: every core
    assert [s.name for s in two] == ["classifier-1", "classifier-2"]
    assert [s.log_path.name for s in two] == ["classifier-1.log", "classifier-2.log"]
    assert len({s.env["TRIAGE_CLASSIFIER_WEB_PORT"] for s in two}) == 2
    assert len({s.env["TRIAGE_CLASSIFIER_DATA_DIR"] for s in two}) == 2
    assert {s.env["TRIAGE_CLASSIFIER_THREADS"] for s in two} == {"2"}
    assert all(s.args == ["classifier"] for s in one + two)
