"""The `triage` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from triage_cli import logs

DATA_DIR = Path(os.environ.get("TRIAGE_DATA_DIR", ".triage"))
# Packages that add commands to `triage` name them under this entry-point group (the benchmarks do: they use
# the CLI's supervisor, so the CLI does not import them).
COMMANDS_GROUP = "triage.commands"


@click.group()
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING… (default: $TRIAGE_LOG_LEVEL or INFO)")
def cli(log_level: str | None) -> None:
    """Triage: moderation for a health system's official social media accounts."""
    logs.configure(log_level)


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=DATA_DIR, show_default=True)
@click.option(
    "--api-port", type=int, default=8000, show_default=True, envvar="TRIAGE_API_PORT", show_envvar=True
)
@click.option(
    "--ingest-port", type=int, default=8001, show_default=True, envvar="TRIAGE_INGEST_PORT", show_envvar=True
)
@click.option("--broker-port", type=int, default=None, help="default: a free port")
@click.option(
    "--kafka",
    metavar="HOST:PORT",
    default=None,
    help="use this Apache Kafka cluster instead of the embedded broker (profile kafka; missing topics are "
    "created, replicated to fit the cluster)",
)
@click.option("--demo/--no-demo", default=True, show_default=True, help="replay the bundled demo comments")
@click.option(
    "--classifier-mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True
)
@click.option(
    "--classifier-workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="classifier worker processes sharing the comments topic's 6 partitions; one per core is the fastest, "
    "at the memory of one model each",
)
def run(
    data_dir: Path,
    api_port: int,
    ingest_port: int,
    broker_port: int | None,
    kafka: str | None,
    demo: bool,
    classifier_mode: str,
    classifier_workers: int,
) -> None:
    """Run the whole product: embedded broker (or `--kafka`), ingest, classifier, API and dashboard."""
    from triage_cli.supervisor import RunOptions
    from triage_cli.supervisor import run as run_all

    options = RunOptions(
        data_dir, api_port, ingest_port, broker_port, demo, classifier_mode, classifier_workers, kafka=kafka
    )
    sys.exit(run_all(options))


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


@cli.group()
def topics() -> None:
    """Kafka topics of the product."""


