"""The Prometheus and Alertmanager configuration in deploy/ is valid, the alert rules behave as their unit
tests say (`promtool test rules`), and alerts route to the on-call receivers (`amtool`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed (Debian: prometheus / prometheus-alertmanager; .ci/run installs them)"
        )
    return path


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_alert_rules_are_valid() -> None:
    assert "SUCCESS: 8 rules found" in run(
        tool("promtool"), "check", "rules", "prometheus/rules/triage.rules.yml"
    )


def test_both_consumers_have_a_growing_lag_rule_and_it_is_unit_tested() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/rules/triage.rules.yml").read_text())
    exprs = {r["alert"]: r["expr"] for group in rules["groups"] for r in group["rules"]}
    assert "triage_api_consumer_lag_messages" in exprs["TriageConsumerLagGrowing"]
    classifier = exprs["TriageClassifierLagGrowing"]
    assert "triage_classifier_consumer_lag" in classifier and "deriv(" in classifier
    assert "by (topic, partition)" in classifier
    tests = yaml.safe_load((DEPLOY / "prometheus/tests/triage.rules.test.yml").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])}
    assert set(exprs) <= tested, f"rules without a promtool test: {sorted(set(exprs) - tested)}"


def test_alert_rules_pass_their_unit_tests() -> None:
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", "prometheus/tests/triage.rules.test.yml")


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    # The config names the rules by their in-container path; check it with the rules where they are here.
    config = (DEPLOY / "prometheus/prometheus.yml").read_text()
    assert "/etc/prometheus/rules/*.yml" in config
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/etc/prometheus/rules/", f"{DEPLOY}/prometheus/rules/"))
    run(tool("promtool"), "check", "config", str(local))
    for job in ("triage-api", "triage-ingest", "triage-classifier"):
        assert f"job_name: {job}" in config


def test_alertmanager_config_is_valid() -> None:
    run(tool("amtool"), "check-config", "alertmanager/alertmanager.yml")


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=page", "alertname=TriageUrgentFlagUnacknowledged"], "oncall-pager,team-chat"),
        (["severity=ticket", "alertname=TriageDeadLetterRate"], "team-chat"),
    ],
)
def test_pages_reach_the_on_call_pager_and_tickets_the_team(labels: list[str], receivers: str) -> None:
    out = run(
        tool("amtool"), "config", "routes", "test", "--config.file=alertmanager/alertmanager.yml", *labels
    )
    assert out.strip() == receivers
