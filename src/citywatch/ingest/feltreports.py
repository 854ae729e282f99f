"""``felt-reports``: one answered "Did you feel it?" questionnaire per line, coded as DYFI codes it.

Each line is one JSON object (FORMATS.md)::

    {"id": "r-1", "time": "2026-03-14T13:10:00Z", "lat": 45.81, "lon": 15.98,
     "felt": 1, "motion": 3, "reaction": 2, "stand": 0, "shelf": 1, "picture": 0,
     "furniture": 0, "damage": 0.5}

``time`` is required, and either ``lat`` and ``lon`` or a ``postcode`` (the
detector resolves postcodes through the city's gazetteer, which comes in with
the ``exposure`` input). Every answer is optional, and absent is not zero. An
answer outside its DYFI codes makes a dead letter:

=========  ==================  =========  ==================
answer     codes               answer     codes
=========  ==================  =========  ==================
felt       0, 1                shelf      0–3
motion     0–5                 picture    0, 1
reaction   0–5                 furniture  0, 1
stand      0, 1                damage     0, 0.5, 0.75, 1, 2, 3
=========  ==================  =========  ==================

>>> line = b'{"time":10,"postcode":"10010","felt":1,"motion":2}'
>>> (event,) = FeltReportsAdapter().parse("f", [line])
>>> event.geo, event.payload.postcode, event.payload.motion, event.payload.shelf
(None, '10010', 2.0, None)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import ClassVar, Final

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import MissingFieldError, parse_lat_lon, parse_time
from citywatch.ingest.phonetriggers import optional_text, record_id
from citywatch.model import DeadLetter, Event, FeltReport, GeoPoint

DATASET = "quake.felt"

CODES: Final[dict[str, tuple[float, ...]]] = {
    "felt": (0, 1),
    "motion": (0, 1, 2, 3, 4, 5),
    "reaction": (0, 1, 2, 3, 4, 5),
    "stand": (0, 1),
    "shelf": (0, 1, 2, 3),
    "picture": (0, 1),
    "furniture": (0, 1),
    "damage": (0, 0.5, 0.75, 1, 2, 3),
}
"""The DYFI codes each answer may take."""


def _answer(record: dict[str, object], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in CODES[name]:
        codes = ", ".join(f"{c:g}" for c in CODES[name])
        raise ValueError(f"bad {name} {value!r:.40}: expected one of {codes}")
    return float(value)


class FeltReportsAdapter(Adapter):
    """Felt reports (JSON lines) into ``quake.felt`` events."""

    name: ClassVar[str] = "felt-reports"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "'Did you feel it?' reports from citizens (JSON lines)"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        return self.json_events(source, lines, _event)


def _event(rec: dict[str, object], source: str, lineno: int) -> Event:
    if rec.get("time") is None:
        raise MissingFieldError("missing field 'time'")
    postcode = optional_text(rec, "postcode")
    geo = None
    if postcode is None or rec.get("lat") is not None or rec.get("lon") is not None:
        lat, lon = parse_lat_lon(rec)
        geo = GeoPoint(lat=lat, lon=lon)
    answers = {name: _answer(rec, name) for name in CODES}
    return Event(
        id=record_id(rec, source, lineno),
        timestamp=parse_time(rec["time"]),
        dataset=DATASET,
        observer=source,
        geo=geo,
        payload=FeltReport(postcode=postcode, **answers),
    )
