"""The PostgreSQL store: the scale-out mode's, shared by every worker and API server.

The queries are the ones every SQL store shares (:mod:`citywatch.store.sql`);
this module gives the connections and the PostgreSQL schema, whose steps are
numbered like SQLite's. Their types keep the stores alike:

- documents are the msgspec JSON bytes in ``bytea``, exactly as SQLite keeps
  them: ``jsonb`` would reorder object keys (a detection's ``attributes`` would
  not come back as they were sent) and refuses the ``\\u0000`` escape;
- times are epoch seconds in ``double precision``, the same float SQLite keeps,
  so a time round-trips to the same microsecond in both;
- text that results are ordered by is ``COLLATE "C"``, code-point order as in
  SQLite, whatever the database's locale;
- text cannot hold U+0000 in PostgreSQL: in a text value written or looked up
  it becomes U+FFFD, so such input is neither refused nor a server error, and
  is found again by the same value (documents keep it: JSON escapes it).

Connections come from a pool (:data:`MAX_CONNECTIONS`), in autocommit for
reads, so API threads query in parallel; a connection the server dropped fails
the one call that finds it and is replaced (checking each before use would
cost every query a round trip). Each write is one transaction. Transactions that read before they
write the incidents' status take a transaction-level advisory lock, so they run
one at a time across every process, as SQLite's writers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from citywatch.errors import StoreError, masked_url
from citywatch.store.claims import Claim, SessionClaim
from citywatch.store.sql import SqlStore
from citywatch.store.sql_base import Connection

SCHEMES = ("postgresql", "postgres")
"""URL schemes of this store; the URL is libpq's, passed to it as it is."""

MAX_CONNECTIONS = 4
"""Connections one store opens at most; a query waits for a free one."""

CONNECT_TIMEOUT_S = 10
"""How long opening the store waits for the server."""

EXCLUSIVE_LOCK = 0x63697479
"""The advisory lock key of exclusive transactions (``city`` in ASCII)."""

MIGRATIONS: list[str] = [
    # 1: the initial schema.
    """
    CREATE TABLE runs (
        id text COLLATE "C" PRIMARY KEY, command text NOT NULL,
        started double precision NOT NULL, finished double precision,
        inputs text NOT NULL, stats text NOT NULL  -- JSON list of paths, JSON object of counters
    );
    CREATE INDEX runs_started ON runs (started);
    CREATE TABLE detections (
        id text COLLATE "C" PRIMARY KEY, timestamp double precision NOT NULL,
        detector text NOT NULL, severity integer NOT NULL, doc bytea NOT NULL
    );
    CREATE INDEX detections_timestamp ON detections (timestamp);
    CREATE INDEX detections_detector_timestamp ON detections (detector, timestamp);
    CREATE TABLE incidents (
        id text COLLATE "C" PRIMARY KEY, status text NOT NULL, severity integer NOT NULL,
        last_seen double precision NOT NULL, doc bytea NOT NULL
    );
    CREATE INDEX incidents_status ON incidents (status);
    CREATE TABLE dead_letters (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run_id text NOT NULL,
        source text COLLATE "C" NOT NULL, position bigint NOT NULL,
        stage text COLLATE "C" NOT NULL, format text NOT NULL, code text COLLATE "C" NOT NULL,
        reason text NOT NULL, raw bytea NOT NULL, received double precision NOT NULL
    );
    CREATE INDEX dead_letters_source ON dead_letters (source);
    CREATE TABLE state (
        name text PRIMARY KEY, blob bytea NOT NULL, updated double precision NOT NULL
    );
    """,
    # 2: the operations API: incident category column, people's incident lifecycle and
    # activity, users, API tokens and sessions (SHA-256 digests only), the append-only audit log.
    """
    ALTER TABLE incidents ADD COLUMN category text NOT NULL DEFAULT '';
    UPDATE incidents SET category = coalesce(convert_from(doc, 'UTF8')::json ->> 'category', '');
    CREATE INDEX incidents_last_seen ON incidents (last_seen);
    CREATE TABLE incident_lifecycle (
        incident_id text PRIMARY KEY, status text NOT NULL,
        history bytea NOT NULL  -- JSON list of the StatusChanges people made
    );
    CREATE TABLE incident_activity (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, incident_id text NOT NULL,
        kind text NOT NULL, at double precision NOT NULL, "by" text NOT NULL, text text NOT NULL
    );
    CREATE INDEX incident_activity_incident ON incident_activity (incident_id, seq);
    CREATE TABLE users (
        name text COLLATE "C" PRIMARY KEY, roles text NOT NULL, password_hash text NOT NULL,
        created double precision NOT NULL, disabled boolean NOT NULL
    );
    CREATE TABLE api_tokens (
        id text COLLATE "C" PRIMARY KEY, digest text NOT NULL UNIQUE, "user" text NOT NULL,
        label text NOT NULL, roles text NOT NULL, created double precision NOT NULL,
        expires double precision, revoked double precision
    );
    CREATE TABLE sessions (
        digest text PRIMARY KEY, "user" text NOT NULL, csrf text NOT NULL,
        created double precision NOT NULL, expires double precision NOT NULL
    );
    CREATE TABLE audit (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at double precision NOT NULL,
        actor text NOT NULL, role text NOT NULL, action text NOT NULL, target text NOT NULL,
        request_id text NOT NULL, outcome text NOT NULL, status integer NOT NULL
    );
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    """,
    # 3: public alerts (CAP messages as msgspec JSON) and when each was published.
    """
    CREATE TABLE public_alerts (
        identifier text COLLATE "C" PRIMARY KEY, sent double precision NOT NULL,
        published double precision, doc bytea NOT NULL
    );
    CREATE INDEX public_alerts_sent ON public_alerts (sent);
    """,
    # 4: the response side: suppressions and playbook runs (one run per incident and playbook).
    """
    CREATE TABLE suppressions (
        id text COLLATE "C" PRIMARY KEY, expires double precision NOT NULL, doc bytea NOT NULL
    );
    CREATE TABLE playbook_runs (
        id text COLLATE "C" PRIMARY KEY, incident_id text NOT NULL, playbook text NOT NULL,
        started double precision NOT NULL, doc bytea NOT NULL
    );
    CREATE UNIQUE INDEX playbook_runs_once ON playbook_runs (incident_id, playbook);
    """,
]
"""Schema steps in order, numbered like SQLite's: step ``i`` upgrades version ``i`` to ``i + 1``."""


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> bytes:
    """The shared SQL in psycopg's style: ``%s`` placeholders, a literal ``%`` doubled."""
    return sql.replace("%", "%%").replace("?", "%s").encode()


