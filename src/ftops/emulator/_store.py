"""SQLite state of the emulator: every object as JSON, in creation order, plus settings.

WAL mode and BEGIN IMMEDIATE transactions make it safe for several processes sharing a data dir;
each thread has its own connection. The clock is wall time plus an offset kept here, so advancing
time is seen by every process, and jobs progress while no process runs.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_kind ON objects (kind, seq);
-- Every job request first advances the jobs still in training (active_jobs): with thousands of finished jobs,
-- reading each one's JSON for its status cost 4 ms a request (a listing of 20 pages: 85 ms).
CREATE INDEX IF NOT EXISTS objects_job_status ON objects (json_extract(data, '$.status'), seq) WHERE kind = 'job';
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

DEFAULT_LIMITS = {
    "max_running_jobs": 3,  # per resource (Standard / GlobalStandard)
    "max_running_jobs_developer": 5,
    "max_queued_jobs": 20,
    "max_files": 50,
    "max_total_file_bytes": 1024 ** 3,
    "max_file_bytes": 512 * 1024 ** 2,
    "max_deployments": 10,  # fine-tuned deployments per resource
}


@dataclass(frozen=True)
class PageQuery:
    """A cursor page: `limit` objects after the object with id `after`, filtered by equal fields and metadata."""

    limit: int
    after: str | None = None
    newest_first: bool = False
    equal: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


BUSY_SECONDS = 30


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    """Switch the database to WAL. While another process switches a new database, SQLite answers
    SQLITE_BUSY at once, without its busy handler (two `ftops apply` starting together, each with its
    local Foundry, failed so): retry until the mode is set or BUSY_SECONDS have passed."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    def __init__(self, data_dir: Path, clock: Store | None = None) -> None:
        self.data_dir = data_dir
        # Another account's store whose clock this one reads: the accounts of one local Foundry share one
        # emulated clock (`advance` moves all of them), kept in the first account's state.
        self.clock = clock
        self.blob_dir = data_dir / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "state.sqlite3"
        self._local = threading.local()
        with self.tx() as c:  # the write lock first: two emulators starting on a new directory take turns
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            _write_ahead_log(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): one writer at a time across processes."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- objects -----------------------------------------------------------------------------
    def get(self, c: sqlite3.Connection, kind: str, oid: str) -> dict[str, Any] | None:
        row = c.execute("SELECT data FROM objects WHERE kind=? AND id=?", (kind, oid)).fetchone()
        return orjson.loads(row[0]) if row else None

    def put(self, c: sqlite3.Connection, kind: str, oid: str, data: dict[str, Any]) -> None:
        blob = orjson.dumps(data).decode()
        cur = c.execute("UPDATE objects SET data=? WHERE kind=? AND id=?", (blob, kind, oid))
        if cur.rowcount == 0:
            c.execute("INSERT INTO objects (kind, id, data) VALUES (?, ?, ?)", (kind, oid, blob))

    def delete(self, c: sqlite3.Connection, kind: str, oid: str) -> None:
        c.execute("DELETE FROM objects WHERE kind=? AND id=?", (kind, oid))

    def all(self, c: sqlite3.Connection, kind: str, newest_first: bool = False) -> list[dict[str, Any]]:
        order = "DESC" if newest_first else "ASC"
        rows = c.execute(f"SELECT data FROM objects WHERE kind=? ORDER BY seq {order}", (kind,)).fetchall()
        return [orjson.loads(r[0]) for r in rows]

    def page(self, c: sqlite3.Connection, kind: str, query: PageQuery) -> tuple[list[dict[str, Any]], bool]:
        """One page of `kind` in creation order (or newest first) after the object `query.after`, and whether
        more follow. Costs the page, not the whole listing: the cursor is the object's row, found by its id."""
        where, args = ["kind=?"], [kind]
        if query.after:
            row = c.execute("SELECT seq FROM objects WHERE kind=? AND id=?", (kind, query.after)).fetchone()
            if row is None:  # an unknown (or deleted) cursor: nothing follows it
                return [], False
            where.append("seq < ?" if query.newest_first else "seq > ?")
            args.append(row[0])
        for name, value in query.equal.items():  # a top-level string field, e.g. purpose
            where.append("json_extract(data, ?) = ?")
            args += [f'$."{name}"', value]
        for key, value in query.metadata.items():  # any key: json_each compares it exactly, quotes and all
            where.append("EXISTS (SELECT 1 FROM json_each(data, '$.metadata') WHERE key = ? AND value = ?)")
            args += [key, value]
        order = "DESC" if query.newest_first else "ASC"
        rows = c.execute(f"SELECT data FROM objects WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?",
                         (*args, query.limit + 1)).fetchall()
        return [orjson.loads(r[0]) for r in rows[:query.limit]], len(rows) > query.limit

    def totals(self, c: sqlite3.Connection, kind: str, number_field: str) -> tuple[int, int]:
        """(how many objects of `kind`, the sum of their `number_field`), counted by SQLite."""
        row = c.execute("SELECT COUNT(*), COALESCE(SUM(json_extract(data, ?)), 0) FROM objects WHERE kind=?",
                        (f'$."{number_field}"', kind)).fetchone()
        return int(row[0]), int(row[1])

    def active_jobs(self, c: sqlite3.Connection) -> list[dict[str, Any]]:
        # INDEXED BY: without statistics SQLite prefers objects_kind for the ORDER BY, and reads every job
        rows = c.execute("SELECT data FROM objects INDEXED BY objects_job_status WHERE kind='job' AND "
                         "json_extract(data, '$.status') IN ('validating_files', 'queued', 'running', 'paused') "
                         "ORDER BY seq").fetchall()
        return [orjson.loads(r[0]) for r in rows]

    def count(self, c: sqlite3.Connection, kind: str) -> int:
        return int(c.execute("SELECT COUNT(*) FROM objects WHERE kind=?", (kind,)).fetchone()[0])

    # -- settings ----------------------------------------------------------------------------
    def meta(self, c: sqlite3.Connection, key: str, default: Any = None) -> Any:
        row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else default

    def set_meta(self, c: sqlite3.Connection, key: str, value: Any) -> None:
        c.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                  (key, orjson.dumps(value).decode()))

    def now(self, c: sqlite3.Connection) -> float:
        if self.clock is not None:
            return self.clock.now(self.clock.reader())
        return time.time() + float(self.meta(c, "clock_offset", 0.0))

    def reader(self) -> sqlite3.Connection:
        """This thread's connection, for reads outside a transaction (another account's objects)."""
        return self._conn()

    def limits(self, c: sqlite3.Connection) -> dict[str, int]:
        return {**DEFAULT_LIMITS, **self.meta(c, "limits", {})}


def new_id(prefix: str, hexlen: int = 32) -> str:
    return f"{prefix}{secrets.token_hex(hexlen // 2)}"
