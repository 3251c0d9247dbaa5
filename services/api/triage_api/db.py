"""Database engine, sessions and migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pydantic_core
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)


def on_conflict_insert(db: Session, model: type[DeclarativeBase]) -> Any:
    """An INSERT into `model`'s table in the session's dialect, which can say ON CONFLICT (PostgreSQL, SQLite)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(cast(Table, model.__table__))


def insert_new(
    db: Session, model: type[DeclarativeBase], rows: list[dict[str, Any]], unique: str
) -> list[int]:
    """Insert `rows` (each with its `id`) in one statement, skipping those whose `unique` column is already
    stored; returns the positions of the rows inserted, in order. Of two rows with one `unique` value in the
    same call, the first is inserted; a row given twice is inserted once."""
    if not rows:
        return []
    insert = on_conflict_insert(db, model)
    # RETURNING, not rowcount: PostgreSQL reports no useful rowcount for a conflicting row, and only the ids
    # returned tell which rows were new.
    statement = insert.on_conflict_do_nothing(index_elements=[unique]).returning(insert.table.c.id)
    new_ids = set(db.execute(statement, rows).scalars().all())
    positions = []
    for position, row in enumerate(rows):
        if row["id"] in new_ids:
            new_ids.discard(row["id"])
            positions.append(position)
    return positions


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime: SQLite hands stored times back naive (they were stored as UTC), PostgreSQL in its
    session's time zone; a naive time from a request is taken as UTC too."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


T = TypeVar("T")


class Base(DeclarativeBase):
    pass


def private_sqlite_file(path: Path) -> None:
    """Create a SQLite database file readable by its owner only (it holds comment text, possibly PHI), in a
    folder of mode 0700 when the folder is new, before SQLite opens it: SQLite gives the -wal, -shm and
    -journal files it creates the database file's mode, so they are 0600 too. An existing file (and those
    beside it) is brought to 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if file.exists():
            file.chmod(0o600)


# JSON columns (a flag's labels, scores, evidence, templates) are decoded by pydantic's Rust parser, already a
# dependency: the same values as the standard `json` module, two to six times faster on these small documents,
# which every page of the queue decodes four of per flag.
JSON_DESERIALIZER = pydantic_core.from_json


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            private_sqlite_file(Path(path))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=JSON_DESERIALIZER,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # 20 kept open: with more requests in flight than kept connections, each returned overflow connection is
    # closed and the next request opens a new one (a new PostgreSQL backend); 16 at once is a busy desk.
    return create_engine(
        url, pool_pre_ping=True, pool_size=20, max_overflow=10, json_deserializer=JSON_DESERIALIZER
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_config() -> Config:
    """The Alembic configuration of the API's migrations (for `migrate`, and for tools that step through
    them)."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = migrations_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


async def until_stored(
    write: Callable[[], T],
    retry_delay: float,
    what: str,
    on_refused: Callable[[], Awaitable[T]] | None = None,
) -> T:
    """Run `write` (blocking) in a thread until the database takes it, for the bus consumers, which must not
    commit an offset before their rows are stored. An outage is retried for as long as it lasts, with capped
    exponential backoff; data the database refuses (IntegrityError, DataError) goes to `on_refused` when
    given (store one by one, dead-letter the refused) and is retried like an outage otherwise."""
    attempt = 0
    while True:
        try:
            return await asyncio.to_thread(write)
        except (IntegrityError, DataError) as exc:
            if on_refused is not None:
                return await on_refused()
            error: DBAPIError = exc
        except (OperationalError, DBAPIError) as exc:
            error = exc
        attempt += 1
        delay = min(30.0, retry_delay * 2 ** min(attempt, 5))
        log.error(
            "database unavailable, retrying %s attempt=%d delay=%.1fs error=%s",
            what,
            attempt,
            delay,
            type(error).__name__,
        )
        await asyncio.sleep(delay)
