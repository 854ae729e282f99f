"""The SQLite store: the embedded default, one file in the data directory.

The queries are the ones every SQL store shares (:mod:`citywatch.store.sql`);
this module gives the connection and the SQLite schema. One connection serves
every thread, guarded by a lock, and every write transaction is ``BEGIN
IMMEDIATE``, so writers run one at a time, across processes too; file
databases use WAL so readers in other processes are not blocked by a run that
is writing.

>>> store = SqliteStore("sqlite:///:memory:")
>>> store.migrate()
>>> store.save_state("demo", b"\\x00\\x01")
>>> store.load_state("demo")
b'\\x00\\x01'
>>> store.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from citywatch.errors import StoreError
from citywatch.store.claims import Claim, FileClaim, NoClaim
from citywatch.store.sql import SqlStore
from citywatch.store.sql_base import Connection

PREFIX = "sqlite:///"
"""Every SQLite URL starts with this; the rest is a path or ``:memory:``."""

MEMORY = ":memory:"

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for another process's lock before failing."""

MIGRATIONS: list[str] = [
    # 1: the initial schema. Times are REAL epoch seconds (UTC); docs are msgspec JSON.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, command TEXT NOT NULL, started REAL NOT NULL, finished REAL,
        inputs TEXT NOT NULL, stats TEXT NOT NULL  -- JSON list of paths, JSON object of counters
    );
    CREATE INDEX runs_started ON runs (started);
    CREATE TABLE detections (
        id TEXT PRIMARY KEY, timestamp REAL NOT NULL, detector TEXT NOT NULL,
        severity INTEGER NOT NULL, doc BLOB NOT NULL
    );
    CREATE INDEX detections_timestamp ON detections (timestamp);
    CREATE INDEX detections_detector_timestamp ON detections (detector, timestamp);
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, severity INTEGER NOT NULL,
        last_seen REAL NOT NULL, doc BLOB NOT NULL
    );
    CREATE INDEX incidents_status ON incidents (status);
    CREATE TABLE dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
        source TEXT NOT NULL, position INTEGER NOT NULL, stage TEXT NOT NULL,
        format TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
        raw BLOB NOT NULL, received REAL NOT NULL
    );
    CREATE INDEX dead_letters_source ON dead_letters (source);
    CREATE TABLE state (name TEXT PRIMARY KEY, blob BLOB NOT NULL, updated REAL NOT NULL);
    """,
    # 2: the operations API: incident category column, people's incident lifecycle and
    # activity, users, API tokens and sessions (SHA-256 digests only), the append-only audit log.
    """
    ALTER TABLE incidents ADD COLUMN category TEXT NOT NULL DEFAULT '';
    UPDATE incidents SET category = coalesce(json_extract(CAST(doc AS TEXT), '$.category'), '');
    CREATE INDEX incidents_last_seen ON incidents (last_seen);
    CREATE TABLE incident_lifecycle (
        incident_id TEXT PRIMARY KEY, status TEXT NOT NULL,
        history BLOB NOT NULL  -- JSON list of the StatusChanges people made
    );
    CREATE TABLE incident_activity (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL, kind TEXT NOT NULL,
        at REAL NOT NULL, by TEXT NOT NULL, text TEXT NOT NULL
    );
    CREATE INDEX incident_activity_incident ON incident_activity (incident_id, seq);
    CREATE TABLE users (
        name TEXT PRIMARY KEY, roles TEXT NOT NULL, password_hash TEXT NOT NULL,
        created REAL NOT NULL, disabled INTEGER NOT NULL
    );
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, user TEXT NOT NULL, label TEXT NOT NULL,
        roles TEXT NOT NULL, created REAL NOT NULL, expires REAL, revoked REAL
    );
    CREATE TABLE sessions (
        digest TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
        created REAL NOT NULL, expires REAL NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
        role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, request_id TEXT NOT NULL,
        outcome TEXT NOT NULL, status INTEGER NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 3: public alerts (CAP messages as msgspec JSON) and when each was published.
    """
    CREATE TABLE public_alerts (
        identifier TEXT PRIMARY KEY, sent REAL NOT NULL, published REAL, doc BLOB NOT NULL
    );
    CREATE INDEX public_alerts_sent ON public_alerts (sent);
    """,
    # 4: the response side: suppressions and playbook runs (one run per incident and playbook).
    """
    CREATE TABLE suppressions (
        id TEXT PRIMARY KEY, expires REAL NOT NULL, doc BLOB NOT NULL
    );
    CREATE TABLE playbook_runs (
        id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, playbook TEXT NOT NULL,
        started REAL NOT NULL, doc BLOB NOT NULL
    );
    CREATE UNIQUE INDEX playbook_runs_once ON playbook_runs (incident_id, playbook);
    """,
]
"""Schema steps in order: step ``i`` upgrades version ``i`` to ``i + 1``. Only ever append."""


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into single statements (``executescript`` would commit)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        yield buffer


def _connect(url: str, path: str) -> sqlite3.Connection:
    """Open and configure the connection, translating every failure to :class:`StoreError`."""
    try:
        if path != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open store {url}: {exc}", url=url) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        if path != MEMORY:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the header
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open store {url}: {exc}", url=url) from exc
    return conn


class SqliteStore(SqlStore):
    """A :class:`~citywatch.store.Store` in one SQLite database.

    Parameters
    ----------
    url
        ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
        ``sqlite:///:memory:``. Missing parent directories are created.

    Raises
    ------
    StoreError
        The URL is not a SQLite URL, or the database cannot be opened (an
        unwritable path, a file that is not a database).

    Notes
    -----
    The constructor only opens; call :meth:`migrate` (``open_store`` does)
    before use. Run times come back as aware UTC datetimes.
    """

    def __init__(self, url: str) -> None:
        if not url.startswith(PREFIX) or url == PREFIX:
            raise StoreError(
                f"not a SQLite URL: {url!r} (expected sqlite:///PATH or sqlite:///:memory:)",
                url=url,
            )
        super().__init__(url)
        self._lock = threading.Lock()
        self._conn = _connect(url, url[len(PREFIX) :])

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, exclusive: bool = False) -> Iterator[Connection]:
        """Hold the lock and one ``BEGIN IMMEDIATE`` transaction: every write is exclusive."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.rollback()
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.url}: {exc}", url=self.url) from exc

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.url}: {exc}", url=self.url) from exc

    def _migrations(self) -> Sequence[str]:
        return MIGRATIONS

    def _apply(self, conn: Connection, script: str) -> None:
        for statement in _statements(script):
            conn.execute(statement)

    def claim(self, name: str) -> Claim | None:
        """Hold ``name`` until released or this process ends (see :mod:`.claims`); None
        when another process holds it."""
        path = self.url[len(PREFIX) :]
        if path == ":memory:":
            return NoClaim()
        try:
            return FileClaim.take(Path(path), name)
        except OSError as exc:
            raise StoreError(f"store {self.url}: cannot claim {name}: {exc}", url=self.url) from exc

    def close(self) -> None:
        """Close the connection (idempotent); the store is unusable afterwards."""
        with self._lock:
            self._conn.close()
