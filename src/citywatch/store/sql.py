"""The queries every SQL store shares: runs, detections, incidents, dead letters, state.

Detections and incidents are kept whole as msgspec JSON documents, beside the
few columns that queries filter and sort on; times are epoch seconds (UTC) in
floating-point columns, so both dialects round-trip them bit for bit. A
dialect (:class:`~citywatch.store.sqlite.SqliteStore`,
:class:`~citywatch.store.postgres.PostgresStore`) gives the connections and
its schema steps; :meth:`SqlStore.migrate` applies them the same way for both.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

import msgspec

from citywatch.bus.seal import Sealer, SealError
from citywatch.errors import MigrationError, StoreError
from citywatch.model import (
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
from citywatch.store.sql_access import AccessTables
from citywatch.store.sql_base import Connection
from citywatch.store.sql_respond import RespondTables
from citywatch.store.sql_retention import RetentionTables

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
"""Incidents with the status people gave them, if any (see :meth:`SqlStore.incident`)."""

_COUNT_INCIDENTS = "SELECT status, count(*) FROM incidents GROUP BY status"

_DEAD_LETTER_FIELDS = ("source", "position", "stage", "format", "code", "reason", "raw", "received")


class SqlStore(AccessTables, RespondTables, RetentionTables):
    """A :class:`~citywatch.store.Store` in a SQL database; a dialect subclasses it.

    Besides the connection hooks of :class:`~citywatch.store.sql_base.SqlBase`, a
    dialect gives its schema steps (:meth:`_migrations`) and how to run one
    (:meth:`_apply`).
    """

    @abstractmethod
    def _migrations(self) -> Sequence[str]:
        """The dialect's schema steps in order: step ``i`` upgrades version ``i`` to ``i + 1``."""

    @abstractmethod
    def _apply(self, conn: Connection, script: str) -> None:
        """Run one schema step (several statements, no parameters) in ``conn``'s transaction."""

    def migrate(self) -> None:
        """Apply the pending schema steps in one exclusive transaction (idempotent).

        Raises
        ------
        MigrationError
            The database was written by a newer citywatch.
        """
        migrations = self._migrations()
        latest = len(migrations)
        with self._transaction(exclusive=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)"
            )
            ((current,),) = conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_version"
            ).fetchall()
            if current > latest:
                raise MigrationError(
                    f"store {self.url} has schema version {current}, newer than version {latest}"
                    " that this citywatch knows; upgrade citywatch",
                    url=self.url,
                )
            for version in range(current + 1, latest + 1):
                self._apply(conn, migrations[version - 1])
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))

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
        offset: int = 0,
    ) -> list[Detection]:
        """Detections by ``@timestamp`` ascending; ``since`` is inclusive; ``offset`` skips."""
        clauses: list[str] = []
        params: list[object] = []
        if detector is not None:
            clauses.append("detector = ?")
            params.append(detector)
        if since is not None:
            clauses.append("timestamp >= ?")
            params.append(to_epoch(since))
        rows = self._select("doc", "detections", clauses, "timestamp, id", params, limit, offset)
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
        # exclusive: the upsert reads the status people gave, which a change may be writing
        with self._transaction(exclusive=True) as conn:
            conn.executemany(_UPSERT_INCIDENT, rows)

    def incidents(
        self,
        *,
        status: IncidentStatus | None = None,
        limit: int | None = None,
        min_severity: int | None = None,
        category: str | None = None,
        since: datetime | None = None,
        offset: int = 0,
    ) -> list[Incident]:
        """Incidents, most severe first, then most recent ``last_seen`` (``since`` bounds it);
        those merged into others only when ``status`` asks for them."""
        clauses: list[str] = []
        params: list[object] = []
        for clause, value in (
            ("i.status = ?", None if status is None else status.value),
            ("i.status <> ?", IncidentStatus.MERGED.value if status is None else None),
            ("i.severity >= ?", min_severity),
            ("i.category = ?", category),
            ("i.last_seen >= ?", None if since is None else to_epoch(since)),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        order = "i.severity DESC, i.last_seen DESC, i.id"
        rows = self._select(
            "i.doc, l.status, l.history", _INCIDENTS, clauses, order, params, limit, offset
        )
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
        with self._transaction(exclusive=True) as conn:
            rows = conn.execute(
                f"SELECT i.status, l.history FROM {_INCIDENTS} WHERE i.id = ?",  # noqa: S608
                (incident_id,),
            ).fetchall()
            if not rows:
                return None
            current, history = IncidentStatus(rows[0][0]), rows[0][1]
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
            (seq,) = conn.execute(
                'INSERT INTO incident_activity (incident_id, kind, at, "by", text)'
                " VALUES (?, ?, ?, ?, ?) RETURNING seq",
                (*row, activity.text),
            ).fetchall()
            return int(seq[0])

    def incident_activity(
        self, incident_id: str, *, kind: str | None = None
    ) -> list[IncidentActivity]:
        """An incident's comments and assignments in order of arrival."""
        clauses = ["incident_id = ?"] + ([] if kind is None else ["kind = ?"])
        params: list[object] = [incident_id] if kind is None else [incident_id, kind]
        columns = 'seq, incident_id, kind, at, "by", text'
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

    def seal_raw(self, sealer: Sealer) -> None:
        """Seal the raw records of the dead letters written from now on with ``sealer``,
        and open those it sealed when read."""
        self._raw_sealer = sealer

    def add_dead_letters(self, run_id: str, letters: Sequence[DeadLetter]) -> None:
        """Append dead letters in the order given; nothing is deduplicated."""
        with self._transaction() as conn:
            _append_dead_letters(conn, run_id, letters, self._raw_sealer)

    def dead_letters(self, *, source: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters in arrival order, optionally for one source."""
        clauses = [] if source is None else ["source = ?"]
        params: list[object] = [] if source is None else [source]
        columns = ", ".join(_DEAD_LETTER_FIELDS)
        rows = self._select(columns, "dead_letters", clauses, "seq", params, limit)
        letters = [DeadLetter(**dict(zip(_DEAD_LETTER_FIELDS, row, strict=True))) for row in rows]
        return [_opened(letter, self._raw_sealer) for letter in letters]

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
        self.save_states({name: blob})

    def save_states(
        self,
        states: Mapping[str, bytes],
        *,
        run_id: str = "",
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Checkpoint several named state blobs, and append the dead letters of what they cover,
        in one transaction: all or none."""
        now = time.time()
        with self._transaction() as conn:
            if dead_letters:
                _append_dead_letters(conn, run_id, dead_letters, self._raw_sealer)
            conn.executemany(
                "INSERT INTO state (name, blob, updated) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET blob = excluded.blob, updated = excluded.updated",
                [(name, blob, now) for name, blob in states.items()],
            )

    def load_state(self, name: str) -> bytes | None:
        """The last checkpoint saved under ``name``, or None."""
        rows = self._query("SELECT blob FROM state WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None


SEALED: Final = b"cw-sealed-1:"
"""How a sealed raw record starts in the store (one stored before sealing does not)."""
_RAW_CONTEXT: Final = b"dead-letter"
UNREADABLE: Final = b"(sealed with another key: not shown)"


def _append_dead_letters(
    conn: Connection, run_id: str, letters: Sequence[DeadLetter], sealer: Sealer | None
) -> None:
    """Append ``letters`` for run ``run_id`` in the transaction of ``conn``, in the order
    given; ``sealer`` seals each raw record (the record of a login may hold its password)."""

    def raw(letter: DeadLetter) -> bytes:
        return letter.raw if sealer is None else SEALED + sealer.seal(letter.raw, _RAW_CONTEXT)

    conn.executemany(
        "INSERT INTO dead_letters (run_id, source, position, stage, format, code,"
        " reason, raw, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, x.source, x.position, x.stage, x.format, x.code, x.reason, raw(x), x.received)
            for x in letters
        ],
    )


def _opened(letter: DeadLetter, sealer: Sealer | None) -> DeadLetter:
    """``letter`` with its raw record opened, or :data:`UNREADABLE` when no key here opens
    it (a store read without the key, or with another)."""
    raw = letter.raw
    if not raw.startswith(SEALED):
        return letter
    try:
        opened = UNREADABLE if sealer is None else sealer.open(raw[len(SEALED) :], _RAW_CONTEXT)
    except SealError:
        opened = UNREADABLE
    return msgspec.structs.replace(letter, raw=opened)
