r"""``zeek-conn``: Zeek ``conn.log``, as TSV with its ``#`` header or as JSON lines.

The form is detected per line: ``{`` starts a JSON record (Zeek's JSON writer,
``ts`` as epoch seconds or ISO 8601), ``#`` a header line, anything else a TSV
data line. The TSV header sets the field separator (``#separator \x09``), the
``#unset_field`` and ``#empty_field`` markers and, with ``#fields``, the column
order; until a ``#fields`` line, Zeek's default conn.log columns are assumed.
``#set_separator`` matters to no column kept here; ``#path``, ``#types``,
``#open``, ``#close`` and other ``#`` lines are ignored. Header lines yield
nothing; every other non-blank line yields one event or one dead letter.

Unset and empty values (``-``, ``(empty)``, an empty column) become None. A data
line with fewer columns than the header names is a dead letter; columns after
the named ones are ignored. IoT-23 labelled logs write their ``label`` and
``detailed-label`` columns separated by spaces inside the last tab-separated
column, in the ``#fields`` line as in the data; such a column is split on
whitespace when that makes the counts agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

import msgspec

from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter
from citywatch.ingest.fields import (
    MissingFieldError,
    decode_json_text,
    decode_text,
    parse_ip,
    parse_port,
    parse_time,
)
from citywatch.model import Connection, DeadLetter, Event

DATASET = "network.conn"

DEFAULT_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
)  # fmt: skip
"""Zeek's conn.log columns, in the order it writes them."""

_USED = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "resp_pkts",
    "orig_ip_bytes", "resp_ip_bytes",
)  # fmt: skip
_NULLS = ("-", "(empty)", "")
_COUNT_MAX = (1 << 63) - 1

_decode = msgspec.json.Decoder().decode


class _Layout:
    """The TSV header state of one input: separator, null markers, column positions."""

    def __init__(self) -> None:
        self.sep = "\t"
        self.unset = "-"
        self.empty = "(empty)"
        self.custom_nulls: frozenset[str] = frozenset()  # markers beyond _NULLS
        self.explicit = False
        self.set_fields(DEFAULT_FIELDS)

    def set_fields(self, names: Sequence[str]) -> None:
        self.width = len(names)
        position: dict[str, int] = {}
        for i, name in enumerate(names):
            position.setdefault(name, i)
        self.used = tuple(name for name in _USED if name in position)
        self.columns = tuple(position[name] for name in self.used)

    def set_nulls(self) -> None:
        self.custom_nulls = frozenset((self.unset, self.empty)).difference(_NULLS)

    def header(self, line: str) -> None:
        """Take in one ``#`` line; malformed or unknown ones change nothing."""
        if line.startswith("#separator"):
            value = _unescape(line[len("#separator") + 1 :])
            if value:
                self.sep = value
            return
        key, _, rest = line.partition(self.sep)
        if key == "#fields":
            names = [name for column in rest.split(self.sep) for name in column.split()]
            if names:
                self.explicit = True
                self.set_fields(names)
        elif key == "#unset_field" and rest:
            self.unset = rest
            self.set_nulls()
        elif key == "#empty_field" and rest:
            self.empty = rest
            self.set_nulls()

    def record(self, line: str) -> dict[str, object]:
        """The used columns of a data line by name (``-`` and ``(empty)`` are left to _event)."""
        parts = line.split(self.sep)
        found = len(parts)
        if 1 < found < self.width and " " in parts[-1]:  # IoT-23 space-separated labels
            parts[-1:] = parts[-1].split()
        if len(parts) < self.width:
            origin = "#fields" if self.explicit else "Zeek's default conn.log columns"
            raise ValueError(
                f"line has {found} fields, expected {self.width} (per {origin}); "
                "truncated line or wrong #separator?"
            )
        rec: dict[str, object] = dict(zip(self.used, [parts[i] for i in self.columns], strict=True))
        if self.custom_nulls:
            nulls = self.custom_nulls
            return {name: None if value in nulls else value for name, value in rec.items()}
        return rec


def _unescape(value: str) -> str:
    r"""The ``#separator`` value: ``\x09`` escapes decoded, a literal character kept."""
    if not value.startswith("\\x"):
        return value
    try:
        return bytes.fromhex(value.replace("\\x", "")).decode("latin-1")
    except ValueError:
        return ""


