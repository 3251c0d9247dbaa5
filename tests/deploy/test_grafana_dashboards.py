"""The provisioned Grafana dashboards use the pinned datasource, and every panel's query refers only to
metrics the services really export (read from the services' own metric definitions)."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.processes import service_env

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DATASOURCE_UID = "triage-prometheus"
METRIC = re.compile(r"\b(triage_[a-z0-9_]+)")


_PROBE = """
import json
import triage_api.metrics, triage_classifier.app, triage_ingest.metrics
from prometheus_client import REGISTRY
suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum", "_count", "_created"],
            "summary": ["_sum", "_count", "_created"]}
names = {}
for collector in set(REGISTRY._names_to_collectors.values()):
    for metric in collector.describe() if hasattr(collector, "describe") else []:
        for suffix in suffixes.get(metric.type, [""]):
            names.setdefault(metric.name + suffix, set()).update(getattr(collector, "_labelnames", ()))
print(json.dumps({name: sorted(labels) for name, labels in names.items()}))
"""


@functools.cache
def exported() -> dict[str, set[str]]:
    """Every sample name the services register, with its labels, as Prometheus will see it. Read in a child
    process: importing the classifier's Faust app patches the Kafka client, which this process must not get."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=service_env()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {name: set(labels) for name, labels in json.loads(result.stdout).items()}


def dashboards() -> list[Path]:
    return sorted((GRAFANA / "dashboards").glob("*.json"))


def test_the_datasource_has_the_pinned_uid() -> None:
    config = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    [source] = config["datasources"]
    assert (source["uid"], source["type"], source["url"]) == (
        DATASOURCE_UID,
        "prometheus",
        "http://prometheus:9090",
    )


def test_the_three_dashboards_are_provisioned() -> None:
    assert [p.stem for p in dashboards()] == ["oncall", "pipeline", "queue"]
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/triage.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.parametrize("path", dashboards(), ids=lambda p: p.stem)
def test_every_panel_queries_exported_metrics_through_the_pinned_datasource(path: Path) -> None:
    names = exported()
    board = json.loads(path.read_text())
    assert board["uid"].startswith("triage-") and board["panels"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            used = METRIC.findall(target["expr"])
            assert used or target["expr"].startswith("up{"), (
                f"{panel['title']}: no metric in {target['expr']}"
            )
            unknown = [m for m in used if m not in names]
            assert not unknown, f"{path.name} / {panel['title']}: not exported: {unknown}"
            for grouping in re.findall(r"by \(([^)]*)\)", target["expr"]):
                labels = {label.strip() for label in grouping.split(",")} - {"le"}
                for metric in used:
                    missing = labels - names[metric]
                    assert not missing, f"{panel['title']}: {metric} has no label(s) {sorted(missing)}"


def queries(name: str) -> list[str]:
    board = json.loads((GRAFANA / "dashboards" / f"{name}.json").read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def test_the_new_service_metrics_are_exported_with_small_labels_and_on_the_dashboards() -> None:
    names = exported()
    assert names["triage_classifier_consumer_lag"] == {"topic", "partition"}
    assert names["triage_api_time_to_first_action_seconds_bucket"] == {"severity", "label"}
    assert names["triage_api_sla_breaches_total"] == {"severity"}
    assert names["triage_api_flags_relabelled_total"] == {"severity", "reason"}
    assert any("triage_classifier_consumer_lag" in expr for expr in queries("pipeline"))
    queue = " ".join(queries("queue"))
    for metric in ("triage_api_time_to_first_action_seconds_bucket", "triage_api_sla_breaches_total"):
        assert metric in queue, metric


def test_the_validator_catches_a_misspelt_metric() -> None:
    assert "triage_api_flags_stored_totl" not in exported()
    assert "triage_api_flags_stored_total" in exported()
