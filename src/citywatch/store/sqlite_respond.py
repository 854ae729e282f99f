"""The SQLite store's response tables: suppressions and playbook runs, kept as JSON documents.

A mixin of :class:`citywatch.store.sqlite.SqliteStore`, which gives it
``_transaction`` and ``_query``; the tables come with schema version 3.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from citywatch.model import PlaybookRun, Suppression, to_epoch

MIGRATION = """
CREATE TABLE suppressions (
    id TEXT PRIMARY KEY, expires REAL NOT NULL, doc BLOB NOT NULL
);
CREATE TABLE playbook_runs (
    id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, playbook TEXT NOT NULL,
    started REAL NOT NULL, doc BLOB NOT NULL
);
CREATE UNIQUE INDEX playbook_runs_once ON playbook_runs (incident_id, playbook);
"""
"""Schema step 3: suppressions and playbook runs (one run per incident and playbook)."""

_suppression = msgspec.json.Decoder(type=Suppression)
_run = msgspec.json.Decoder(type=PlaybookRun)
_encode = msgspec.json.encode


class RespondTables:
    """Suppressions and playbook runs in SQLite."""

    if TYPE_CHECKING:  # given by SqliteStore

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...

    def save_suppression(self, suppression: Suppression) -> None:
        """Insert or replace a suppression (ending one early saves it with an earlier expiry)."""
        row = (suppression.id, to_epoch(suppression.expires), _encode(suppression))
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO suppressions VALUES (?, ?, ?)", row)

    def suppressions(self, *, active_at: datetime | None = None) -> list[Suppression]:
        """Every suppression, or those still in force at ``active_at``; soonest expiry first."""
        sql, params = "SELECT doc FROM suppressions", []
        if active_at is not None:
            sql, params = f"{sql} WHERE expires > ?", [to_epoch(active_at)]
        return [
            _suppression.decode(doc)
            for (doc,) in self._query(f"{sql} ORDER BY expires, id", params)
        ]

    def add_playbook_run(self, run: PlaybookRun) -> bool:
        """Record a new run; False (nothing written) if that playbook already answers it."""
        row = (run.id, run.incident, run.playbook, to_epoch(run.started), _encode(run))
        with self._transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO playbook_runs VALUES (?, ?, ?, ?, ?)", row)
            return cursor.rowcount == 1

    def update_playbook_run(self, run: PlaybookRun) -> None:
        """Save a run's progress (its steps)."""
        with self._transaction() as conn:
            conn.execute("UPDATE playbook_runs SET doc = ? WHERE id = ?", (_encode(run), run.id))

    def playbook_run(self, run_id: str) -> PlaybookRun | None:
        """One run by id."""
        rows = self._query("SELECT doc FROM playbook_runs WHERE id = ?", (run_id,))
        return _run.decode(rows[0][0]) if rows else None

    def playbook_runs(
        self, *, incident_id: str | None = None, limit: int = 100
    ) -> list[PlaybookRun]:
        """Runs newest first, optionally of one incident."""
        where, params = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        sql = f"SELECT doc FROM playbook_runs {where} ORDER BY started DESC, id LIMIT ?"  # noqa: S608
        return [_run.decode(doc) for (doc,) in self._query(sql, [*params, limit])]