class ZeekConnAdapter(Adapter):
    """Zeek conn.log, TSV (with or without its header) or JSON, detected per line."""

    name: ClassVar[str] = "zeek-conn"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "Zeek conn.log, TSV with its #fields header or JSON lines"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        layout = _Layout()
        for lineno, raw in enumerate(lines, 1):
            if len(raw) > MAX_RECORD_BYTES:
                yield self.dead_letter(
                    source, lineno, "too-long", f"line of {len(raw)} bytes exceeds the limit", raw
                )
                continue
            text = decode_text(raw)
            stripped = text.strip()
            if not stripped:
                continue
            if stripped[0] == "#":
                layout.header(text.lstrip().rstrip("\r\n"))
                continue
            yield self._record(source, lineno, raw, text, layout, is_json=stripped[0] == "{")

    def _record(
        self, source: str, lineno: int, raw: bytes, text: str, layout: _Layout, *, is_json: bool
    ) -> Event | DeadLetter:
        """One event or dead letter for a data line (JSON or TSV)."""
        rec: object
        if is_json:
            try:
                rec = _decode(decode_json_text(raw).strip())
            except msgspec.DecodeError as exc:
                return self.dead_letter(source, lineno, "bad-json", f"invalid JSON: {exc}", raw)
            if not isinstance(rec, dict):
                return self.dead_letter(
                    source, lineno, "bad-json", "line is not a JSON object", raw
                )
        else:
            try:
                rec = layout.record(text.rstrip("\r\n"))
            except ValueError as exc:
                return self.dead_letter(source, lineno, "bad-line", str(exc), raw)
        try:
            return _event(rec, source)
        except MissingFieldError as exc:
            return self.dead_letter(source, lineno, "missing-field", str(exc), raw)
        except ValueError as exc:
            return self.dead_letter(source, lineno, "bad-field", str(exc), raw)


def _event(rec: dict[str, object], source: str) -> Event:
    """The event for one conn record (TSV columns or JSON object) by Zeek field name."""
    uid = _text(rec, "uid")
    if uid is None:
        raise MissingFieldError("missing field 'uid': a conn record needs Zeek's connection uid")
    ts = parse_time(_required(rec, "ts"))
    proto = _text(rec, "proto")
    if proto is None:
        raise MissingFieldError("missing field 'proto'")
    orig_ip, orig_port = _endpoint(rec, "id.orig_h", "id.orig_p")
    resp_ip, resp_port = _endpoint(rec, "id.resp_h", "id.resp_p")
    return Event(
        id=uid,
        timestamp=ts,
        dataset=DATASET,
        observer=source,
        source_ip=orig_ip,
        source_port=orig_port,
        destination_ip=resp_ip,
        destination_port=resp_port,
        payload=Connection(
            uid=uid,
            proto=proto,
            service=_text(rec, "service"),
            duration=_duration(rec.get("duration")),
            orig_bytes=_count(rec, "orig_bytes"),
            resp_bytes=_count(rec, "resp_bytes"),
            conn_state=_text(rec, "conn_state"),
            history=_text(rec, "history"),
            orig_pkts=_count(rec, "orig_pkts"),
            resp_pkts=_count(rec, "resp_pkts"),
            orig_ip_bytes=_count(rec, "orig_ip_bytes"),
            resp_ip_bytes=_count(rec, "resp_ip_bytes"),
        ),
    )


def _required(rec: dict[str, object], key: str) -> object:
    value = rec.get(key)
    if value is None or value in _NULLS:
        raise MissingFieldError(f"missing field {key!r}")
    return value


def _endpoint(rec: dict[str, object], host_key: str, port_key: str) -> tuple[str, int]:
    host = _required(rec, host_key)
    port = _required(rec, port_key)
    try:
        return parse_ip(host), parse_port(port)
    except ValueError as exc:
        raise ValueError(f"{exc} (in {host_key}/{port_key})") from None


def _text(rec: dict[str, object], key: str) -> str | None:
    value = rec.get(key)
    if type(value) is str:  # decoded JSON or TSV: exact types
        return None if value in _NULLS else value
    if value is None:
        return None
    raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")


def _count(rec: dict[str, object], key: str) -> int | None:
    value = rec.get(key)
    if value is None:
        return None
    if type(value) is str:
        if value.isdigit() and value.isascii() and len(value) <= 19:
            count = int(value)
            if count <= _COUNT_MAX:
                return count
        elif value in _NULLS:
            return None
    elif type(value) is int and 0 <= value <= _COUNT_MAX:
        return value
    raise ValueError(f"field {key!r} is {value!r:.40}, expected a count (an integer 0 to 2**63-1)")


def _duration(value: object) -> float | None:
    if value is None or value in _NULLS:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"field 'duration' is {value!r:.40}, expected seconds") from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"field 'duration' is {value!r:.40}, expected finite seconds >= 0")
    return seconds
