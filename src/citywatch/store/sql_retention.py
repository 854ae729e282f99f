"""The SQL stores' retention: what the policy no longer keeps, deleted in one transaction.

A mixin of :class:`citywatch.store.sql.SqlStore`, shared by SQLite and
PostgreSQL. The policy itself (how long each kind is kept) is
:mod:`citywatch.store.retention`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from citywatch.model import IncidentStatus, StatusChange, to_epoch
from citywatch.store.base import Pruned
from citywatch.store.sql_base import Connection, SqlBase

_CLOSED = (IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE, IncidentStatus.MERGED)
_OLD_CLOSED = """
    SELECT i.id, i.doc, l.history
    FROM incidents i LEFT JOIN incident_lifecycle l ON l.incident_id = i.id
    WHERE coalesce(l.status, i.status) IN (?, ?, ?) AND i.last_seen < ?
    AND NOT EXISTS (SELECT 1 FROM incident_activity a WHERE a.incident_id = i.id AND a.at >= ?)
"""
"""Closed incidents quiet since the cutoff: no detection, comment or assignment after it."""


class _Members(msgspec.Struct):
    """The one field of an incident's document that retention reads."""

    detections: list[str] = msgspec.field(default_factory=list)


_members = msgspec.json.Decoder(type=_Members)
_history = msgspec.json.Decoder(type=list[StatusChange])


class _DryRun(Exception):  # noqa: N818 - not an error: it rolls a dry run's transaction back
    def __init__(self, pruned: Pruned) -> None:
        super().__init__("dry run")
        self.pruned = pruned


class RetentionTables(SqlBase):
    """Pruning by the retention policy."""

    def prune(
        self,
        *,
        closed_before: datetime | None,
        dead_letters_before: datetime | None,
        now: datetime,
        dry_run: bool = False,
    ) -> Pruned:
        """Delete what the retention policy no longer keeps (:meth:`Store.prune`)."""
        try:
            # exclusive: an incident upsert or status change must not slip in between
            with self._transaction(exclusive=True) as conn:
                pruned = Pruned(
                    **_closed_incidents(conn, closed_before),
                    dead_letters=0
                    if dead_letters_before is None
                    else _delete(conn, "dead_letters", "received", dead_letters_before),
                    sessions=_delete(conn, "sessions", "expires", now),
                )
                if dry_run:
                    raise _DryRun(pruned)
                return pruned
        except _DryRun as rolled_back:
            return rolled_back.pruned


def _delete(conn: Connection, table: str, column: str, before: datetime) -> int:
    sql = f"DELETE FROM {table} WHERE {column} < ?"  # noqa: S608 - fixed names, value bound
    return conn.execute(sql, (to_epoch(before),)).rowcount


def _closed_incidents(conn: Connection, before: datetime | None) -> dict[str, int]:
    """Delete the incidents closed and quiet since ``before`` with what hangs on them, and
    detections from before it that no incident holds; counts by kind."""
    if before is None:
        return {}
    cut = to_epoch(before)
    rows = conn.execute(_OLD_CLOSED, (*_CLOSED, cut, cut)).fetchall()
    gone: list[str] = []
    held: set[str] = set()  # the detections of the incidents deleted
    for incident_id, doc, history in rows:
        if history is not None and any(to_epoch(c.at) >= cut for c in _history.decode(history)):
            continue  # someone closed or reopened it since
        gone.append(incident_id)
        held.update(_members.decode(doc).detections)
    if gone:
        ids = [(i,) for i in gone]
        counts = {
            "incidents": _delete_each(conn, "incidents", "id", ids),
            "activity": _delete_each(conn, "incident_activity", "incident_id", ids),
            "playbook_runs": _delete_each(conn, "playbook_runs", "incident_id", ids),
        }
        _delete_each(conn, "incident_lifecycle", "incident_id", ids)
    else:
        counts = {}
    rows = conn.execute("SELECT id FROM detections WHERE timestamp < ?", (cut,)).fetchall()
    old = {i for (i,) in rows}
    kept: set[str] = set()  # what the incidents left hold: read only when something may go
    if old or held:
        for (doc,) in conn.execute("SELECT doc FROM incidents").fetchall():
            kept.update(_members.decode(doc).detections)
    doomed = (old | held) - kept
    counts["detections"] = _delete_each(conn, "detections", "id", [(i,) for i in sorted(doomed)])
    return counts


def _delete_each(conn: Connection, table: str, column: str, keys: Sequence[tuple[str]]) -> int:
    """Delete the rows whose ``column`` is one of ``keys``; how many went."""
    sql = f"DELETE FROM {table} WHERE {column} = ?"  # noqa: S608 - fixed names, value bound
    deleted = 0
    for key in keys:
        deleted += conn.execute(sql, key).rowcount
    return deleted
