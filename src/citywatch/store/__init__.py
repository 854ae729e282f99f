"""Where citywatch keeps its conclusions, chosen by URL: SQLite embedded, PostgreSQL at scale.

>>> store = open_store("sqlite:///:memory:")
>>> store.runs()
[]
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Callable

from citywatch.errors import StoreError
from citywatch.store.base import DeadLetterCount, RunInfo, Store
from citywatch.store.sqlite import SqliteStore

DEFAULT_URL = "sqlite:///citywatch-data/citywatch.db"
"""The embedded default: a SQLite file in ``citywatch-data/`` under the working directory."""


def _postgres(url: str) -> Store:
    """A :class:`~citywatch.store.postgres.PostgresStore`, its driver loaded only when used."""
    from citywatch.store.postgres import PostgresStore  # noqa: PLC0415 - ~0.2 s, scale-out only

    return PostgresStore(url)


STORES: dict[str, Callable[[str], Store]] = {
    "postgres": _postgres,
    "postgresql": _postgres,
    "sqlite": SqliteStore,
}
"""Store implementations by URL scheme."""


def open_store(url: str) -> Store:
    """Open the store at ``url`` and bring its schema up to date.

    Parameters
    ----------
    url
        ``sqlite:///PATH``, ``sqlite:///:memory:`` or
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE``; the scheme picks
        the implementation from :data:`STORES`.

    Raises
    ------
    StoreError
        The scheme is unknown, or the store cannot be opened or migrated
        (:class:`~citywatch.errors.MigrationError` when its schema is newer
        than this code).
    """
    scheme, sep, _ = url.partition(":")
    factory = STORES.get(scheme) if sep else None
    if factory is None:
        supported = ", ".join(f"{name}://" for name in sorted(STORES))
        raise StoreError(f"unknown store URL {url!r}: supported schemes are {supported}", url=url)
    store = factory(url)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


__all__ = [
    "DEFAULT_URL",
    "STORES",
    "DeadLetterCount",
    "RunInfo",
    "SqliteStore",
    "Store",
    "open_store",
]
