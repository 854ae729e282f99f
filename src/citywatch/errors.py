"""The exception hierarchy of citywatch.

Every error citywatch raises derives from one root and carries where it came
from as attributes::

    CitywatchError
    ├── ConfigError          a setting or plug-in config is wrong (fail fast, says what to fix)
    ├── PluginError          a plug-in cannot be found, loaded or built
    ├── InputError           an input could not be opened or its format is unknown
    ├── StoreError           the store cannot be opened, migrated or written
    │   └── MigrationError   the schema in the store is newer than this code
    └── BusError             the NATS JetStream bus cannot be reached or refuses a request

Bad *records* are not errors: adapters turn them into dead letters
(:class:`citywatch.model.DeadLetter`) and the run goes on.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class CitywatchError(Exception):
    """Root of every error raised by citywatch."""


class ConfigError(CitywatchError):
    """A setting or a plug-in configuration is invalid.

    ``where`` names the setting or file, so the message says what to fix.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


class PluginError(CitywatchError):
    """A plug-in cannot be found, loaded or instantiated."""

    def __init__(self, message: str, *, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name!r}: {message}")
        self.kind = kind
        self.name = name


class InputError(CitywatchError):
    """An input cannot be opened or its format is not known."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class StoreError(CitywatchError):
    """The store cannot be opened, migrated or written (``url`` without its password)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = masked_url(url) if url else url


class MigrationError(StoreError):
    """The store's schema version is not one this code can use."""


class BusError(CitywatchError):
    """The scale-out bus (NATS JetStream) cannot be reached, or refused a request.

    ``url`` is the server's address, without its password.
    """

    def __init__(self, message: str, *, url: str) -> None:
        url = masked_url(url)
        super().__init__(f"{url}: {message}")
        self.url = url


def masked_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for messages and logs).

    >>> masked_url("postgresql://cw:s3cret@db.example:5432/citywatch?sslmode=require")
    'postgresql://cw:***@db.example:5432/citywatch?sslmode=require'
    >>> masked_url("postgres://db/cw?password=s3cret&application_name=api")
    'postgres://db/cw?password=***&application_name=api'
    >>> masked_url("sqlite:////var/lib/citywatch/citywatch.db")  # nothing to mask: as it was
    'sqlite:////var/lib/citywatch/citywatch.db'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        credentials, _, host = netloc.rpartition("@")
        netloc = f"{credentials.partition(':')[0]}:***@{host}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key == "password" for key, _ in pairs):
        query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url  # rebuilt, an empty host would lose its // (sqlite:////path)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
