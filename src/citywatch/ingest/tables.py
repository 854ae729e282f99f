"""Tables of records: CSV with a header, or JSON lines, told apart by the first line.

Count tables (``zone-counts``, ``gate-counts``) and the exposure read both;
each CSV line becomes the same ``{column: value}`` record a JSON line would,
so the adapter's field parsing is one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter
from citywatch.ingest.fields import decode_text
from citywatch.model import DeadLetter

Record = tuple[int, bytes, dict[str, object]]
"""A record of a table: its line number, raw bytes and fields."""


def csv_header(raw: bytes, needs: tuple[str, ...] = ("time",)) -> list[str] | None:
    """The column names if ``raw`` is a CSV header line (it names the ``needs`` columns), else None.

    >>> csv_header(b"time,venue,gate,in,out"), csv_header(b'{"time": 0}')
    (['time', 'venue', 'gate', 'in', 'out'], None)
    >>> csv_header(b"id,kind,lat,lon", needs=("lat", "lon"))
    ['id', 'kind', 'lat', 'lon']
    """
    columns = _columns(raw)
    return columns if columns is not None and all(n in columns for n in needs) else None


def _columns(raw: bytes) -> list[str] | None:
    """A line's CSV values, stripped (a byte-order mark too); None for a line over the limit."""
    if len(raw) > MAX_RECORD_BYTES:
        return None
    return [c.strip() for c in _split(decode_text(raw).lstrip("\ufeff").strip()) or []]


def table_records(
    adapter: Adapter, source: str, lines: Iterable[bytes], needs: tuple[str, ...] = ("time",)
) -> Iterator[Record | DeadLetter]:
    """The records of a table, or dead letters.

    CSV when the first non-blank line is a header naming the ``needs`` columns
    (:func:`csv_header`), JSON lines otherwise (so a batch of messages from
    MQTT is never taken for CSV).
    """
    it = enumerate(lines, 1)
    head: list[bytes] = []
    columns: list[str] | None = None
    for _, raw in it:
        head.append(raw)
        if len(raw) > MAX_RECORD_BYTES or decode_text(raw).strip():
            columns = csv_header(raw, needs)
            break
    if columns is None and head and (named := _wrong_header(head[-1], needs)) is not None:
        # a CSV header, but not the one this table needs: say so for every line
        missing = ", ".join(n for n in needs if n not in named)
        why = f"a CSV header without the column(s) {missing} (it names {', '.join(named)})"
        yield adapter.dead_letter(source, len(head), "bad-header", why, head[-1])
        for lineno, raw in it:
            if decode_text(raw).strip():
                yield adapter.dead_letter(
                    source, lineno, "bad-header", f"not read: line {len(head)} is {why}", raw
                )
        return
    if columns is None:
        yield from adapter.json_objects(source, [*head, *(raw for _, raw in it)])
        return
    for lineno, raw in it:
        text = decode_text(raw).rstrip("\r\n")
        if not text.strip():
            continue
        if len(raw) > MAX_RECORD_BYTES:
            yield adapter.dead_letter(
                source, lineno, "too-long", f"line of {len(raw)} bytes exceeds the limit", raw
            )
            continue
        values = _split(text)
        if values is None:
            yield adapter.dead_letter(source, lineno, "bad-line", "not a CSV line", raw)
            continue
        if len(values) != len(columns):
            yield adapter.dead_letter(
                source, lineno, "bad-line",
                f"{len(values)} values for {len(columns)} columns ({', '.join(columns)})", raw,
            )  # fmt: skip
            continue
        yield lineno, raw, {c: v.strip() for c, v in zip(columns, values, strict=True)}


_NAME = re.compile(r"[A-Za-z_][\w.\-]*")
"""A column name as headers write them (``time``, ``interval_s``, ``source.ip``)."""


def _wrong_header(raw: bytes, needs: tuple[str, ...]) -> list[str] | None:
    """The column names of a line that reads as a CSV header of names (not a JSON record,
    not numbers), though not one naming every column in ``needs``; else None."""
    columns = _columns(raw)
    if columns is None or len(columns) < 2 or not all(map(_NAME.fullmatch, columns)):
        return None  # a JSON record's pieces hold quotes and braces: no names
    return columns


def _split(text: str) -> list[str] | None:
    """The values of one CSV line, or None if it is not one."""
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None
