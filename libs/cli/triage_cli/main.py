"""The `triage` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import click

from triage_cli import logs

DATA_DIR = Path(os.environ.get("TRIAGE_DATA_DIR", ".triage"))


@click.group()
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING… (default: $TRIAGE_LOG_LEVEL or INFO)")
def cli(log_level: str | None) -> None:
    """Triage: moderation for a health system's official social media accounts."""
    logs.configure(log_level)


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=DATA_DIR, show_default=True)
@click.option("--api-port", type=int, default=8000, show_default=True)
@click.option("--ingest-port", type=int, default=8001, show_default=True)
@click.option("--broker-port", type=int, default=None, help="default: a free port")
@click.option("--demo/--no-demo", default=True, show_default=True, help="replay the bundled demo comments")
@click.option("--classifier-mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True)
def run(data_dir: Path, api_port: int, ingest_port: int, broker_port: int | None, demo: bool,
        classifier_mode: str) -> None:
    """Run the whole product: embedded broker, ingest, classifier, API and dashboard."""
    from triage_cli.supervisor import RunOptions
    from triage_cli.supervisor import run as run_all

    sys.exit(run_all(RunOptions(data_dir, api_port, ingest_port, broker_port, demo, classifier_mode)))


@cli.command()
@click.option("--port", type=int, default=9092, show_default=True)
@click.option("--storage", default="memory://tansu/", show_default=True)
def broker(port: int, storage: str) -> None:
    """Run the embedded Kafka-compatible broker alone, with Triage's topics created."""
    import signal
    import threading

    from triage_bus.embedded import EmbeddedBroker

    embedded = EmbeddedBroker(port=port, storage=storage).start()
    click.echo(f"Embedded broker on {embedded.bootstrap_servers}. Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", type=float, default=None, help="comments per second (default: as fast as possible)")
@click.option("--bootstrap-servers", default=None, help="default: the running `triage run`, else $TRIAGE_KAFKA_*")
@click.option("--account-id", default="demo-health", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=DATA_DIR, show_default=True)
def replay(file: Path, rate: float | None, bootstrap_servers: str | None, account_id: str, data_dir: Path) -> None:
    """Publish comments from a JSONL file (objects with at least `text`) into the running pipeline."""
    from triage_bus.profile import BrokerProfile
    from triage_bus.settings import BusSettings
    from triage_events import Account
    from triage_ingest.publisher import Publisher
    from triage_ingest.replay import replay_file

    settings = BusSettings()
    if bootstrap_servers is None and "TRIAGE_KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        state = data_dir / "run.json"
        if state.exists():
            bootstrap_servers = json.loads(state.read_text())["bootstrap_servers"]
    if bootstrap_servers:
        settings = settings.model_copy(update={"bootstrap_servers": bootstrap_servers})

    async def _replay() -> None:
        publisher = Publisher(BrokerProfile.from_settings(settings))
        await publisher.start()
        try:
            report = await replay_file(file, publisher, Account(id=account_id, handle=account_id), rate)
        finally:
            await publisher.stop()
        click.echo(
            f"published {report.published}, duplicates {report.duplicates}, dead letters {report.dead_letters}"
        )

    asyncio.run(_replay())


@cli.command()
def api() -> None:
    """Run the API service and dashboard (settings from TRIAGE_API_*)."""
    from triage_api.main import serve

    serve()


@cli.command()
def ingest() -> None:
    """Run the ingest service (settings from TRIAGE_INGEST_*)."""
    from triage_ingest.main import serve

    serve()


@cli.command()
def classifier() -> None:
    """Run the classifier worker (settings from TRIAGE_CLASSIFIER_*)."""
    from triage_classifier.worker import main

    main(os.environ.get("TRIAGE_LOG_LEVEL", "info").lower())
