"""``zone-counts``: people-related counts per venue zone per interval, CSV or JSON lines.

Each record (FORMATS.md) is ``time, venue, zone, source, count, interval_s``:
``time`` is the start of the interval (ISO 8601 or epoch seconds),
``source`` one of :data:`~citywatch.model.payloads.CROWD_SOURCES`, ``count``
a number >= 0 for the interval, ``interval_s`` its length (default 60). The
input is CSV with a header when its first non-blank line does not start
with ``{``, JSON lines otherwise.

A feed that sees device identifiers (Wi-Fi MACs, IMSIs) may send them
instead of a count, as ``devices`` (a JSON list, or ``;``-separated in CSV).
The adapter then hashes each identifier with a salt that is random, held in
memory only and replaced for every interval, counts the distinct hashes and
drops the identifiers and hashes: only the count goes on. The same device
can therefore never be linked across intervals. A dead letter's raw bytes
from this adapter have anything that looks like a MAC or an IMSI masked, and
a record that carried ``devices`` is not kept at all.

>>> line = b'{"time": 0, "venue": "v", "zone": "z", "source": "wifi", "devices": ["a", "b", "a"]}'
>>> (event,) = ZoneCountsAdapter().parse("f", [line])
>>> event.payload.count, event.payload.interval_s
(2.0, 60.0)
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Iterable, Iterator
from typing import ClassVar

import msgspec

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import MissingFieldError, parse_time
from citywatch.ingest.tables import table_records
from citywatch.model import DeadLetter, Event
from citywatch.model.payloads import CROWD_SOURCES, ZoneCount

MAX_NAME = 128
"""Longest venue, zone or gate id."""
MAX_COUNT = 10_000_000.0
_IDENTIFIER = re.compile(
    rb"(?:[0-9A-Fa-f]{2}[:.-]){5}[0-9A-Fa-f]{2}|(?<![0-9A-Fa-f])[0-9A-Fa-f]{12}(?![0-9A-Fa-f])"
    rb"|(?<!\d)\d{14,15}(?!\d)"
)
_SEPARATORS = re.compile(r"[\s:.\-]")
DROPPED = b"<record with device identifiers: not kept>"
"""The raw bytes kept in a dead letter of a record that listed device identifiers."""


def mask_identifiers(raw: bytes) -> bytes:
    """``raw`` with MAC- and IMSI-like values replaced by ``<id>``.

    >>> mask_identifiers(b"x,AA:BB:CC:DD:EE:FF,262011234567890")
    b'x,<id>,<id>'
    """
    return _IDENTIFIER.sub(b"<id>", raw)


def text_field(rec: dict[str, object], name: str) -> str:
    """A required id-like text field."""
    value = rec.get(name)
    if value is None or value == "":
        raise MissingFieldError(f"missing {name!r}")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"{name!r} must be text")
    text = str(value)
    if len(text) > MAX_NAME:
        raise ValueError(f"{name!r} longer than {MAX_NAME} characters")
    return text


def number_field(rec: dict[str, object], name: str, *, default: float | None = None) -> float:
    """A finite number >= 0 (numeric text allowed)."""
    value = rec.get(name)
    if value is None or value == "":
        if default is None:
            raise MissingFieldError(f"missing {name!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name!r} must be a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{name!r} must be a number, got {str(value)[:20]!r}") from None
    if not 0 <= number <= MAX_COUNT:  # also rejects NaN
        raise ValueError(f"{name!r} must be between 0 and {MAX_COUNT:.0f}")
    return number


def time_field(rec: dict[str, object]) -> float:
    """``time``: ISO 8601 or epoch seconds."""
    value = rec.get("time")
    if value is None or value == "":
        raise MissingFieldError("missing 'time'")
    return parse_time(value)


def interval_field(rec: dict[str, object]) -> float:
    """``interval_s``: seconds, > 0 and at most a day; 60 when absent."""
    interval = number_field(rec, "interval_s", default=60.0)
    if not 0 < interval <= 86400:
        raise ValueError("'interval_s' must be > 0 and at most 86400")
    return interval


class _RotatingSalt:
    """A random salt per interval, in memory only; older intervals' salts are forgotten."""

    def __init__(self) -> None:
        self._salts: dict[int, bytes] = {}

    def digest(self, bucket: int, identifier: str) -> bytes:
        salt = self._salts.get(bucket)
        if salt is None:
            if len(self._salts) >= 4:
                del self._salts[min(self._salts)]
            salt = self._salts[bucket] = secrets.token_bytes(16)
        canonical = _SEPARATORS.sub("", identifier.lower())  # one MAC, however it is written
        return hashlib.blake2b(canonical.encode(), key=salt, digest_size=8).digest()


class ZoneCountsAdapter(Adapter):
    """Counts per venue zone per interval (CSV or JSON lines), device identifiers counted away."""

    name: ClassVar[str] = "zone-counts"
    dataset: ClassVar[str] = "crowd.zone"
    description: ClassVar[str] = "people/device counts per venue zone per interval (CSV or JSONL)"

    def __init__(self, config: object | None = None) -> None:
        super().__init__(None)
        self._salt = _RotatingSalt()

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        for item in table_records(self, source, lines):
            if isinstance(item, DeadLetter):
                yield _masked(item)
                continue
            lineno, raw, rec = item
            devices = rec.pop("devices", None)
            if devices == "":
                devices = None
            try:
                yield self._event(source, lineno, rec, devices)
            except ValueError as exc:
                letter = self.field_error(source, lineno, raw, exc)
                if devices is not None:
                    yield _replace_raw(letter, DROPPED)
                else:
                    yield _masked(letter)

    def _event(self, source: str, lineno: int, rec: dict[str, object], devices: object) -> Event:
        ts = time_field(rec)
        kind = text_field(rec, "source")
        if kind not in CROWD_SOURCES:
            raise ValueError(f"'source' must be one of {', '.join(CROWD_SOURCES)}")
        interval = interval_field(rec)
        if devices is not None:
            if "count" in rec and rec["count"] not in (None, ""):
                raise ValueError("give 'count' or 'devices', not both")
            count = float(self._distinct(ts, interval, devices))
        else:
            count = number_field(rec, "count")
        rid = rec.get("id")
        return Event(
            id=str(rid)[:MAX_NAME]
            if isinstance(rid, str | int) and rid != ""
            else f"{source}:{lineno}",
            timestamp=ts,
            dataset=self.dataset,
            observer=kind,
            payload=ZoneCount(
                venue=text_field(rec, "venue"),
                zone=text_field(rec, "zone"),
                source=kind,
                count=count,
                interval_s=interval,
            ),
        )

    def _distinct(self, ts: float, interval: float, devices: object) -> int:
        """How many distinct identifiers, through this interval's salted hashes."""
        if isinstance(devices, str):
            items: list[object] = [d for d in devices.split(";") if d.strip()]
        elif isinstance(devices, list):
            items = devices
        else:
            raise ValueError("'devices' must be a list of identifiers")
        bucket = math.floor(ts / interval)
        hashes = set()
        for item in items:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise ValueError("'devices' must hold text identifiers")
            hashes.add(self._salt.digest(bucket, str(item)))
        return len(hashes)


def _masked(letter: DeadLetter) -> DeadLetter:
    return _replace_raw(letter, mask_identifiers(letter.raw))


def _replace_raw(letter: DeadLetter, raw: bytes) -> DeadLetter:
    reason = mask_identifiers(letter.reason.encode()).decode()
    return msgspec.structs.replace(letter, raw=raw, reason=reason)
