"""docker-compose.yml stays a valid deployment: Apache Kafka 4 (KRaft) alone or as three brokers, topics created
to fit, every service and dependency defined. The Docker engine does not run on these machines and the
`docker compose` plugin is not installed, so the file is checked here as compose reads it: YAML with its
anchors merged, `${VAR:-default}` filled in from the environment files, profiles applied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
THREE_BROKERS_ENV = ROOT / "deploy" / "kafka-three-brokers.env"
SECRETS = {
    "TRIAGE_POSTGRES_PASSWORD": "pw",
    "TRIAGE_BOOTSTRAP_ADMIN_PASSWORD": "pw",
    "TRIAGE_GRAFANA_ADMIN_PASSWORD": "pw",
}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}")


def env_file(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise AssertionError(f"compose would refuse to start: {name}: {argument}")
        return argument if kind == "-" else ""

    return _VARIABLE.sub(substitute, value)


def resolved(env: dict[str, str], profiles: set[str]) -> dict[str, Any]:
    """The services compose would run with these variables and profiles."""
    config = interpolate(yaml.safe_load(COMPOSE.read_text()), env)
    return {
        name: service
        for name, service in config["services"].items()
        if not set(service.get("profiles", [])) or set(service["profiles"]) & profiles
    }


MODES = {
    "one broker": ({}, set()),
    "three brokers": (env_file(THREE_BROKERS_ENV), {"three-brokers"}),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_compose_runs_kafka_4_in_kraft_with_topics_that_fit_the_brokers(mode: str) -> None:
    extra, profiles = MODES[mode]
    services = resolved({**SECRETS, **extra}, profiles)
    brokers = {name: s for name, s in services.items() if name.startswith("kafka")}
    assert len(brokers) == (3 if profiles else 1)

    pom_version = re.search(r"<kafka.version>([^<]+)<", (ROOT / "tests/kafka/pom.xml").read_text())
    assert pom_version is not None
    voters = {}
    for name, broker in brokers.items():
        assert broker["image"] == f"apache/kafka:{pom_version.group(1)}"
        assert broker["image"].split(":")[1].startswith("4.")
        environment = broker["environment"]
        assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert environment["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        voters[str(environment["KAFKA_NODE_ID"])] = name
        rf, isr = (
            int(environment["KAFKA_DEFAULT_REPLICATION_FACTOR"]),
            int(environment["KAFKA_MIN_INSYNC_REPLICAS"]),
        )
        assert 1 <= isr <= rf <= len(brokers)
        assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    quorum = next(iter(brokers.values()))["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert all(b["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] == quorum for b in brokers.values())
    assert {v.split("@")[0]: v.split("@")[1].split(":")[0] for v in quorum.split(",")} == voters

    topics = services["topics"]
    assert topics["command"][:3] == ["triage", "topics", "create"]
    options = dict(option.lstrip("-").split("=") for option in topics["command"][3:])
    rf, isr = int(options["replication-factor"]), int(options["min-insync-replicas"])
    assert (rf, isr) == ((3, 2) if profiles else (1, 1))
    for name in ("api", "classifier", "ingest", "topics"):
        env = services[name]["environment"]
        hosts = {server.split(":")[0] for server in env["TRIAGE_KAFKA_BOOTSTRAP_SERVERS"].split(",")}
        assert hosts == set(brokers), name
        assert env["TRIAGE_KAFKA_PROFILE"] == "kafka"
        assert (
            int(env["TRIAGE_KAFKA_REPLICATION_FACTOR"]),
            int(env["TRIAGE_KAFKA_MIN_INSYNC_REPLICAS"]),
        ) == (rf, isr)


@pytest.mark.parametrize("mode", list(MODES))
def test_every_dependency_and_volume_is_defined(mode: str) -> None:
    extra, profiles = MODES[mode]
    config = interpolate(yaml.safe_load(COMPOSE.read_text()), {**SECRETS, **extra})
    services = resolved({**SECRETS, **extra}, profiles)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in config["services"], f"{name} depends on unknown {dependency}"
            if dependency not in services:
                assert condition.get("required") is False, f"{name} needs {dependency}, off in {mode}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in config["volumes"], f"{name}: volume {source}"


def test_compose_refuses_to_start_without_the_secrets() -> None:
    with pytest.raises(AssertionError, match="TRIAGE_POSTGRES_PASSWORD"):
        resolved({}, set())
