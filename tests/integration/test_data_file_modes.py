"""The files that hold comment text are private to their owner (issue #17): the API's SQLite database, the
ingest state file and `triage run`'s data folder are created 0600 / 0700 under a default umask (022), the
-wal and -shm files SQLite adds beside them included, and files left readable by an earlier version are
brought to 0600 when they are opened again."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from triage_api.main import create_app
from triage_bus.embedded import free_port
from triage_ingest.polling.cursors import CursorStore

from tests.integration.desk_support import AUTH
from tests.integration.test_api_consumer import running, settings
from tests.integration.test_cli_run import START_TIMEOUT, Lines, descendants, kill_leftovers, start_run

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def default_umask() -> Iterator[None]:
    """The usual umask of a shell (022), whatever the test runner's is, restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def sqlite_files(database: Path) -> dict[str, int]:
    """The mode of the database and of each -wal / -shm / -journal file beside it that exists."""
    found = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm", "-journal"))]
    return {file.name: mode(file) for file in found if file.exists()}


async def test_the_api_database_is_created_private(tmp_path: Path, default_umask: None) -> None:
    database = tmp_path / "new-folder" / "triage.db"
    app_settings = settings(f"sqlite:///{database}")
    async with running(create_app(app_settings)) as client:
        # Migrated, the bootstrap admin written, and a read through the API: the WAL files exist now.
        assert (await client.get("/api/flags", headers=AUTH)).status_code == 200
        modes = sqlite_files(database)
    assert mode(database.parent) == 0o700
    assert {"triage.db", "triage.db-wal", "triage.db-shm"} <= modes.keys()
    assert set(modes.values()) == {0o600}, modes


async def test_an_existing_readable_database_is_brought_to_0600(tmp_path: Path, default_umask: None) -> None:
    database = tmp_path / "triage.db"
    database.touch(0o644)
    (tmp_path / "triage.db-wal").touch(0o644)
    async with running(create_app(settings(f"sqlite:///{database}"))):
        modes = sqlite_files(database)
    assert set(modes.values()) == {0o600}, modes


def test_the_ingest_state_file_is_created_private(tmp_path: Path, default_umask: None) -> None:
    path = tmp_path / "state" / "ingest-poll.sqlite3"
    store = CursorStore(path)
    store.put("x", "acct-1", {"since_id": "1"})
    assert store.get("x", "acct-1") == {"since_id": "1"}
    modes = sqlite_files(path)
    assert mode(path.parent) == 0o700
    assert {"ingest-poll.sqlite3", "ingest-poll.sqlite3-wal", "ingest-poll.sqlite3-shm"} <= modes.keys()
    assert set(modes.values()) == {0o600}, modes


def test_triage_run_keeps_its_data_folder_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "triage-data"
    data_dir.mkdir(mode=0o755)  # as an earlier version left it
    data_dir.chmod(0o755)
    ports = ["--api-port", str(free_port()), "--ingest-port", str(free_port())]
    process = start_run(
        ["--no-demo", "--data-dir", str(data_dir), "--classifier-mode", "rules", *ports],
        preexec_fn=lambda: os.umask(0o022),  # a shell's usual umask
    )
    output = Lines(process.stdout)
    children: set[int] = set()
    try:
        output.wait_for(r"Dashboard:\s+http://", START_TIMEOUT)
        children = descendants(process.pid)
        folders = {
            p.relative_to(data_dir).as_posix(): mode(p)
            for p in [data_dir, *data_dir.rglob("*")]
            if p.is_dir()
        }
        files = {p.relative_to(data_dir).as_posix(): mode(p) for p in data_dir.rglob("*") if p.is_file()}
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0, output.rest()
    finally:
        kill_leftovers(process, children)
    expected = {"triage.db", "triage.db-wal", "triage.db-shm", "ingest-poll.sqlite3", "admin-password"}
    assert expected | {"run.json", "logs/api.log", "logs/ingest.log", "logs/broker.log"} <= files.keys(), (
        files
    )
    assert {name: m for name, m in files.items() if m != 0o600} == {}
    assert {".", "logs"} <= folders.keys()
    assert {name: m for name, m in folders.items() if m != 0o700} == {}
