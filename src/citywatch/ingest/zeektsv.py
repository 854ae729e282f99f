r"""What the Zeek adapters share: TSV logs with their ``#`` header, JSON lines, Zeek's field values.

The form is detected per line: ``{`` starts a JSON record (Zeek's JSON writer,
``ts`` as epoch seconds or ISO 8601), ``#`` a header line, anything else a TSV
data line. The TSV header sets the field separator (``#separator \x09``), the
set separator (``#set_separator``), the ``#unset_field`` and ``#empty_field``
markers and, with ``#fields``, the column order; until a ``#fields`` line, the
log's default columns are assumed. ``#path``, ``#types``, ``#open``,
``#close`` and other ``#`` lines are ignored. Header lines yield nothing;
every other non-blank line yields one event or one dead letter.

Unset and empty values (``-``, ``(empty)``, an empty column) become None. A data
line with fewer columns than the header names is a dead letter; columns after
the named ones are ignored. IoT-23 labelled logs write their ``label`` and
``detailed-label`` columns separated by spaces inside the last tab-separated
column, in the ``#fields`` line as in the data; such a column is split on
whitespace when that makes the counts agree.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
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
from citywatch.model import DeadLetter, Event, Payload

NULLS = ("-", "(empty)", "")
"""Zeek's default unset and empty markers, and an empty column."""

COUNT_MAX = (1 << 63) - 1

_decode = msgspec.json.Decoder().decode


class Layout:
    """The TSV header state of one input: separators, null markers, column positions."""

    def __init__(self, default_fields: Sequence[str], used: Sequence[str], log_name: str) -> None:
        self.sep = "\t"
        self.set_sep = ","
        self.unset = "-"
        self.empty = "(empty)"
        self.custom_nulls: frozenset[str] = frozenset()  # markers beyond NULLS
        self.explicit = False
        self._all_used = tuple(used)
        self._log_name = log_name
        self.set_fields(default_fields)

    def set_fields(self, names: Sequence[str]) -> None:
        self.width = len(names)
        position: dict[str, int] = {}
        for i, name in enumerate(names):
            position.setdefault(name, i)
        self.used = tuple(name for name in self._all_used if name in position)
        self.columns = tuple(position[name] for name in self.used)
        self._pick = _picker(self.columns)
        """The used columns of a split line, in the order of :attr:`used`."""

    def set_nulls(self) -> None:
        self.custom_nulls = frozenset((self.unset, self.empty)).difference(NULLS)

    def header(self, line: str) -> None:
        """Take in one ``#`` line; malformed or unknown ones change nothing."""
        if line.startswith("#separator"):
            value = unescape(line[len("#separator") + 1 :])
            if value:
                self.sep = value
            return
        key, _, rest = line.partition(self.sep)
        if key == "#fields":
            names = [name for column in rest.split(self.sep) for name in column.split()]
            if names:
                self.explicit = True
                self.set_fields(names)
        elif key == "#set_separator" and rest:
            self.set_sep = unescape(rest) or self.set_sep
        elif key == "#unset_field" and rest:
            self.unset = rest
            self.set_nulls()
        elif key == "#empty_field" and rest:
            self.empty = rest
            self.set_nulls()

    def record(self, line: str) -> dict[str, object]:
        """The used columns of a data line by name (``-``, ``(empty)`` left to the caller)."""
        parts = line.split(self.sep)
        found = len(parts)
        if 1 < found < self.width and " " in parts[-1]:  # IoT-23 space-separated labels
            parts[-1:] = parts[-1].split()
        if len(parts) < self.width:
            origin = "#fields" if self.explicit else f"Zeek's default {self._log_name} columns"
            raise ValueError(
                f"line has {found} fields, expected {self.width} (per {origin}); "
                "truncated line or wrong #separator?"
            )
        rec: dict[str, object] = dict(zip(self.used, self._pick(parts), strict=True))
        if self.custom_nulls:
            nulls = self.custom_nulls
            return {name: None if value in nulls else value for name, value in rec.items()}
        return rec


