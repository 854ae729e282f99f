"""Claims: a name one process holds until it lets go or ends, a crash included.

A scale-out worker claims its consumer in the store all workers share, so that a second
worker for the same detector (two replicas, a rolling update) waits instead of taking half
of the messages into a state of its own: one attacker's attempts became two detections.
SQLite holds a claim as a lock on a file beside the database, PostgreSQL as a session
advisory lock on a connection of its own; the system lets go of either when the process
ends. A PostgreSQL server that restarts, or drops the connection, lets go of the lock
while the worker runs on: :meth:`Claim.held` tells, and the worker asks before each
checkpoint (:mod:`citywatch.scaleout.consume`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Protocol

import psycopg


class Claim(Protocol):
    """A held name (see :meth:`~citywatch.store.Store.claim`)."""

    def release(self) -> None:
        """Let the name go (idempotent)."""

    def held(self) -> bool:
        """Whether the name is still held (a lock on a dropped connection is not)."""


def claim_key(name: str) -> int:
    """The signed 64-bit key of ``name`` (an advisory lock's)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"cw-claim").digest()
    return int.from_bytes(digest, "big", signed=True)


class NoClaim:
    """A claim no other process could contest (an in-memory store's)."""

    def release(self) -> None:
        """Nothing to let go."""

    def held(self) -> bool:
        return True


class FileClaim:
    """An exclusive lock on a file (the system's ``flock``)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, beside: Path, name: str) -> FileClaim | None:
        """The lock on the file for ``name`` beside ``beside``; None when another holds it."""
        path = beside.with_name(f"{beside.name}.claim-{claim_key(name) & 0xFFFFFFFFFFFF:012x}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor lets the lock go
            self._fd = None

    def held(self) -> bool:
        return self._fd is not None  # a lock on an open descriptor stays


class SessionClaim:
    """A PostgreSQL session advisory lock, on a connection held for it alone."""

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self._conn = conn

    @classmethod
    def take(cls, url: str, name: str, timeout_s: int) -> SessionClaim | None:
        """The advisory lock for ``name``; None when another session holds it."""
        conn = psycopg.connect(url, autocommit=True, connect_timeout=timeout_s)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (claim_key(name),)).fetchone()
        if not (row and row[0]):
            conn.close()
            return None
        return cls(conn)

    def release(self) -> None:
        self._conn.close()  # the session ends, and its advisory locks with it

    def held(self) -> bool:
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
            ).fetchone()
        except psycopg.Error:  # the connection dropped, and the lock with it
            return False
        return bool(row and row[0])
