"""The SQL stores' response tables: suppressions and playbook runs, kept as JSON documents.

A mixin of :class:`citywatch.store.sql.SqlStore`, shared by SQLite and
PostgreSQL; the tables come with schema version 4.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from citywatch.model import PlaybookRun, Suppression, to_epoch
from citywatch.store.sql_base import SqlBase

_suppression = msgspec.json.Decoder(type=Suppression)
_run = msgspec.json.Decoder(type=PlaybookRun)
_encode = msgspec.json.encode


class RespondTables(SqlBase):
    """Suppressions and playbook runs."""

    def save_suppression(self, suppression: Suppression) -> None:
        """Insert or replace a suppression (ending one early saves it with an earlier expiry)."""
        row = (suppression.id, to_epoch(suppression.expires), _encode(suppression))
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO suppressions (id, expires, doc) VALUES (?, ?, ?) ON CONFLICT (id)"
                " DO UPDATE SET expires = excluded.expires, doc = excluded.doc",
                row,
            )

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
            cursor = conn.execute(
                "INSERT INTO playbook_runs (id, incident_id, playbook, started, doc)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                row,
            )
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
