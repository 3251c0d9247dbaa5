"""Fresh databases for benchmarks and tests: a PostgreSQL schema of their own, dropped afterwards, and Alembic
run on a database by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4


@contextmanager
def postgres_schema(database_url: str, prefix: str) -> Iterator[str]:
    """A new schema `<prefix>_<random>` in the database at `database_url`, dropped with everything in it
    afterwards; yields a URL whose search path is that schema."""
    import psycopg

    schema = f"{prefix}_{uuid4().hex[:16]}"
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{database_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def alembic(database_url: str, action: str, revision: str) -> None:
    """`alembic upgrade|downgrade REVISION` on the API's migrations, against `database_url`."""
    from alembic import command
    from triage_api import db

    engine = db.make_engine(database_url)
    try:
        config = db.migrations_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()