def _storable(params: Sequence[object]) -> list[object]:
    """``params`` with U+0000, which PostgreSQL text cannot hold, made U+FFFD."""
    return [p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params]


def _execute(
    conn: psycopg.Connection[Any], sql: str, params: Sequence[object]
) -> psycopg.Cursor[Any]:
    """Run shared SQL; without parameters it is sent as it is (and may hold several statements)."""
    if not params:
        return conn.execute(sql.encode())
    return conn.execute(_placeholders(sql), _storable(params))


class _Translated:
    """A pooled connection inside a transaction, taking the shared SQL's ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[object] = (), /) -> psycopg.Cursor[Any]:
        return _execute(self._conn, sql, parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql), (_storable(row) for row in rows))


class PostgresStore(SqlStore):
    """A :class:`~citywatch.store.Store` in one PostgreSQL database (or schema).

    Parameters
    ----------
    url
        A libpq URL, ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`` (or
        ``postgres://…``), with libpq's query parameters if needed:
        ``?sslmode=require``, ``?options=-csearch_path%3DSCHEMA`` for a schema
        other than ``public`` (it must exist).

    Raises
    ------
    StoreError
        The URL is not a PostgreSQL URL, or the server cannot be reached or
        refuses the login; the message says which.

    Notes
    -----
    The constructor connects; call :meth:`migrate` (``open_store`` does) before
    use. :attr:`url` is the URL without its password, for messages and logs.
    """

    def __init__(self, url: str) -> None:
        scheme = url.partition("://")[0]
        if scheme not in SCHEMES or url == f"{scheme}://":
            raise StoreError(
                f"not a PostgreSQL URL: {masked_url(url)!r} (expected postgresql://USER@HOST/DB)",
                url=url,  # StoreError masks it
            )
        super().__init__(masked_url(url))
        self._conninfo = url  # with its password: for connections of its own (a claim's)
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store {self.url}: {exc}", url=self.url) from exc
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=MAX_CONNECTIONS,
            kwargs={"autocommit": True},
            open=False,
            name="citywatch-store",
            # a connection the server ended (a restart, a failover, an administrator) is
            # replaced before use: one stale connection failed a call, and every worker died
            check=ConnectionPool.check_connection,
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            self._pool.close()
            raise StoreError(f"cannot open store {self.url}: {exc}", url=self.url) from exc

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, exclusive: bool = False) -> Iterator[Connection]:
        """One transaction on a pooled connection; ``exclusive`` takes the advisory lock first."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                if exclusive:
                    conn.execute(f"SELECT pg_advisory_xact_lock({EXCLUSIVE_LOCK:d})".encode())
                yield _Translated(conn)
        except psycopg.Error as exc:
            raise StoreError(f"store {self.url}: {exc}", url=self.url) from exc

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            with self._pool.connection() as conn:
                return _execute(conn, sql, params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"store {self.url}: {exc}", url=self.url) from exc

    def claim(self, name: str) -> Claim | None:
        """Hold ``name`` until released or this process ends (see :mod:`.claims`); None
        when another session holds it."""
        try:
            return SessionClaim.take(self._conninfo, name, CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StoreError(f"store {self.url}: cannot claim {name}: {exc}", url=self.url) from exc

    def _migrations(self) -> Sequence[str]:
        return MIGRATIONS

    def _apply(self, conn: Connection, script: str) -> None:
        conn.execute(script)

    def close(self) -> None:
        """Close the pool's connections (idempotent); the store is unusable afterwards."""
        self._pool.close()
