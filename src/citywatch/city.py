"""The city: its district polygons (GeoJSON, the map's base layer), its name and its time zone.

The city's own map is the ``city_map`` setting: a GeoJSON FeatureCollection
whose features are the districts (Polygon or MultiPolygon, holes allowed,
``properties.name``), with optional top-level ``properties`` ``city``,
``centre`` (``{lat, lon}``) and ``utc_offset`` (``+01:00``). Without it,
``citywatch demo`` writes ``city.geojson`` beside its simulated inputs in
``DATA_DIR/city/seed-N/`` and the newest one there is taken. Without any,
the map shows only the incidents and nothing is placed in a district.

>>> ring = [[15.0, 45.0], [15.1, 45.0], [15.1, 45.1], [15.0, 45.1], [15.0, 45.0]]
>>> city = CityMap(geojson={"type": "FeatureCollection", "features": [{"type": "Feature",
...     "properties": {"name": "Trnje"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]})
>>> city.district_at(45.05, 15.05), city.district_at(45.2, 15.05)
('Trnje', None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from citywatch.errors import ConfigError

CITY_FILE = "city.geojson"


def _offset(text: str, path: Path) -> tzinfo:
    """A fixed offset such as ``+01:00`` as a time zone.

    >>> _offset("-05:30", Path("city.geojson"))
    datetime.timezone(datetime.timedelta(days=-1, seconds=66600))
    """
    found = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if found is None:
        raise ConfigError(f"utc_offset {text!r} is not like +01:00", where=str(path))
    delta = timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
    return timezone(-delta if found.group(1) == "-" else delta)


def _empty() -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": []}


Ring = list[tuple[float, float]]
"""A closed ring of (lon, lat) corners, as GeoJSON writes them."""


@dataclass(frozen=True)
class _District:
    name: str
    box: tuple[float, float, float, float]
    """min lon, min lat, max lon, max lat."""
    polygons: list[list[Ring]]
    """Each polygon's outer ring, then its holes."""


@dataclass(frozen=True)
class CityMap:
    """The districts as a FeatureCollection, and the city's name."""

    geojson: dict[str, Any] = field(default_factory=_empty)
    name: str = "the city"
    centre: tuple[float, float] | None = None
    tz: tzinfo = UTC
    _districts: list[_District] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_districts", _districts(self.geojson))

    @property
    def has_districts(self) -> bool:
        """Whether the map names any district."""
        return bool(self._districts)

    def district_at(self, lat: float, lon: float) -> str | None:
        """The name of the district a point lies in (the first listed, if districts
        overlap), or None outside them all."""
        for district in self._districts:
            x0, y0, x1, y1 = district.box
            if (
                x0 <= lon <= x1
                and y0 <= lat <= y1
                and any(
                    inside(lon, lat, polygon[0])
                    and not any(inside(lon, lat, h) for h in polygon[1:])
                    for polygon in district.polygons
                )
            ):
                return district.name
        return None

    @classmethod
    def load(cls, path: Path) -> CityMap:
        """Read a ``city.geojson``; a file that is not a FeatureCollection of named
        districts is a ConfigError naming what to fix."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the city map: {exc}", where=str(path)) from exc
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise ConfigError("the city map must be a GeoJSON FeatureCollection", where=str(path))
        for i, feature in enumerate(doc.get("features") or []):
            if problem := _problem(feature):
                raise ConfigError(f"district {i + 1}: {problem}", where=str(path))
        props = doc.get("properties") or {}
        centre = props.get("centre") or {}
        lat, lon = centre.get("lat"), centre.get("lon")
        return cls(
            geojson=doc,
            name=str(props.get("city") or "the city"),
            centre=(float(lat), float(lon)) if lat is not None and lon is not None else None,
            tz=_offset(str(props.get("utc_offset") or "+00:00"), path),
        )

    @classmethod
    def find(cls, data_dir: Path) -> CityMap:
        """The newest ``city.geojson`` under ``data_dir/city/``, or an empty map."""
        found = sorted((data_dir / "city").glob(f"*/{CITY_FILE}"), key=lambda p: p.stat().st_mtime)
        return cls.load(found[-1]) if found else cls()


def _problem(feature: object) -> str | None:
    """What is wrong with one district feature, or None."""
    if not isinstance(feature, dict):
        return "not a GeoJSON Feature"
    name = (feature.get("properties") or {}).get("name")
    if not isinstance(name, str) or not name.strip():
        return "no properties.name"
    geometry = feature.get("geometry") or {}
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        return f"{name}: geometry must be a Polygon or a MultiPolygon, not {kind}"
    polygons = geometry.get("coordinates")
    polygons = [polygons] if kind == "Polygon" else polygons
    if not isinstance(polygons, list) or not all(isinstance(p, list) and p for p in polygons):
        return f"{name}: coordinates must be lists of rings"
    for ring in (ring for polygon in polygons for ring in polygon):
        if not isinstance(ring, list) or len(ring) < _CORNERS:
            return f"{name}: a ring needs {_CORNERS} [lon, lat] corners at least (closed)"
        if not all(isinstance(p, list) and len(p) >= 2 and all(map(_number, p[:2])) for p in ring):
            return f"{name}: coordinates must be [lon, lat] numbers"
    return None


_CORNERS = 4


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _districts(doc: dict[str, Any]) -> list[_District]:
    """The named districts of a FeatureCollection; a feature :func:`_problem` refuses is left
    out (:meth:`CityMap.load` refuses a file that has one; a map built in code is not checked)."""
    found = []
    for feature in doc.get("features") or []:
        if _problem(feature) is not None:
            continue
        geometry = feature["geometry"]
        raw = geometry["coordinates"]
        polygons = [
            [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
            for polygon in ([raw] if geometry["type"] == "Polygon" else raw)
        ]
        corners = [p for polygon in polygons for p in polygon[0]]
        box = (
            min(p[0] for p in corners),
            min(p[1] for p in corners),
            max(p[0] for p in corners),
            max(p[1] for p in corners),
        )
        found.append(_District(feature["properties"]["name"].strip(), box, polygons))
    return found


def inside(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Whether ``(x, y)`` (lon, lat) lies inside a closed ring (even-odd ray casting).

    >>> square = [(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)]
    >>> inside(1, 1, square), inside(1.5, 1.5, [(0, 0), (2, 0), (0, 2), (0, 0)])
    (True, False)
    """
    within = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            within = not within
        x1, y1 = x2, y2
    return within
