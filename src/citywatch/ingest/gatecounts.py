"""``gate-counts``: people in and out through each venue gate per interval, CSV or JSON lines.

Each record (FORMATS.md) is ``time, venue, gate, in, out, interval_s``:
``time`` is the start of the interval, ``in``/``out`` whole numbers >= 0 of
people through the gate (turnstiles, gate counters), ``interval_s`` the
interval's length (default 60). CSV with a header, or JSON lines when the
first non-blank line starts with ``{``.

>>> rows = [b"time,venue,gate,in,out,interval_s", b"0,arena,g1,120,3,60"]
>>> (event,) = GateCountsAdapter().parse("f", rows)
>>> event.payload.gate, event.payload.entered, event.payload.left
('g1', 120, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from citywatch.ingest.base import Adapter
from citywatch.ingest.tables import table_records
from citywatch.ingest.zonecounts import (
    MAX_NAME,
    interval_field,
    number_field,
    text_field,
    time_field,
)
from citywatch.model import DeadLetter, Event
from citywatch.model.payloads import GateCount


def _whole(rec: dict[str, object], name: str) -> int:
    value = number_field(rec, name)
    if value != int(value):
        raise ValueError(f"{name!r} must be a whole number")
    return int(value)


class GateCountsAdapter(Adapter):
    """People in and out per venue gate per interval (CSV or JSON lines)."""

    name: ClassVar[str] = "gate-counts"
    dataset: ClassVar[str] = "crowd.gate"
    description: ClassVar[str] = "people in/out per venue gate per interval (CSV or JSONL)"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        for item in table_records(self, source, lines):
            if isinstance(item, DeadLetter):
                yield item
                continue
            lineno, raw, rec = item
            try:
                rid = rec.get("id")
                yield Event(
                    id=str(rid)[:MAX_NAME]
                    if isinstance(rid, str | int) and rid != ""
                    else f"{source}:{lineno}",
                    timestamp=time_field(rec),
                    dataset=self.dataset,
                    observer="gate-counter",
                    payload=GateCount(
                        venue=text_field(rec, "venue"),
                        gate=text_field(rec, "gate"),
                        entered=_whole(rec, "in"),
                        left=_whole(rec, "out"),
                        interval_s=interval_field(rec),
                    ),
                )
            except ValueError as exc:
                yield self.field_error(source, lineno, raw, exc)
