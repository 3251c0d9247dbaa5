"""`triage bench api`: the queue listing under concurrent load with many flags in the database, each figure
beside a reference measured in the same run: `/healthz` (the framework alone), the OFFSET variant of the deep
page, and every request again on the same data and server with the indexes of revision 0004 (before the
queue indexes of 0005). The main rows are measured again at 1, 4 and `--concurrency` clients, with the
server's CPU time per request, and on a server with `--workers` uvicorn processes. Benchmarks report
numbers; they assert nothing (tests do)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from triage_bench.databases import alembic, postgres_schema
from triage_bench.pipeline import (
    cpu_seconds,
    machine,
    percentile,
    rss_mb,
    service_env,
    start_service,
    stop_services,
    wait_ready,
)

SERVER_URL = "postgresql://postgres@127.0.0.1:5432"
BENCH_DATABASE = "triage_bench"  # not `test`: the tests' schemas there are left alone
TOKEN = "bench-token"
QUEUE_INDEXES_REVISION = "0005"  # the reference runs without what this migration adds

# A health system's accounts: (platform, id, handle, weight). Handles repeat across platforms.
ACCOUNTS = [
    ("facebook", "fb-1001", "@brightwaterhealth", 30),
    ("instagram", "ig-2001", "@brightwaterhealth", 25),
    ("x", "x-3001", "@brightwater", 15),
    ("linkedin", "li-4001", "brightwater-health", 5),
    ("facebook", "fb-1002", "@brightwaterkids", 15),
    ("instagram", "ig-2002", "@brightwaterkids", 10),
]
LABELS = {  # label: (weight, severity, team)
    "hostile": (30, "medium", "social"),
    "spam": (28, "low", "social"),
    "misinformation": (14, "high", "clinical"),
    "clinical_advice": (14, "medium", "clinical"),
    "privacy": (8, "high", "clinical"),
    "urgent": (6, "critical", "clinical"),
}
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
MODERATORS = [f"mod-{n:02d}" for n in range(1, 13)]
PHRASES = [
    "the wait time in the ER was four hours",
    "your pharmacy on Birch Avenue never answers",
    "is the flu shot clinic open on Saturday",
    "parking at the north garage is a joke",
    "my bill is wrong again and nobody calls back",
    "vaccines cause more harm than good",
    "what dose of ibuprofen should I give my son",
    "you are all useless clowns",
    "click here for cheap pills",
    "the nurses on ward 4 were wonderful",
    "I can't stop thinking about ending it",
    "my mother's MRN is on the discharge letter",
    "why is the portal down every weekend",
    "the new maternity unit looks great",
    "follow me for free crypto tips",
    "should I stop taking my blood pressure meds",
]
RARE_WORD = "zephyrine"  # in about one flag in a thousand: a selective text search


def _weighted(rng: random.Random, items: dict[str, tuple[int, str, str]]) -> str:
    return rng.choices(list(items), weights=[v[0] for v in items.values()])[0]


def _status(rng: random.Random, recent: bool) -> str:
    """Recent flags are mostly open; older ones mostly closed (a few stay open, as on a real desk)."""
    if recent:
        return rng.choices(["new", "assigned", "in_review", "escalated"], [60, 25, 10, 5])[0]
    return rng.choices(
        ["resolved", "dismissed", "hidden", "replied", "new", "escalated"], [40, 30, 14, 14, 1, 1]
    )[0]


def flag_rows(count: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` flag rows (the columns of `flags` at the newest revision), one every 30 s, newest last; their
    label rows are `labels`."""
    from triage_api.flags import sla
    from triage_api.flags.service import flag_row
    from triage_events import Account, Author, Comment, CommentReceived, Evidence, FlagRaised, Label, Severity

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    comment = CommentReceived(
        platform="facebook",
        account=Account(id="fb-1001", handle="@brightwaterhealth"),
        comment=Comment(
            platform_comment_id="seed",
            text="seed",
            author=Author(id="seed-author", handle="seed"),
            created_at=t0,
        ),
    )
    template = flag_row(
        FlagRaised(
            comment_key=comment.comment_key,
            platform=comment.platform,
            account=comment.account,
            comment=comment.comment,
            labels=[Label.HOSTILE],
            scores={Label.HOSTILE: 0.9},
            severity=Severity.MEDIUM,
            evidence=[Evidence(label=Label.HOSTILE, source="rule", rule_id="hostile.insult", start=0, end=4)],
            model_version="bench",
            suggested_templates=[],
            source_event_id=comment.event_id,
        ),
        sla.DEFAULT,
    )
    template.update(team=None, assignee=None)
    rng = random.Random(seed)
    account_weights = [a[3] for a in ACCOUNTS]
    for i in range(count):
        platform, account_id, handle, _ = rng.choices(ACCOUNTS, account_weights)[0]
        labels = [_weighted(rng, LABELS)]
        if rng.random() < 0.15:
            second = _weighted(rng, LABELS)
            if second != labels[0]:
                labels.append(second)
        severity = max((LABELS[label][1] for label in labels), key=SEVERITY_RANK.__getitem__)
        status = _status(rng, count - 1 - i < count * 0.03)  # the newest 3 %
        text = f"{rng.choice(PHRASES)}, {rng.choice(PHRASES)}" + (
            f" {RARE_WORD}" if rng.random() < 0.001 else ""
        )
        at = t0 + timedelta(seconds=30 * i)
        row = dict(template)
        row.update(
            id=str(UUID(int=rng.getrandbits(128), version=4)),
            comment_key=f"{platform}:{account_id}:{i}",
            platform=platform,
            account_id=account_id,
            account_handle=handle,
            platform_comment_id=str(i),
            text=text,
            author_id=f"author-{rng.randrange(20_000)}",
            commented_at=at - timedelta(seconds=5),
            flagged_at=at,
            stored_at=at,
            updated_at=at,
            sla_due_at=sla.DEFAULT.due_at(at, severity),
            labels=labels,
            primary_label=labels[0],
            scores={label: 0.9 for label in labels},
            severity=severity,
            severity_rank=SEVERITY_RANK[severity],
            status=status,
            team=LABELS[labels[0]][2],
            assignee=None if status in ("new", "dismissed", "hidden") else rng.choice(MODERATORS),
        )
        yield row