def _picker(columns: tuple[int, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """The values at ``columns`` of a split line, as a tuple (in C for two or more)."""
    if len(columns) > 1:
        return itemgetter(*columns)
    return lambda parts: tuple(parts[i] for i in columns)


def unescape(value: str) -> str:
    r"""A separator value from the header: ``\x09`` escapes decoded, a literal character kept.

    >>> unescape("\\x09"), unescape("|")
    ('\t', '|')
    """
    if not value.startswith("\\x"):
        return value
    try:
        return bytes.fromhex(value.replace("\\x", "")).decode("latin-1")
    except ValueError:
        return ""


class ZeekAdapter(Adapter):
    """A Zeek log, TSV (with or without its header) or JSON, detected per line.

    Subclasses name the log's default columns, the columns they use, and make
    the event from one record (TSV columns or a JSON object, by Zeek field name).
    """

    default_fields: ClassVar[tuple[str, ...]]
    used_fields: ClassVar[tuple[str, ...]]
    log_name: ClassVar[str]

    @abstractmethod
    def event(self, rec: dict[str, object], source: str, layout: Layout) -> Event:
        """The event for one record; ValueError (or MissingFieldError) says what is wrong."""

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        layout = Layout(self.default_fields, self.used_fields, self.log_name)
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
        self, source: str, lineno: int, raw: bytes, text: str, layout: Layout, *, is_json: bool
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
            return self.event(rec, source, layout)
        except MissingFieldError as exc:
            return self.dead_letter(source, lineno, "missing-field", str(exc), raw)
        except ValueError as exc:
            return self.dead_letter(source, lineno, "bad-field", str(exc), raw)


def flow_event(
    rec: dict[str, object],
    source: str,
    dataset: str,
    uid_needed: str,
    payload: Callable[[str, str], Payload],
) -> Event:
    """The event of one Zeek record: its uid, time, protocol and endpoints, then its payload.

    Every Zeek log of a flow has these; ``payload(uid, proto)`` reads the
    log's own fields once they are checked. ``uid_needed`` says why a record
    without a uid is refused (which log, which uid).
    """
    uid = text_field(rec, "uid")
    if uid is None:
        raise MissingFieldError(f"missing field 'uid': {uid_needed}")
    ts = parse_time(required(rec, "ts"))
    proto = text_field(rec, "proto")
    if proto is None:
        raise MissingFieldError("missing field 'proto'")
    orig_ip, orig_port = endpoint(rec, "id.orig_h", "id.orig_p")
    resp_ip, resp_port = endpoint(rec, "id.resp_h", "id.resp_p")
    return Event(
        id=uid,
        timestamp=ts,
        dataset=dataset,
        observer=source,
        source_ip=orig_ip,
        source_port=orig_port,
        destination_ip=resp_ip,
        destination_port=resp_port,
        payload=payload(uid, proto),
    )


def required(rec: dict[str, object], key: str) -> object:
    """The value of a field that must be set (``-``, ``(empty)`` and absent are missing)."""
    value = rec.get(key)
    if value is None or value in NULLS:
        raise MissingFieldError(f"missing field {key!r}")
    return value


def endpoint(rec: dict[str, object], host_key: str, port_key: str) -> tuple[str, int]:
    """An address and port that must both be set, e.g. ``id.orig_h``/``id.orig_p``."""
    host = required(rec, host_key)
    port = required(rec, port_key)
    try:
        return parse_ip(host), parse_port(port)
    except ValueError as exc:
        raise ValueError(f"{exc} (in {host_key}/{port_key})") from None


def text_field(rec: dict[str, object], key: str) -> str | None:
    """A string field, None where unset."""
    value = rec.get(key)
    if type(value) is str:  # decoded JSON or TSV: exact types
        return None if value in NULLS else value
    if value is None:
        return None
    raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")


def count_field(rec: dict[str, object], key: str) -> int | None:
    """A Zeek ``count`` (0 to 2**63-1), None where unset."""
    value = rec.get(key)
    if value is None:
        return None
    if type(value) is str:
        if value.isdigit() and value.isascii() and len(value) <= 19:
            number = int(value)
            if number <= COUNT_MAX:
                return number
        elif value in NULLS:
            return None
    elif type(value) is int and 0 <= value <= COUNT_MAX:
        return value
    raise ValueError(f"field {key!r} is {value!r:.40}, expected a count (an integer 0 to 2**63-1)")


def interval_field(value: object, key: str) -> float | None:
    """A Zeek ``interval`` in seconds (finite, >= 0), None where unset."""
    if value is None or value in NULLS:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"field {key!r} is {value!r:.40}, expected seconds") from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"field {key!r} is {value!r:.40}, expected finite seconds >= 0")
    return seconds
