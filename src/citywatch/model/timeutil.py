"""Event time helpers: internally seconds since the epoch (UTC), ISO 8601 at the edges."""

from __future__ import annotations

from datetime import UTC, datetime


def from_epoch(ts: float) -> datetime:
    """An aware UTC datetime from epoch seconds.

    >>> from_epoch(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(ts, tz=UTC)


def to_epoch(value: datetime) -> float:
    """Epoch seconds from a datetime; a naive datetime is taken as UTC.

    >>> to_epoch(datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    60.0
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def parse_iso(text: str) -> float:
    """Epoch seconds from an ISO 8601 string with offset or ``Z``; naive means UTC.

    Raises ``ValueError`` with the offending text when it is not a date.

    >>> parse_iso("2026-03-01T10:00:00.250Z")
    1772359200.25
    """
    value = datetime.fromisoformat(text)
    return to_epoch(value)
