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
from citywatch.model import (
    Alert,
    DeadLetter,
    Detection,
    Incident,
    IncidentStatus,
    StatusChange,
    from_epoch,
    to_epoch,
)
from citywatch.store.base import (
    DeadLetterCount,
    IncidentActivity,
    IncidentStatusConflictError,
    RunInfo,
)
from citywatch.store.sqlite_access import AccessTables
from citywatch.store.sqlite_respond import MIGRATION as RESPOND_MIGRATION
from citywatch.store.sqlite_respond import RespondTables

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
    # 4: the response side: suppressions and playbook runs.
    RESPOND_MIGRATION,
]
"""Schema steps in order: step ``i`` upgrades version ``i`` to ``i + 1``. Only ever append."""

_UPSERT_DETECTION = """
    INSERT INTO detections (id, timestamp, detector, severity, doc) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET timestamp = excluded.timestamp, detector = excluded.detector,
        severity = excluded.severity, doc = excluded.doc
"""
_UPSERT_INCIDENT = """
    INSERT INTO incidents (id, status, severity, last_seen, doc, category) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET
        status = coalesce(
            (SELECT l.status FROM incident_lifecycle l WHERE l.incident_id = excluded.id),
            excluded.status
        ),
        severity = excluded.severity, last_seen = excluded.last_seen, doc = excluded.doc,
        category = excluded.category
"""
_INCIDENTS = "incidents i LEFT JOIN incident_lifecycle l ON l.incident_id = i.id"
"""Incidents with the status people gave them, if any (see :meth:`SqliteStore.incident`)."""

_COUNT_INCIDENTS = "SELECT status, count(*) FROM incidents GROUP BY status"

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


class SqliteStore(AccessTables, RespondTables):
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
        self._history_decoder = msgspec.json.Decoder(type=list[StatusChange])
        self._roles_decoder = msgspec.json.Decoder(type=list[str])
        self._alert_decoder = msgspec.json.Decoder(type=Alert)

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
        """Insert incidents, replacing any with the same id (the last of a batch wins).

        A status that people set through :meth:`change_incident_status` is kept.
        """
        encode = self._encoder.encode
        rows = [
            (i.id, i.status.value, i.severity, to_epoch(i.last_seen), encode(i), i.category)
            for i in incidents
        ]
        with self._transaction() as conn:
            conn.executemany(_UPSERT_INCIDENT, rows)

    def incidents(
        self,
        *,
        status: IncidentStatus | None = None,
        limit: int | None = None,
        min_severity: int | None = None,
        category: str | None = None,
        since: datetime | None = None,
    ) -> list[Incident]:
        """Incidents, most severe first, then most recent ``last_seen`` (``since`` bounds it)."""
        clauses: list[str] = []
        params: list[object] = []
        for clause, value in (
            ("i.status = ?", None if status is None else status.value),
            ("i.severity >= ?", min_severity),
            ("i.category = ?", category),
            ("i.last_seen >= ?", None if since is None else to_epoch(since)),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        params.append(-1 if limit is None else limit)
        order = "i.severity DESC, i.last_seen DESC, i.id"
        rows = self._select("i.doc, l.status, l.history", _INCIDENTS, clauses, order, params)
        return [self._incident(*row) for row in rows]

    def incident(self, incident_id: str) -> Incident | None:
        """One incident by id, or None."""
        rows = self._query(
            f"SELECT i.doc, l.status, l.history FROM {_INCIDENTS} WHERE i.id = ?",  # noqa: S608
            (incident_id,),
        )
        return self._incident(*rows[0]) if rows else None

    def _incident(self, doc: bytes, status: str | None, history: bytes | None) -> Incident:
        """The stored incident with the status and history entries people gave it."""
        found = self._incident_decoder.decode(doc)
        if status is None or history is None:
            return found
        changes = [*found.history, *self._history_decoder.decode(history)]
        changes.sort(key=lambda change: to_epoch(change.at))
        return msgspec.structs.replace(found, status=IncidentStatus(status), history=changes)

    def change_incident_status(
        self, incident_id: str, change: StatusChange, *, expected: IncidentStatus
    ) -> Incident | None:
        """Move an incident from ``expected`` to ``change.status`` atomically.

        Raises
        ------
        IncidentStatusConflictError
            The incident's status is not ``expected``; nothing is written.
        """
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT i.status, l.history FROM {_INCIDENTS} WHERE i.id = ?",  # noqa: S608
                (incident_id,),
            ).fetchone()
            if row is None:
                return None
            current, history = IncidentStatus(row[0]), row[1]
            if current != expected:
                raise IncidentStatusConflictError(incident_id, expected, current, url=self.url)
            changes = [*(self._history_decoder.decode(history) if history else []), change]
            conn.execute(
                "INSERT INTO incident_lifecycle VALUES (?, ?, ?) ON CONFLICT(incident_id)"
                " DO UPDATE SET status = excluded.status, history = excluded.history",
                (incident_id, change.status.value, self._encoder.encode(changes)),
            )
            conn.execute(
                "UPDATE incidents SET status = ? WHERE id = ?", (change.status.value, incident_id)
            )
        return self.incident(incident_id)

    def add_incident_activity(self, activity: IncidentActivity) -> int:
        """Append a comment or an assignment; returns its ``seq``."""
        row = (activity.incident_id, activity.kind, to_epoch(activity.at), activity.by)
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO incident_activity (incident_id, kind, at, by, text)"
                " VALUES (?, ?, ?, ?, ?)",
                (*row, activity.text),
            )
            return int(cursor.lastrowid or 0)

    def incident_activity(
        self, incident_id: str, *, kind: str | None = None
    ) -> list[IncidentActivity]:
        """An incident's comments and assignments in order of arrival."""
        clauses = ["incident_id = ?"] + ([] if kind is None else ["kind = ?"])
        params: list[object] = [incident_id] + ([] if kind is None else [kind]) + [-1]
        columns = "seq, incident_id, kind, at, by, text"
        rows = self._select(columns, "incident_activity", clauses, "seq", params)
        return [
            IncidentActivity(seq=seq, incident_id=inc, kind=k, at=from_epoch(at), by=by, text=text)
            for seq, inc, k, at, by, text in rows
        ]

    def detection_counts(self) -> dict[str, int]:
        """How many detections each detector has in the store."""
        rows = self._query("SELECT detector, count(*) FROM detections GROUP BY detector")
        return {detector: n for detector, n in rows}

    def incident_counts(self) -> dict[str, int]:
        """How many incidents are in each status."""
        return {status: n for status, n in self._query(_COUNT_INCIDENTS)}

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

    def _json(self, value: list[str]) -> str:
        return self._encoder.encode(value).decode()