@topics.command(name="create")
@click.option("--bootstrap-servers", default=None, help="default: $TRIAGE_KAFKA_BOOTSTRAP_SERVERS")
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="seconds to wait for the broker"
)
@click.option(
    "--replication-factor",
    type=click.IntRange(min=1),
    default=None,
    help="copies of each partition [default: 3, a three-broker cluster; 1 with --single-node]",
)
@click.option(
    "--min-insync-replicas",
    type=click.IntRange(min=1),
    default=None,
    help="copies that must have a record before it is acknowledged [default: 2; 1 with --single-node]",
)
@click.option("--single-node", "--dev", "single_node", is_flag=True, help="one broker (development): 1 and 1")
def topics_create(
    bootstrap_servers: str | None,
    timeout: float,
    replication_factor: int | None,
    min_insync_replicas: int | None,
    single_node: bool,
) -> None:
    """Create the versioned topics with their partition counts, replication, retention and cleanup policy
    (existing ones are left as they are)."""
    import time

    from aiokafka.errors import KafkaError
    from triage_bus.admin import SINGLE_NODE, TopicPolicy, create_topics, wait_until_ready
    from triage_bus.settings import BusSettings
    from triage_events import ALL_TOPICS

    servers = bootstrap_servers or BusSettings().bootstrap_servers
    base = SINGLE_NODE if single_node else TopicPolicy()
    try:
        policy = TopicPolicy(
            replication_factor=replication_factor or base.replication_factor,
            min_insync_replicas=min_insync_replicas or base.min_insync_replicas,
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from error

    async def _create() -> None:
        deadline = time.monotonic() + timeout
        while not await wait_until_ready(servers, timeout=2.0):
            if time.monotonic() > deadline:
                raise click.ClickException(f"no broker answered at {servers} within {timeout:.0f} s")
            await asyncio.sleep(1.0)
        try:
            await create_topics(servers, ALL_TOPICS, policy)
        except KafkaError as error:  # e.g. fewer brokers than the replication factor
            raise click.ClickException(f"creating the topics failed: {error}") from error

    asyncio.run(_create())
    click.echo(
        f"replication factor {policy.replication_factor}, min.insync.replicas {policy.min_insync_replicas}: "
        + ", ".join(
            f"{t.name} ({t.partitions} partitions, {t.cleanup_policy}, {t.retention_ms // 3_600_000} h)"
            for t in ALL_TOPICS
        )
    )


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", type=float, default=None, help="comments per second (default: as fast as possible)")
@click.option(
    "--bootstrap-servers", default=None, help="default: the running `triage run`, else $TRIAGE_KAFKA_*"
)
@click.option("--account-id", default="demo-health", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=DATA_DIR, show_default=True)
def replay(
    file: Path, rate: float | None, bootstrap_servers: str | None, account_id: str, data_dir: Path
) -> None:
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


def _classifier(mode: str, artefact: Path | None):  # type: ignore[no-untyped-def]
    from triage_classifier.config import ClassifierSettings
    from triage_classifier.loader import load_classifier

    return load_classifier(ClassifierSettings(mode=mode, artefact=artefact))


@cli.command()
@click.option(
    "--input", "input_", type=click.File("r", encoding="utf-8"), default="-", help="JSONL (default stdin)"
)
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-", help="JSONL (default stdout)")
@click.option("--mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True)
@click.option("--artefact", type=click.Path(file_okay=False, path_type=Path), default=None)
def classify(input_, output, mode: str, artefact: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Label comments: JSONL objects with `text` in, the same objects with labels, scores, severity and
    evidence out."""
    from triage_classifier.offline import InputError, classify_stream

    try:
        count = classify_stream(_classifier(mode, artefact), input_, output)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"classified {count} comments", err=True)


@cli.command(name="eval")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True)
@click.option("--artefact", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option(
    "--drafts",
    is_flag=True,
    help="FILE holds labelled drafts (`text`, `kinds`): score the post check instead of the classifier",
)
def evaluate(file, as_json: bool, mode: str, artefact: Path | None, drafts: bool) -> None:  # type: ignore[no-untyped-def]
    """Score the classifier on JSONL with gold `labels`: per-label precision/recall/F1, macro-F1, benign flagged.
    With --drafts, score the post check on labelled drafts: precision and recall per kind of finding, and the
    clean drafts given a finding."""
    if drafts:
        _evaluate_drafts(file, as_json)
        return
    from triage_classifier.offline import InputError, evaluate_stream
    from triage_classifier.training.metrics import format_table

    try:
        report = evaluate_stream(_classifier(mode, artefact), file)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, indent=2) if as_json else format_table(report))


def _evaluate_drafts(file, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from triage_api.drafts.evaluate import LabelledDraftError, evaluate, read_labelled
    from triage_api.replies.accounts import AccountBook

    try:
        rows = read_labelled(file)
    except LabelledDraftError as exc:
        raise click.ClickException(str(exc)) from None
    report = evaluate(rows, AccountBook.load(None).get("*"))
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.table())


@cli.command()
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/corpus"),
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="default: the artefact bundled with the package",
)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option(
    "--encoder-delta",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="LoRA delta from `python -m triage_classifier.training.finetune` (default: the bundled one)",
)
@click.option(
    "--e5-delta",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="e5's LoRA delta from `python -m triage_classifier.training.finetune_e5` (default: the bundled one)",
)
@click.option("--frozen", is_flag=True, help="heads on the base encoders, without the fine-tuned deltas")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write the model report (e.g. docs/model.md)",
)
@click.option(
    "--public-data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="add capped samples of the public data sets in this folder (e.g. ../shared/data)",
)
@click.option(
    "--feedback",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="corpus items from `triage feedback export`, added to the training split only",
)
@click.option(
    "--recalibrate",
    is_flag=True,
    help="choose the thresholds on validation plus the feedback (recall first for urgent and privacy)",
)
def train(
    report: Path | None,
    corpus: Path,
    output: Path | None,
    seed: int,
    encoder_delta: Path | None,
    e5_delta: Path | None,
    frozen: bool,
    public_data: Path | None,
    feedback: Path | None,
    recalibrate: bool,
) -> None:
    """Rebuild the classifier artefact from the corpus (deterministic for a seed)."""
    import shutil
    import tempfile

    from triage_classifier.artefact import DEFAULT_DIR
    from triage_classifier.multilingual import E5_DELTA, SUBDIR
    from triage_classifier.training.metrics import format_table
    from triage_classifier.training.train import train as run_training

    output = output or DEFAULT_DIR
    with tempfile.TemporaryDirectory() as scratch:
        if encoder_delta is None and not frozen and (DEFAULT_DIR / "encoder_delta.npz").exists():
            # The bundled delta is read before the new artefact overwrites it.
            encoder_delta = Path(shutil.copy(DEFAULT_DIR / "encoder_delta.npz", scratch))
        bundled_e5 = DEFAULT_DIR / SUBDIR / E5_DELTA
        if e5_delta is None and not frozen and bundled_e5.exists():
            e5_delta = Path(shutil.copy(bundled_e5, scratch))
        artefact = run_training(
            corpus,
            output,
            seed,
            public_data,
            None if frozen else encoder_delta,
            feedback,
            recalibrate,
            None if frozen else e5_delta,
        )
    click.echo(f"artefact {artefact.version} written to {output}")
    if report is not None:
        from triage_classifier.training.report import write_model_report

        write_model_report(artefact, corpus, report)
        click.echo(f"model report written to {report}")
    # Validation chose the heads and thresholds, so it is what training shows; the test split is read once,
    # by `triage eval`, after the choice.
    click.echo("validation split (chose the heads and thresholds; `triage eval` reads the test split):")
    click.echo(format_table(artefact.metrics["validation"]))
    if "feedback" in artefact.metrics:
        from triage_classifier.training.feedback import format_feedback

        click.echo(format_feedback(artefact.metrics["feedback"]))


# --- learning from the desk (issue 21): feedback export ---------------------------------------------------


@cli.group()
def feedback() -> None:
    """What people taught the classifier on the desk."""


@feedback.command(name="export")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DATA_DIR / "feedback.jsonl",
    show_default=True,
    help="JSONL corpus items (written 0600: they hold comment text)",
)
@click.option("--database-url", default=None, help="default: $TRIAGE_API_DATABASE_URL")
def feedback_export(output: Path, database_url: str | None) -> None:
    """Person-raised flags and label feedback (wrong / missing) as corpus items for `triage train --feedback`."""
    from triage_api.comments.export import export
    from triage_api.config import get_settings
    from triage_api.db import make_engine, make_sessionmaker

    engine = make_engine(database_url or get_settings().database_url)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with make_sessionmaker(engine)() as db:
            count = export(db, output)
    finally:
        engine.dispose()
    click.echo(f"{count} feedback items written to {output}")


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


def _add_contributed_commands() -> None:
    for entry in entry_points(group=COMMANDS_GROUP):
        cli.add_command(entry.load(), name=entry.name)


_add_contributed_commands()
