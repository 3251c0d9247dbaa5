"""The ingest state file: where pollers keep their place across restarts, the YouTube units spent today, and
the actions ledger (what became of each `ActionRequested`); a small SQLite file (stdlib `sqlite3`). This
module owns its schema.

Why SQLite rather than a JSON file replaced atomically: every account's poller writes its own cursor after
each published page, concurrently with the others and with the YouTube quota counter. A JSON file would
have to be rewritten whole on each of those writes under a lock shared by every task; SQLite makes each
write one small transaction on one row, durable once `commit` returns (WAL, `synchronous=FULL`), and a
crash mid-write leaves the previous value. The file needs nothing installed and is easy to inspect.

Values are JSON objects owned by each poller (their shape is the poller's business); quota usage is kept
per bucket and day so a restart does not hand the day's budget back. Actions are kept by request
`event_id` (`triage_ingest.actions.ledger` says how the worker uses them) and dropped `KEEP_S` after they
started.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from triage_ingest.actions.ledger import KEEP_S, STARTED, ActionRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    platform TEXT NOT NULL,
    account TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (platform, account)
);
CREATE TABLE IF NOT EXISTS quota (
    bucket TEXT NOT NULL,
    day TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (bucket, day)
);
CREATE TABLE IF NOT EXISTS actions (
    event_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    platform_result_id TEXT,
    error TEXT,
    completion BLOB,
    started_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS actions_started_at ON actions (started_at);
"""


def _private_file(path: Path) -> None:
    """Create the state file readable by its owner only (0600, in a new folder of mode 0700) before SQLite
    opens it, so the -wal and -shm files SQLite creates with the database file's mode are 0600 too; an
    existing file and those beside it are brought to 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if file.exists():
            file.chmod(0o600)


class CursorStore:
    """Cursors by (platform, account) and quota used by (bucket, day). Calls are synchronous: each is one
    row read or one short transaction, well under a millisecond besides the fsync."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _private_file(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def get(self, platform: str, account: str) -> dict[str, Any]:
        """The stored cursor, or {} when this account was never polled (or its value is unreadable)."""
        row = self._db.execute(
            "SELECT value FROM cursors WHERE platform = ? AND account = ?", (platform, account)
        ).fetchone()
        if row is None:
            return {}
        try:
            value = json.loads(row[0])
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def put(self, platform: str, account: str, value: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO cursors (platform, account, value, updated_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)"
            " ON CONFLICT (platform, account) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (platform, account, json.dumps(value, sort_keys=True)),
        )

    def quota_used(self, bucket: str, day: str) -> int:
        row = self._db.execute(
            "SELECT used FROM quota WHERE bucket = ? AND day = ?", (bucket, day)
        ).fetchone()
        return int(row[0]) if row else 0

    def add_quota(self, bucket: str, day: str, units: int) -> int:
        """Add `units` to the day's usage (older days are dropped); returns the new total."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM quota WHERE bucket = ? AND day <> ?", (bucket, day))
            self._db.execute(
                "INSERT INTO quota (bucket, day, used) VALUES (?, ?, ?)"
                " ON CONFLICT (bucket, day) DO UPDATE SET used = used + excluded.used",
                (bucket, day, units),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.quota_used(bucket, day)

    def action_record(self, event_id: str) -> ActionRecord | None:
        row = self._db.execute(
            "SELECT state, action, dry_run, attempts, completion FROM actions WHERE event_id = ?", (event_id,)
        ).fetchone()
        if row is None:
            return None
        state, action, dry_run, attempts, completion = row
        return ActionRecord(state, action, bool(dry_run), int(attempts), completion)

    def action_started(self, event_id: str, action: str, dry_run: bool) -> None:
        """Record an attempt about to call the platform (durable before it does); old rows are dropped."""
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM actions WHERE started_at < ?", (now - KEEP_S,))
            self._db.execute(
                "INSERT INTO actions (event_id, action, state, dry_run, attempts, started_at)"
                " VALUES (?, ?, ?, ?, 1, ?)"
                " ON CONFLICT (event_id) DO UPDATE SET state = excluded.state, dry_run = excluded.dry_run,"
                " attempts = attempts + 1, platform_result_id = NULL, error = NULL, completion = NULL,"
                " finished_at = NULL",
                (event_id, action, STARTED, int(dry_run), now),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def action_finished(
        self, event_id: str, state: str, platform_result_id: str | None, error: str | None, completion: bytes
    ) -> None:
        """Record the outcome and the encoded `ActionCompleted` that reports it."""
        self._db.execute(
            "UPDATE actions SET state = ?, platform_result_id = ?, error = ?, completion = ?, finished_at = ?"
            " WHERE event_id = ?",
            (state, platform_result_id, error, completion, time.time(), event_id),
        )

    def close(self) -> None:
        self._db.close()
