"""``exposure``: the city's exposure, populated areas and critical facilities, one per line.

Each line is a GeoJSON Feature (newline-delimited GeoJSON) or a flat object
with the same fields and ``lat``/``lon``; or the input is CSV with a header
naming ``lat`` and ``lon`` and any of the fields below (one item per row); or
it is one GeoJSON FeatureCollection, on one line or many (as GIS tools write
it), whose features are read in order (the N-th is ``PATH:N``).
A feature's ``properties`` give ``kind`` (``area`` when absent), ``id``,
``name``, ``population`` (residents of an area, usual occupants of a
facility), ``vulnerability`` (A–D, EMS-98: A the most vulnerable; facilities
only) and ``postcode``; the location is a Point,
or a Polygon's ``properties.centroid`` ``{"lat", "lon"}`` or else its mean
vertex. Items with a ``postcode`` are the gazetteer that resolves felt
reports' postcodes; kind ``postcode`` is such an entry only (a district, say),
neither mapped nor ranked, while ``area`` items (population per cell) are.

Exposure has no event time of its own: ``time`` (a property) says from when
it holds, default the epoch, so a batch run reads it before anything else.

>>> row = b'{"kind":"hospital","id":"h1","name":"General","lat":45.81,"lon":15.98,'
>>> row += b'"population":400,"vulnerability":"B"}'
>>> (event,) = ExposureAdapter().parse("x", [row])
>>> event.payload.kind, event.payload.vulnerability, event.payload.population
('hospital', 'B', 400)
>>> csv = [b"id,kind,name,lat,lon,population,vulnerability", b"s1,school,North,45.8,15.9,600,b"]
>>> (event,) = ExposureAdapter().parse("x.csv", csv)
>>> event.payload.item_id, event.payload.vulnerability, event.geo.lat
('s1', 'B', 45.8)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import ClassVar, Final

import msgspec

from citywatch.ingest.base import Adapter, first_line
from citywatch.ingest.fields import (
    MissingFieldError,
    parse_lat_lon,
    parse_number,
    parse_time,
)
from citywatch.ingest.phonetriggers import optional_text
from citywatch.ingest.tables import table_records
from citywatch.model import DeadLetter, Event, Exposure, GeoPoint
from citywatch.model.deadletter import RAW_LIMIT

DATASET = "quake.exposure"
CSV_COLUMNS: Final = ("lat", "lon")
"""A first line naming these columns makes the input a CSV table."""
VULNERABILITY: Final = ("A", "B", "C", "D")


def _location(feature: dict[str, object], props: dict[str, object]) -> tuple[float, float]:
    centroid = props.get("centroid")
    if isinstance(centroid, dict):
        return parse_lat_lon(centroid)
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise MissingFieldError("missing field 'geometry'")
    coords = geometry.get("coordinates")
    kind = geometry.get("type")
    if kind == "Point" and isinstance(coords, list) and len(coords) >= 2:
        return parse_lat_lon({"lat": coords[1], "lon": coords[0]})
    if kind == "Polygon" and isinstance(coords, list) and coords and isinstance(coords[0], list):
        ring = [p for p in coords[0] if isinstance(p, list) and len(p) >= 2]
        if ring:
            points = [parse_lat_lon({"lat": p[1], "lon": p[0]}) for p in ring]
            return (
                sum(p[0] for p in points) / len(points),
                sum(p[1] for p in points) / len(points),
            )
    raise ValueError("bad geometry: expected a Point or a Polygon")


def _item(rec: dict[str, object], lat: float, lon: float, ts: float, eid: str) -> Event:
    kind = optional_text(rec, "kind") or "area"
    vulnerability = optional_text(rec, "vulnerability")
    if vulnerability is not None and vulnerability.upper() not in VULNERABILITY:
        raise ValueError(f"bad vulnerability {vulnerability!r:.40}: expected A, B, C or D")
    population = rec.get("population")
    return Event(
        id=eid,
        timestamp=ts,
        dataset=DATASET,
        geo=GeoPoint(lat=lat, lon=lon),
        payload=Exposure(
            kind=kind,
            item_id=optional_text(rec, "id") or eid,
            name=optional_text(rec, "name") or "",
            population=int(parse_number(population, "population", 0, 1e9))
            if population not in (None, "")
            else 0,
            vulnerability=vulnerability.upper() if vulnerability else None,
            postcode=optional_text(rec, "postcode"),
        ),
    )


class ExposureAdapter(Adapter):
    """Exposure (one GeoJSON feature or flat object per line) into ``quake.exposure`` events."""

    name: ClassVar[str] = "exposure"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "population and critical facilities with vulnerability"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        first, again = first_line(lines)
        if first.startswith(b"{") and _a_collection(first):
            return self._collection(source, list(again))
        return self.events(source, table_records(self, source, again, CSV_COLUMNS), _event)

    def _collection(self, source: str, lines: list[bytes]) -> Iterator[Event | DeadLetter]:
        """The features of one FeatureCollection document; lines read one by one when the
        document is none (a feature per line, the first one broken) or too long."""
        doc = b"".join(lines)
        found: object = None
        if len(doc) <= MAX_DOCUMENT:
            with contextlib.suppress(msgspec.DecodeError, RecursionError, UnicodeError):
                found = _decode(doc)
        if not isinstance(found, dict) or found.get("type") != "FeatureCollection":
            records = table_records(self, source, lines, CSV_COLUMNS)
            yield from self.events(source, records, _event)
            return
        features = found.get("features")
        if not isinstance(features, list):
            yield self.dead_letter(source, 1, "missing-field", "no features list", doc[:RAW_LIMIT])
            return
        records = (
            (n, _encode(f), f) if isinstance(f, dict) else _not_a_feature(self, source, n, f)
            for n, f in enumerate(features, 1)
        )
        yield from self.events(source, records, _event)


MAX_DOCUMENT: Final = 64 << 20
"""The largest FeatureCollection document read whole, bytes."""
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.encode


def _a_collection(line: bytes) -> bool:
    """``line`` starts a document (it is no JSON object on its own) or is a FeatureCollection:
    not a feature per line."""
    try:
        found = _decode(line)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        return True
    return isinstance(found, dict) and found.get("type") == "FeatureCollection"


def _not_a_feature(adapter: Adapter, source: str, n: int, value: object) -> DeadLetter:
    raw = _encode(value)[:RAW_LIMIT]
    return adapter.dead_letter(source, n, "bad-field", "a feature is not a JSON object", raw)


def _event(rec: dict[str, object], source: str, lineno: int) -> Event:
    if rec.get("type") == "FeatureCollection":  # the whole input may be one, not a line of it
        raise ValueError("a FeatureCollection among features: give it as the whole input")
    if rec.get("type") == "Feature":
        props = rec.get("properties")
        if not isinstance(props, dict):
            raise MissingFieldError("missing field 'properties'")
        lat, lon = _location(rec, props)
    else:
        props = rec
        lat, lon = parse_lat_lon(rec)
    return _item(props, lat, lon, parse_time(props.get("time", 0.0)), f"{source}:{lineno}")
