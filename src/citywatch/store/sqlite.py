"""The SQLite store: the embedded default, one file in the data directory.

Detections and incidents are kept whole as msgspec JSON documents, beside the
few columns that queries filter and sort on. One connection serves every
thread, guarded by a lock; file databases use WAL so readers in other
processes are not blocked by a run that is writing.

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
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from citywatch.errors import MigrationError, StoreError
from citywatch.model import DeadLetter, Detection, Incident, IncidentStatus, from_epoch, to_epoch
from citywatch.store.base import DeadLetterCount, RunInfo

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
]
"""Schema steps in order: step ``i`` upgrades version ``i`` to ``i + 1``. Only ever append."""

_UPSERT_DETECTION = """
    INSERT INTO detections (id, timestamp, detector, severity, doc) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET timestamp = excluded.timestamp, detector = excluded.detector,
        severity = excluded.severity, doc = excluded.doc
"""
_UPSERT_INCIDENT = """
    INSERT INTO incidents (id, status, severity, last_seen, doc) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET status = excluded.status, severity = excluded.severity,
        last_seen = excluded.last_seen, doc = excluded.doc
"""

_DEAD_LETTER_FIELDS = ("source", "position", "stage", "format", "code", "reason", "raw", "received")


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


class SqliteStore:
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
        self.url = url
        self._lock = threading.Lock()
        self._conn = _connect(url, url[len(PREFIX) :])
        self._encoder = msgspec.json.Encoder()
        self._detection_decoder = msgspec.json.Decoder(type=Detection)
        self._incident_decoder = msgspec.json.Decoder(type=Incident)
        self._inputs_decoder = msgspec.json.Decoder(type=list[str])
        self._stats_decoder = msgspec.json.Decoder(type=dict[str, int])

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction; roll back on any error."""
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

    def _select(
        self, columns: str, table: str, clauses: list[str], order: str, params: list[object]
    ) -> list[Any]:
        """Run a SELECT built only from this module's fixed fragments; values are bound."""
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {columns} FROM {table}{where} ORDER BY {order} LIMIT ?"  # noqa: S608
        return self._query(sql, params)

    def migrate(self) -> None:
        """Apply the pending :data:`MIGRATIONS` in one transaction (idempotent).

        Raises
        ------
        MigrationError
            The database was written by a newer citywatch.
        """
        latest = len(MIGRATIONS)
        with self._transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER PRIMARY KEY, applied REAL NOT NULL)"
            )
            (current,) = conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_version"
            ).fetchone()
            if current > latest:
                raise MigrationError(
                    f"store {self.url} has schema version {current}, newer than version {latest}"
                    " that this citywatch knows; upgrade citywatch",
                    url=self.url,
                )
            for version in range(current + 1, latest + 1):
                for statement in _statements(MIGRATIONS[version - 1]):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))

    def close(self) -> None:
        """Close the connection (idempotent); the store is unusable afterwards."""
        with self._lock:
            self._conn.close()

    def begin_run(self, run: RunInfo) -> None:
        """Record that a run started; a run id already used raises :class:`StoreError`."""
        row = (
            run.id,
            run.command,
            to_epoch(run.started),
            None if run.finished is None else to_epoch(run.finished),
            self._encoder.encode(run.inputs).decode(),
            self._encoder.encode(run.stats).decode(),
        )
        with self._transaction() as conn:
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)", row)

    def finish_run(self, run_id: str, finished: datetime, stats: dict[str, int]) -> None:
        """Record that a run finished; an unknown run raises :class:`StoreError`."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE runs SET finished = ?, stats = ? WHERE id = ?",
                (to_epoch(finished), self._encoder.encode(stats).decode(), run_id),
            )
            if cursor.rowcount == 0:
                raise StoreError(f"store {self.url}: no run {run_id!r} to finish", url=self.url)

    def runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recent runs first (by start time)."""
        rows = self._query(
            "SELECT id, command, started, finished, inputs, stats FROM runs"
            " ORDER BY started DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [
            RunInfo(
                id=run_id,
                command=command,
                started=from_epoch(started),
                finished=None if finished is None else from_epoch(finished),
                inputs=self._inputs_decoder.decode(inputs),
                stats=self._stats_decoder.decode(stats),
            )
            for run_id, command, started, finished, inputs, stats in rows
        ]

    def upsert_detections(self, detections: Sequence[Detection]) -> None:
        """Insert detections, replacing any with the same id (the last of a batch wins)."""
        encode = self._encoder.encode
        rows = [
            (d.id, to_epoch(d.timestamp), d.detector, d.severity, encode(d)) for d in detections
        ]
        with self._transaction() as conn:
            conn.executemany(_UPSERT_DETECTION, rows)

    def detections(
        self,
        *,
        detector: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Detection]:
        """Detections by ``@timestamp`` ascending; ``since`` is inclusive."""
        clauses: list[str] = []
        params: list[object] = []
        if detector is not None:
            clauses.append("detector = ?")
            params.append(detector)
        if since is not None:
            clauses.append("timestamp >= ?")
            params.append(to_epoch(since))
        params.append(-1 if limit is None else limit)
        rows = self._select("doc", "detections", clauses, "timestamp, id", params)
        decode = self._detection_decoder.decode
        return [decode(doc) for (doc,) in rows]

    def detection(self, detection_id: str) -> Detection | None:
        """One detection by id, or None."""
        rows = self._query("SELECT doc FROM detections WHERE id = ?", (detection_id,))
        return self._detection_decoder.decode(rows[0][0]) if rows else None

    def upsert_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert incidents, replacing any with the same id (the last of a batch wins)."""
        encode = self._encoder.encode
        rows = [
            (i.id, i.status.value, i.severity, to_epoch(i.last_seen), encode(i)) for i in incidents
        ]
        with self._transaction() as conn:
            conn.executemany(_UPSERT_INCIDENT, rows)

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int | None = None
    ) -> list[Incident]:
        """Incidents, most severe first, then most recent ``last_seen``."""
        clauses = [] if status is None else ["status = ?"]
        params: list[object] = [] if status is None else [status.value]
        params.append(-1 if limit is None else limit)
        order = "severity DESC, last_seen DESC, id"
        rows = self._select("doc", "incidents", clauses, order, params)
        decode = self._incident_decoder.decode
        return [decode(doc) for (doc,) in rows]

    def incident(self, incident_id: str) -> Incident | None:
        """One incident by id, or None."""
        rows = self._query("SELECT doc FROM incidents WHERE id = ?", (incident_id,))
        return self._incident_decoder.decode(rows[0][0]) if rows else None

    def add_dead_letters(self, run_id: str, letters: Sequence[DeadLetter]) -> None:
        """Append dead letters in the order given; nothing is deduplicated."""
        rows = [
            (run_id, x.source, x.position, x.stage, x.format, x.code, x.reason, x.raw, x.received)
            for x in letters
        ]
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO dead_letters (run_id, source, position, stage, format, code,"
                " reason, raw, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def dead_letters(self, *, source: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters in arrival order, optionally for one source."""
        clauses = [] if source is None else ["source = ?"]
        params: list[object] = [] if source is None else [source]
        columns = ", ".join(_DEAD_LETTER_FIELDS)
        rows = self._select(columns, "dead_letters", clauses, "seq", [*params, limit])
        return [DeadLetter(**dict(zip(_DEAD_LETTER_FIELDS, row, strict=True))) for row in rows]

    def dead_letter_counts(self) -> list[DeadLetterCount]:
        """Counts per source, stage and reason code, largest first (ties by name)."""
        rows = self._query(
            "SELECT source, stage, code, count(*) AS n FROM dead_letters"
            " GROUP BY source, stage, code ORDER BY n DESC, source, stage, code"
        )
        return [
            DeadLetterCount(source=source, stage=stage, code=code, count=n)
            for source, stage, code, n in rows
        ]

    def save_state(self, name: str, blob: bytes) -> None:
        """Checkpoint one named state blob, replacing the last."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO state (name, blob, updated) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET blob = excluded.blob, updated = excluded.updated",
                (name, blob, time.time()),
            )

    def load_state(self, name: str) -> bytes | None:
        """The last checkpoint saved under ``name``, or None."""
        rows = self._query("SELECT blob FROM state WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None
