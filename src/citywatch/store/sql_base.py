"""What every SQL store's queries stand on: a connection that takes ``?`` placeholders.

The SQLite and PostgreSQL stores share one set of queries (``sql.py``,
``sql_access.py``, ``sql_respond.py``), written in the SQL both speak:
``?`` placeholders, ``INSERT … ON CONFLICT … DO UPDATE/NOTHING``,
``RETURNING``, double-quoted identifiers. Each dialect gives this base its
connections (:meth:`SqlBase._transaction`, :meth:`SqlBase._query`) and its
own schema steps; nothing else differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import msgspec

from citywatch.bus.seal import Sealer
from citywatch.model import Alert, Detection, Incident, StatusChange


class Cursor(Protocol):
    """What the shared queries read from an executed statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A connection inside one transaction, taking SQL with ``?`` placeholders."""

    def execute(self, sql: str, parameters: Sequence[object] = (), /) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> object: ...


class SqlBase(ABC):
    """The connection hooks a dialect implements, and the helpers the shared queries use."""

    url: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._raw_sealer: Sealer | None = None
        """Seals the raw records of dead letters (None: kept as they came)."""
        self._encoder = msgspec.json.Encoder()
        self._detection_decoder = msgspec.json.Decoder(type=Detection)
        self._incident_decoder = msgspec.json.Decoder(type=Incident)
        self._inputs_decoder = msgspec.json.Decoder(type=list[str])
        self._stats_decoder = msgspec.json.Decoder(type=dict[str, int])
        self._history_decoder = msgspec.json.Decoder(type=list[StatusChange])
        self._roles_decoder = msgspec.json.Decoder(type=list[str])
        self._alert_decoder = msgspec.json.Decoder(type=Alert)

    @abstractmethod
    def _transaction(self, *, exclusive: bool = False) -> AbstractContextManager[Connection]:
        """One write transaction, committed on exit and rolled back on any error.

        ``exclusive`` transactions also run one at a time across every process
        using the database (migrations, and the incident writes that read the
        status people gave before writing). Database errors become
        :class:`~citywatch.errors.StoreError`.
        """

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Every row of one read; database errors become :class:`~citywatch.errors.StoreError`."""

    def _select(
        self,
        columns: str,
        table: str,
        clauses: list[str],
        order: str,
        params: list[object],
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """Run a SELECT built only from the stores' fixed fragments; values are bound."""
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {columns} FROM {table}{where} ORDER BY {order}"  # noqa: S608
        if limit is None and not offset:
            return self._query(sql, params)
        # without a limit, a very large one: SQLite takes OFFSET only after a LIMIT
        rows = 2**62 if limit is None else limit
        return self._query(f"{sql} LIMIT ? OFFSET ?", [*params, rows, offset])

    def _json(self, value: list[str]) -> str:
        return self._encoder.encode(value).decode()