# --- the database ---------------------------------------------------------------------------------------


@contextmanager
def bench_database(kind: str, work: Path, name: str = "bench") -> Iterator[str]:
    """A fresh schema in the `triage_bench` PostgreSQL database (created if missing; the schema is dropped
    afterwards), or an SQLite file."""
    if kind == "sqlite":
        yield f"sqlite:///{work / f'{name}.db'}"
        return
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/test", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]
        ).fetchone()
        if not exists:
            connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    with postgres_schema(f"{SERVER_URL}/{BENCH_DATABASE}", "bench") as url:
        yield url


def without_queue_indexes(database_url: str) -> None:
    """The reference schema: the newest revision (the columns the code reads), less what migration 0005 added
    for the queue (its `downgrade`, run alone): the indexes of revision 0004 for the listing. Migration 0014
    replaced 0005's (label, flag_id) with its own (label, flagged_at, flag_id), which stays like the other later
    migrations' indexes; the one 0005's downgrade drops is put back first."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from triage_api import db

    migration = ScriptDirectory.from_config(db.migrations_config()).get_revision(QUEUE_INDEXES_REVISION)
    assert migration is not None
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            connection.execute(
                text("CREATE INDEX ix_flag_labels_label_flag_id ON flag_labels (label, flag_id)")
            )
            migration.module.downgrade()
    finally:
        engine.dispose()


def analyze(database_url: str) -> None:
    """VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite): fresh statistics and visibility map, as autovacuum
    would leave a table that has been still for a while."""
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute("ANALYZE")
        return
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE flags")
        connection.execute("VACUUM ANALYZE flag_labels")


def seed(database_url: str, count: int) -> tuple[float, float]:
    """`count` flags straight into the tables of a schema at the newest revision; returns the seconds taken to
    load them and to build the indexes. PostgreSQL: the secondary indexes of `flags` and `flag_labels` and the
    labels' foreign key are dropped, the rows loaded with COPY (text format, written here in chunks), then
    the indexes and the key put back as they were. SQLite: batched INSERTs, the indexes left in place."""
    rows = flag_rows(count)
    if database_url.startswith("sqlite"):
        started = time.perf_counter()
        _seed_sqlite(database_url, rows)
        return time.perf_counter() - started, 0.0
    import psycopg
    from triage_api.flags.models import Flag

    with psycopg.connect(database_url, autocommit=True) as connection:
        indexes = connection.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname IN ('flags', 'flag_labels') "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        ).fetchall()
        keys = connection.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'flag_labels'::regclass AND contype = 'f'"
        ).fetchall()
        for name, _ in keys:
            connection.execute(f'ALTER TABLE flag_labels DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        columns = [c.name for c in Flag.__table__.columns]
        json_columns = {c.name for c in Flag.__table__.columns if c.type.__class__.__name__ == "JSON"}
        started = time.perf_counter()
        with connection.transaction(), connection.cursor() as cursor:
            labels: list[str] = []
            with cursor.copy(f"COPY flags ({', '.join(columns)}) FROM STDIN") as copy:
                chunk: list[str] = []
                for row in rows:
                    chunk.append("\t".join(_copy_text(row.get(c), c in json_columns) for c in columns) + "\n")
                    # each label row with its flag's status and flagged time, as the API or migrations 0013
                    # and 0014's triggers would fill them
                    flagged_at = _copy_text(row["flagged_at"], False)
                    labels += [
                        f"{row['id']}\t{label}\t{row['status']}\t{flagged_at}\n" for label in row["labels"]
                    ]
                    if len(chunk) == 2000:
                        copy.write("".join(chunk))
                        chunk = []
                copy.write("".join(chunk))
            with cursor.copy("COPY flag_labels (flag_id, label, status, flagged_at) FROM STDIN") as copy:
                for i in range(0, len(labels), 20_000):
                    copy.write("".join(labels[i : i + 20_000]))
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            connection.execute(definition)
        for name, definition in keys:
            connection.execute(f'ALTER TABLE flag_labels ADD CONSTRAINT "{name}" {definition}')
        return loaded, time.perf_counter() - started


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any, as_json: bool) -> str:
    """One field in COPY's text format."""
    if value is None:
        return "\\N"
    if as_json:
        return json.dumps(value, separators=(",", ":")).translate(_COPY_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


def _seed_sqlite(database_url: str, rows: Iterator[dict[str, Any]]) -> None:
    from sqlalchemy import insert
    from triage_api.db import make_engine
    from triage_api.flags.models import Flag, FlagLabel

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 5000:
                    _insert_batch(connection, batch, insert, Flag, FlagLabel)
                    batch = []
            if batch:
                _insert_batch(connection, batch, insert, Flag, FlagLabel)
    finally:
        engine.dispose()


def _insert_batch(connection: Any, batch: list[dict[str, Any]], insert: Any, flag: Any, label: Any) -> None:
    connection.execute(insert(flag), batch)
    connection.execute(
        insert(label),
        [
            {"flag_id": r["id"], "label": lb, "status": r["status"], "flagged_at": r["flagged_at"]}
            for r in batch
            for lb in r["labels"]
        ],
    )


# --- the load -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    params: list[dict[str, Any]]
    sweep: bool = False  # a main row: measured again at each of CONCURRENCY_SWEEP and with several workers


DEPTHS = [0.10, 0.25, 0.50, 0.75, 0.99]  # of all flags


def scenarios(database_url: str) -> list[Scenario]:
    """What the desk asks for; deep pages start at cursors taken at fixed depths of the seeded data."""
    from sqlalchemy import func, select
    from triage_api.db import make_engine, make_sessionmaker
    from triage_api.flags.models import Flag
    from triage_api.flags.service import FlagPosition, FlagQuery, encode_cursor, page_statement

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as db:

            def cursor_at(depth: int, **filters: Any) -> str:
                query = FlagQuery(**filters)
                flag = db.scalars(page_statement(replace(query, offset=depth, limit=1))).first()
                assert flag is not None, f"fewer than {depth} flags for {filters}"
                return encode_cursor(FlagPosition.of(flag), query)

            count = db.scalar(select(func.count()).select_from(Flag)) or 0
            depths = [int(count * d) for d in DEPTHS]
            deep = [{"cursor": cursor_at(d)} for d in depths]
            deep_filtered = [
                {"label": "hostile", "cursor": cursor_at(count // 20, label="hostile")},
                {"status": "resolved", "cursor": cursor_at(count // 5, status="resolved")},
                {"platform": "facebook", "cursor": cursor_at(count * 3 // 10, platform="facebook")},
            ]
    finally:
        engine.dispose()
    return [
        Scenario("GET /healthz (reference: the framework alone)", "/healthz", [{}]),
        Scenario("first page of 50, unfiltered", "/api/flags", [{}], sweep=True),
        Scenario(
            "label + status",
            "/api/flags",
            [
                {"label": "urgent", "status": "new"},
                {"label": "hostile", "status": "resolved"},
                {"label": "spam", "status": "new"},
                {"label": "privacy", "status": "escalated"},
            ],
            sweep=True,
        ),
        Scenario(
            "platform + account (id or handle)",
            "/api/flags",
            [
                {"platform": "facebook", "account": "@brightwaterhealth"},
                {"platform": "instagram", "account": "ig-2002"},
                {"platform": "linkedin", "account": "brightwater-health"},
            ],
        ),
        Scenario(
            "assignee (alone, and with status)",
            "/api/flags",
            [{"assignee": "mod-03"}, {"assignee": "mod-11"}, {"assignee": "mod-07", "status": "in_review"}],
        ),
        Scenario(
            f"deep page by cursor ({depths[0]:,} to {depths[-1]:,} flags in)", "/api/flags", deep, sweep=True
        ),
        Scenario(
            "deep page by offset (the same depths; reference)", "/api/flags", [{"offset": d} for d in depths]
        ),
        Scenario("deep page by cursor, filtered (label / status / platform)", "/api/flags", deep_filtered),
        Scenario(
            "text search",
            "/api/flags",
            [
                {"q": "pharmacy"},
                {"q": "flu shot"},
                {"q": RARE_WORD},
                {"q": "useless clowns", "status": "new"},
            ],
        ),
        Scenario("dashboard queue page (HTML, counts per status)", "/", [{}]),
    ]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    single: float = 0.0
    cpu_s: float = 0.0  # the server's CPU time (all its processes and threads) while the clients ran

    def summary(self) -> dict[str, float]:
        return {
            "cpu_ms": 1000 * self.cpu_s / len(self.latencies) if self.latencies else float("nan"),
            "requests": len(self.latencies),
            "rps": len(self.latencies) / self.elapsed if self.elapsed else 0.0,
            "p50": percentile(self.latencies, 50),
            "p95": percentile(self.latencies, 95),
            "p99": percentile(self.latencies, 99),
            "errors": self.errors,
            "single": self.single,
        }


async def settle(client: httpx.AsyncClient, timeout: float = 300.0) -> None:
    """Until the server answers `/healthz` within a second: a cell that overloaded it (an open-loop rate it
    could not serve) leaves requests running whose clients gave up, and the next cell must not start behind
    them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/healthz", timeout=1.0)
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the API did not recover within {timeout:.0f} s")


async def load(
    base: str, scenario: Scenario, concurrency: int, seconds: float, stats: Stats, pid: int | None = None
) -> None:
    """`concurrency` clients asking for the scenario's requests for `seconds`, into `stats` (the first slice
    also times one request alone, after a warm-up); with `pid`, the server's CPU time meanwhile too."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20, limits=limits
    ) as client:
        if not stats.latencies:
            await settle(client)
            await client.get(scenario.path, params=scenario.params[0])  # warm the connection and the caches
            t0 = time.perf_counter()
            await client.get(scenario.path, params=scenario.params[0])
            stats.single = (time.perf_counter() - t0) * 1000
        stop_at = time.perf_counter() + seconds
        rng = random.Random(5)

        async def user() -> None:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    response = await client.get(scenario.path, params=rng.choice(scenario.params))
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                stats.latencies.append((time.perf_counter() - t0) * 1000)
                stats.errors += not ok

        started = time.perf_counter()
        cpu = cpu_seconds(pid) if pid else 0.0
        await asyncio.gather(*(user() for _ in range(concurrency)))
        stats.elapsed += time.perf_counter() - started
        if pid:
            stats.cpu_s += cpu_seconds(pid) - cpu


async def load_at_rate(
    base: str, scenario: Scenario, rate: float, seconds: float, stats: Stats, pid: int | None = None
) -> None:
    """Open loop: requests start on a fixed schedule, `rate` per second for `seconds`, whatever the answers (a
    desk's moderators do not wait for each other). Each latency counts from the request's scheduled start, so
    a server, or a client, that falls behind shows in it rather than slowing the load down."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20, limits=limits
    ) as client:
        await settle(client)
        await client.get(scenario.path, params=scenario.params[0])  # warm the connection and the caches
        rng = random.Random(5)

        async def one(due: float, params: dict[str, Any]) -> None:
            try:
                ok = (await client.get(scenario.path, params=params)).status_code == 200
            except httpx.HTTPError:
                ok = False
            stats.latencies.append((time.perf_counter() - due) * 1000)
            stats.errors += not ok

        cpu = cpu_seconds(pid) if pid else 0.0
        started = time.perf_counter()
        requests = []
        for i in range(int(rate * seconds)):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            requests.append(asyncio.create_task(one(due, rng.choice(scenario.params))))
        await asyncio.gather(*requests)
        stats.elapsed += time.perf_counter() - started
        if pid:
            stats.cpu_s += cpu_seconds(pid) - cpu


# Requests/s offered to one worker: a desk of 16 moderators paging every 0.3 to 1 s.
OPEN_RATES = (20, 50, 100)


@dataclass
class Run:
    count: int
    concurrency: int
    seconds: float
    db_kind: str
    seeded_s: float = 0.0
    indexes_s: float = 0.0
    workers: int = 2
    after: dict[str, dict[str, float]] | None = None
    before: dict[str, dict[str, float]] | None = None
    # the main rows at each number of clients: {(scenario, clients): summary}, per server
    sweep_after: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    sweep_before: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    sweep_workers: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    rated: dict[tuple[str, int], dict[str, float]] = field(
        default_factory=dict
    )  # {(scenario, rate): summary}
    rss_mb: float = 0.0


def run_api(
    count: int, concurrency: int, seconds: float, db_kind: str, reference: bool = True, workers: int = 2
) -> str:
    import logging

    for name in ("httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    run = Run(count, concurrency, seconds, db_kind, workers=workers)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        urls = [stack.enter_context(bench_database(db_kind, work, "bench"))]
        if reference:
            urls.append(stack.enter_context(bench_database(db_kind, work, "reference")))
        for n, url in enumerate(urls):  # the same rows in each (the generator is seeded)
            alembic(url, "upgrade", "head")
            loaded, indexed = seed(url, count)
            if n == 0:
                run.seeded_s, run.indexes_s = loaded, indexed
            else:
                without_queue_indexes(url)
            analyze(url)
        asyncio.run(_measure(run, urls, work))
    return report(run)


SLICES = ("after", "before", "before", "after")  # interleaved, so that load from elsewhere falls on both


def concurrency_sweep(concurrency: int) -> list[int]:
    return sorted({1, 4, concurrency})


def start_workers(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """The API under `uvicorn --workers` (several processes on one port), as a deployment would run it."""
    command = [sys.executable, "-m", "uvicorn", "triage_api.main:create_app", "--factory"]
    command += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


async def _measure(run: Run, urls: list[str], work: Path) -> None:
    from triage_bus.embedded import free_port

    plan = scenarios(urls[0])  # the same data in both databases, so the same cursors
    servers: dict[str, tuple[str, Any]] = {}
    try:
        for side, url in zip(("after", "before"), urls, strict=False):
            port = free_port()
            env = service_env(
                TRIAGE_API_DATABASE_URL=url,
                TRIAGE_API_PORT=str(port),
                TRIAGE_API_CONSUMER_ENABLED="false",
                # The seeded flags are months old: retention would purge their text (a 100,000-row UPDATE
                # during the first rows, and a text search over nothing afterwards).
                TRIAGE_API_RETENTION_DAYS="0",
                TRIAGE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
                TRIAGE_LOG_LEVEL="WARNING",
            )
            process = start_service("api", env, work / f"api-{side}.log")
            servers[side] = (f"http://127.0.0.1:{port}", process)
            await wait_ready(f"http://127.0.0.1:{port}/healthz", [process])
        sides = [side for side in SLICES if side in servers]
        results: dict[str, dict[str, Stats]] = {side: {} for side in servers}
        for scenario in plan:
            for side in sides:
                stats = results[side].setdefault(scenario.name, Stats())
                share = run.seconds / sides.count(side)
                await load(servers[side][0], scenario, run.concurrency, share, stats, servers[side][1].pid)
        run.after = {name: stats.summary() for name, stats in results["after"].items()}
        if "before" in results:
            run.before = {name: stats.summary() for name, stats in results["before"].items()}
        run.rss_mb = rss_mb(servers["after"][1].pid)
        # The main rows at 1, 4 and `concurrency` clients: latency without queueing, and the CPU per request.
        main = [scenario for scenario in plan if scenario.sweep]
        sweep: dict[str, dict[tuple[str, int], Stats]] = {side: {} for side in servers}
        for scenario in main:
            for clients in concurrency_sweep(run.concurrency):
                for side in sides:
                    stats = sweep[side].setdefault((scenario.name, clients), Stats())
                    share = run.seconds / sides.count(side)
                    await load(servers[side][0], scenario, clients, share, stats, servers[side][1].pid)
        run.sweep_after = {key: stats.summary() for key, stats in sweep["after"].items()}
        if "before" in sweep:
            run.sweep_before = {key: stats.summary() for key, stats in sweep["before"].items()}
        for scenario in main:  # the main rows at fixed request rates, on the one-worker server
            for rate in OPEN_RATES:
                stats = Stats()
                await load_at_rate(
                    servers["after"][0], scenario, rate, run.seconds, stats, servers["after"][1].pid
                )
                run.rated[(scenario.name, rate)] = stats.summary()
        if run.workers > 1:
            # Both one-worker servers stay up (idle) so that the machine is as busy as for the rows above.
            port = free_port()
            env = service_env(
                TRIAGE_API_DATABASE_URL=urls[0],
                TRIAGE_API_CONSUMER_ENABLED="false",
                TRIAGE_API_RETENTION_DAYS="0",
                TRIAGE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
                TRIAGE_LOG_LEVEL="WARNING",
            )
            process = start_workers(env, port, run.workers, work / "api-workers.log")
            servers["workers"] = (f"http://127.0.0.1:{port}", process)
            await wait_ready(f"http://127.0.0.1:{port}/healthz", [process])
            for scenario in main:
                for clients in concurrency_sweep(run.concurrency):
                    stats = Stats()
                    await load(servers["workers"][0], scenario, clients, run.seconds, stats, process.pid)
                    run.sweep_workers[(scenario.name, clients)] = stats.summary()
    except BaseException:
        for log in sorted(work.glob("api-*.log")):  # what the servers said, before the folder goes
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        stop_services([process for _, process in servers.values()])


def rated_section(run: Run) -> list[str]:
    if not run.rated:
        return []
    lines = [
        "### The main rows at a fixed request rate (open loop), one worker",
        "",
        f"{run.seconds:g} s per cell. Requests start on schedule whether or not earlier ones have been answered, "
        "as a desk's moderators would send them; latency counts from the scheduled start (what the closed-loop "
        "rows above cannot show: there, a slow answer delays the next request instead of queueing behind it). "
        "Target: p99 under 100 ms.",
        "",
        "| request | offered (requests/s) | served (requests/s) | CPU/request (ms) | p50 (ms) | p95 (ms) | p99 (ms) "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (name, rate), r in run.rated.items():
        lines.append(
            f"| {name} | {rate} | {r['rps']:.0f} | {r['cpu_ms']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} | {r['errors']:.0f} |"
        )
    return [*lines, ""]


def report(run: Run) -> str:
    assert run.after is not None
    postgres = run.db_kind == "postgresql"
    where = f"PostgreSQL (database `{BENCH_DATABASE}`)" if postgres else "SQLite"
    how = "COPY" if postgres else "batched INSERTs"
    clients = concurrency_sweep(run.concurrency)
    lines = [
        "## API queue listing under load (`triage bench api`)",
        "",
        f"Generated on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        f"{run.count:,} flags in {where}, loaded with {how} in {run.seeded_s:.1f} s"
        + (
            " into the newest schema with its secondary indexes and the labels' foreign key dropped; those "
            f"were built again in {run.indexes_s:.1f} s. Six "
            if postgres
            else ". Six "
        )
        + "accounts on four platforms, six labels (15 % of flags have two), recent flags mostly open and older "
        "ones mostly closed, twelve moderators. The API as its own process (uvicorn, one worker, retention "
        "off), authenticated by a bearer token; httpx clients (async, keep-alive) on the same machine as the "
        "server, each request picking one of the row's variants at random. Pages of 50, newest first, each "
        "with its `total` (counted up to 1,000). *CPU/request* is the server's user + system CPU time while "
        "the row ran, divided by the requests served: what a request costs, whatever the queueing.",
        "",
        f"### The main rows at {', '.join(map(str, clients))} concurrent clients",
        "",
        f"{run.seconds:g} s per cell. At one client the latency is the request's own; above that it includes "
        "waiting for the server, whose requests/s at one client on the machine's "
        f"cores is about 1,000 / (CPU/request).",
        "",
    ]
    with_reference = bool(run.sweep_before)
    head = "| request | clients | server | CPU/request (ms) | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |"
    rule = "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    if with_reference:
        head += " reference: CPU/request (ms) | requests/s | p50 (ms) | p95 (ms) | p99 (ms) |"
        rule += "---:|---:|---:|---:|---:|"
    lines += [head, rule]
    names = list(dict.fromkeys(name for name, _ in run.sweep_after))
    for name in names:
        for n in clients:
            r = run.sweep_after[(name, n)]
            line = (
                f"| {name} | {n} | one worker | {r['cpu_ms']:.1f} | {r['rps']:.0f} | {r['p50']:.1f} "
                f"| {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']:.0f} |"
            )
            if with_reference:
                b = run.sweep_before[(name, n)]
                line += f" {b['cpu_ms']:.1f} | {b['rps']:.0f} | {b['p50']:.1f} | {b['p95']:.1f} | {b['p99']:.1f} |"
            lines.append(line)
        for n in clients:
            w = run.sweep_workers.get((name, n))
            if w is None:
                continue
            line = (
                f"| {name} | {n} | {run.workers} workers | {w['cpu_ms']:.1f} | {w['rps']:.0f} | {w['p50']:.1f} "
                f"| {w['p95']:.1f} | {w['p99']:.1f} | {w['errors']:.0f} |"
            )
            if with_reference:
                line += " — | — | — | — | — |"
            lines.append(line)
    lines += [
        "",
        f"*{run.workers} workers*: `uvicorn triage_api.main:create_app --factory --workers {run.workers}` on the "
        "main database, measured after the one-worker rows (one slice each; no reference).\n"
        if run.sweep_workers
        else "",
        *rated_section(run),
        f"### Every request kind at {run.concurrency} concurrent clients",
        "",
        f"{run.seconds:g} s per row.",
        "",
    ]
    if run.before is not None:
        lines += [
            "| request | one alone (ms) | CPU/request (ms) | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors "
            "| reference: requests/s | p50 (ms) | p99 (ms) | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    else:
        lines += [
            "| request | one alone (ms) | CPU/request (ms) | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for name, r in run.after.items():
        line = (
            f"| {name} | {r['single']:.1f} | {r['cpu_ms']:.1f} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} | {r['errors']:.0f} |"
        )
        if run.before is not None:
            b = run.before[name]
            line += f" {b['rps']:.0f} | {b['p50']:.1f} | {b['p99']:.1f} | {b['errors']:.0f} |"
        lines.append(line)
    lines.append("")
    if run.before is not None:
        lines.append(
            "Reference columns: a second API process on a second copy of the same rows, its schema at the "
            "newest revision less what migration 0005 added for the queue (its downgrade, run alone): the "
            "listing's indexes of revision 0004 (`flagged_at`, `status, flagged_at`, `flag_labels.label`; no "
            "trigram index, no extended statistics); later migrations' own indexes stay. "
            "Both sides run the same listing code (keyset pages, counts capped at 1,000). Each cell's time is "
            "split into four slices, run in the order main, reference, reference, main, so that load from "
            "other work on the machine falls on both sides alike; both servers stay up throughout (idle while "
            "the other is measured)."
        )
        lines.append("")
    lines += [
        f"API process RSS at the end: {run.rss_mb:.0f} MiB. With more requests in flight than cores, latency "
        "includes queueing in the client and in the server's event loop and thread pool; the clients share "
        "the machine's cores with the server and the database.",
        "",
    ]
    return "\n".join(line for line in lines if line is not None)
