"""`triage bench`: the benchmarks, each a Markdown section with numbers and ratios measured side by side in
one run; `triage bench report` joins the sections into docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def bench() -> None:
    """Benchmarks (numbers and ratios, measured side by side in one run)."""


@bench.command(name="classifier")
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/corpus"),
    show_default=True,
)
@click.option("--count", type=int, default=1500, show_default=True, help="comments per measurement")
@click.option(
    "--rate", type=float, default=50.0, show_default=True, help="steady-state rate for the latency run"
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the Markdown report here (e.g. docs/benchmarks.md)",
)
@click.option(
    "--languages",
    is_flag=True,
    help="only English-only vs 20% other languages, before vs routed (comments/s and memory)",
)
def bench_classifier(corpus: Path, count: int, rate: float, output: Path | None, languages: bool) -> None:
    """Raw model vs classifier function vs Faust worker through the broker."""
    if languages:
        from triage_bench.classifier import run_languages

        click.echo(run_languages(corpus, count, output))
        return
    from triage_bench.classifier import run as run_bench

    click.echo(run_bench(corpus, count, rate, output))


@bench.command(name="pipeline")
@click.option("--count", type=int, default=20_000, show_default=True, help="comments in the burst")
@click.option(
    "--database",
    "db_kind",
    type=click.Choice(["postgresql", "sqlite"]),
    default="postgresql",
    show_default=True,
)
@click.option("--mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/corpus"),
    show_default=True,
)
@click.option(
    "--reference-count", type=int, default=1000, show_default=True, help="texts for the raw-model reference"
)
@click.option(
    "--steady-rate",
    type=float,
    default=50.0,
    show_default=True,
    help="comments/s of the steady phase before the burst",
)
@click.option(
    "--steady-seconds",
    type=float,
    default=60.0,
    show_default=True,
    help="length of the steady phase (0: none)",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="classifier workers, the cores shared out between their models (as `triage run --classifier-workers`)",
)
@click.option(
    "--prolific-share",
    type=click.FloatRange(min=0.0, max=0.9),
    default=0.0,
    show_default=True,
    help="share of the burst's comments written by one author, as in a spam run",
)
@click.option(
    "--broker",
    type=click.Choice(["embedded", "kafka", "both"]),
    default="embedded",
    show_default=True,
    help="the embedded broker, Apache Kafka from .cache/kafka (tests/kafka/fetch.sh), or both in one run",
)
@click.option(
    "--kafka-nodes",
    type=click.IntRange(min=1, max=5),
    default=1,
    show_default=True,
    help="Kafka nodes (each broker and controller; replication min(nodes, 3))",
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Markdown section"
)
def bench_pipeline(
    count: int,
    db_kind: str,
    mode: str,
    corpus: Path,
    reference_count: int,
    steady_rate: float,
    steady_seconds: float,
    workers: int,
    prolific_share: float,
    broker: str,
    kafka_nodes: int,
    output: Path | None,
) -> None:
    """A burst through broker → classifier workers → API: throughput, latency, memory, lag recovery."""
    from triage_bench.kafka_launcher import KafkaError
    from triage_bench.pipeline import BROKERS, run_pipeline

    brokers = BROKERS if broker == "both" else (broker,)
    try:
        report = run_pipeline(
            *(count, db_kind, mode, corpus, reference_count, steady_rate, steady_seconds, workers),
            prolific_share,
            brokers,
            kafka_nodes,
        )
    except KafkaError as exc:
        raise click.ClickException(str(exc)) from None
    _write(report, output)


@bench.command(name="api")
@click.option(
    "--flags", "count", type=int, default=1_000_000, show_default=True, help="flags in the database"
)
@click.option("--concurrency", type=int, default=16, show_default=True)
@click.option("--seconds", type=float, default=8.0, show_default=True, help="per request kind")
@click.option(
    "--database",
    "db_kind",
    type=click.Choice(["postgresql", "sqlite"]),
    default="postgresql",
    show_default=True,
)
@click.option(
    "--reference/--no-reference",
    default=True,
    show_default=True,
    help="measure every request again with the indexes before migration 0005",
)
@click.option(
    "--workers",
    type=int,
    default=2,
    show_default=True,
    help="also measure the main rows on `uvicorn --workers N` (1: skip)",
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Markdown section"
)
def bench_api(
    count: int,
    concurrency: int,
    seconds: float,
    db_kind: str,
    reference: bool,
    workers: int,
    output: Path | None,
) -> None:
    """The queue listing under concurrent requests, with many flags in the database."""
    from triage_bench.api import run_api

    _write(run_api(count, concurrency, seconds, db_kind, reference, workers), output)


@bench.command(name="oncall")
@click.option("--count", type=click.IntRange(min=1), default=1500, show_default=True, help="urgent comments")
@click.option(
    "--rate", type=click.FloatRange(min=0.1), default=50.0, show_default=True, help="comments/s at ingest"
)
@click.option("--mode", type=click.Choice(["hybrid", "rules"]), default="hybrid", show_default=True)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/corpus"),
    show_default=True,
    help="its comments labelled urgent are sent",
)
@click.option(
    "--database",
    "db_kind",
    type=click.Choice(["postgresql", "sqlite"]),
    default="postgresql",
    show_default=True,
)
@click.option("--broker", type=click.Choice(["embedded", "kafka"]), default="embedded", show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True, help="classifier workers"
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Markdown section"
)
def bench_oncall(
    count: int,
    rate: float,
    mode: str,
    corpus: Path,
    db_kind: str,
    broker: str,
    workers: int,
    output: Path | None,
) -> None:
    """Urgent comments at a fixed rate from ingest to the on-call page: latency, and every one paged once."""
    from triage_bench.kafka_launcher import KafkaError
    from triage_bench.oncall import run_oncall

    try:
        report, _ = run_oncall(count, rate, mode, corpus, db_kind, broker, workers)
    except KafkaError as exc:
        raise click.ClickException(str(exc)) from None
    _write(report, output)


@bench.command(name="report")
@click.argument("sections", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def bench_report(sections: tuple[Path, ...], output: Path) -> None:
    """Combine the sections written by the bench commands into one document (docs/benchmarks.md)."""
    from triage_bench.pipeline import combine

    _write(combine(list(sections)), output)


def _write(report: str, output: Path | None) -> None:
    click.echo(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
