"""``phone-triggers``: one on-phone shaking trigger per line, as a citizen app sends it.

Each line is one JSON object (FORMATS.md)::

    {"id": "t-1", "time": "2026-03-14T13:06:03.4Z", "lat": 45.81, "lon": 15.98,
     "pga_g": 0.012, "device": "ph-9f2c", "device_class": "phone"}

``time`` (ISO 8601 or epoch seconds), ``lat``, ``lon`` and ``pga_g`` (peak
horizontal acceleration in g, 0–10) are required; ``device`` (the app's
pseudonymous id, at most 128 characters) and ``device_class`` are optional.
Locations may come rounded (to ~100 m) by the app for privacy. A missing or
out-of-range field makes a dead letter with the reason.

>>> line = b'{"id":"t-1","time":10,"lat":45.8,"lon":15.9,"pga_g":0.02,"device":"p1"}'
>>> (event,) = PhoneTriggersAdapter().parse("f", [line])
>>> event.device_id, event.payload.pga_g, event.geo.lat
('p1', 0.02, 45.8)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import MissingFieldError, parse_lat_lon, parse_number, parse_time
from citywatch.model import DeadLetter, Event, GeoPoint, SensorTrigger

DATASET = "quake.trigger"
MAX_TEXT = 128


def optional_text(record: dict[str, object], name: str) -> str | None:
    """A short optional text field (an integer is taken as its text)."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise ValueError(f"bad {name} {value!r:.40}: expected text of 1-{MAX_TEXT} characters")
    return value


def record_id(record: dict[str, object], source: str, lineno: int) -> str:
    """The record's own ``id``, else ``SOURCE:LINE``."""
    return optional_text(record, "id") or f"{source}:{lineno}"


class PhoneTriggersAdapter(Adapter):
    """Phone shaking triggers (JSON lines) into ``quake.trigger`` events."""

    name: ClassVar[str] = "phone-triggers"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "phone shaking triggers from a citizen app (JSON lines)"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        return self.json_events(source, lines, _event)


def _event(rec: dict[str, object], source: str, lineno: int) -> Event:
    if rec.get("time") is None or rec.get("pga_g") is None:
        raise MissingFieldError(f"missing field {'time' if rec.get('time') is None else 'pga_g'!r}")
    lat, lon = parse_lat_lon(rec)
    return Event(
        id=record_id(rec, source, lineno),
        timestamp=parse_time(rec["time"]),
        dataset=DATASET,
        observer=source,
        device_id=optional_text(rec, "device"),
        geo=GeoPoint(lat=lat, lon=lon),
        payload=SensorTrigger(
            pga_g=parse_number(rec["pga_g"], "pga_g", 0.0, 10.0),
            device_class=optional_text(rec, "device_class"),
        ),
    )
