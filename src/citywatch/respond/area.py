"""An incident's place as CAP area shapes: polygons and circles in ``lat,lon`` order.

GeoJSON (RFC 7946) writes ``[lon, lat]``; CAP writes ``lat,lon``. Polygons
keep their outer ring only (CAP has no holes); points become circles of a
given radius; H3 cells become the outline of their union (one polygon per
connected patch of cells), via the ``h3`` package. Coordinates are rounded to
six decimals (about 0.1 m), so that an alert survives a round trip through XML
unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import h3

from citywatch.model import Detection
from citywatch.model.alert import AlertCircle
from citywatch.respond.errors import RespondError
from citywatch.respond.evidence import declared

Ring = list[tuple[float, float]]

MAX_CIRCLES: Final = 10
_EARTH_KM: Final = 6371.0088


def _point(position: Any) -> tuple[float, float]:
    """``(lat, lon)`` from a GeoJSON position ``[lon, lat, (alt)]``."""
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise RespondError(f"not a GeoJSON position: {position!r:.80}")
    lon, lat = float(position[0]), float(position[1])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or math.isnan(lat + lon):
        raise RespondError(f"GeoJSON position out of range: [{lon}, {lat}]")
    return round(lat, 6), round(lon, 6)


def _ring(points: Iterable[tuple[float, float]]) -> Ring:
    ring = [(round(lat, 6), round(lon, 6)) for lat, lon in points]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise RespondError(f"a polygon ring needs at least 3 distinct points, got {len(ring)}")
    return ring


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two ``(lat, lon)`` points, in km.

    >>> round(distance_km((45.0, 16.0), (46.0, 16.0)), 1)
    111.2
    """
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def circles_for(points: Sequence[tuple[float, float]], radius_km: float) -> list[AlertCircle]:
    """One circle per point, or one circle around them all when there are many.

    >>> [c.radius_km for c in circles_for([(45.0, 16.0)], 0.5)]
    [0.5]
    >>> len(circles_for([(45.0, 16.0 + i / 100) for i in range(20)], 0.5))
    1
    """
    if len(points) <= MAX_CIRCLES:
        return [AlertCircle(lat=lat, lon=lon, radius_km=radius_km) for lat, lon in points]
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    centre = (round(lat, 6), round(lon, 6))
    reach = max(distance_km(centre, p) for p in points) + radius_km
    return [AlertCircle(lat=centre[0], lon=centre[1], radius_km=round(reach, 3))]


def declared_circles(detections: Iterable[Detection]) -> list[AlertCircle]:
    """The circles detections say they affect (``attributes.<silo>.circle``: ``lat``, ``lon``,
    ``radius_km``; a quake's felt area), each once; malformed ones are skipped.

    >>> from citywatch.model import Detection
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> d = Detection(id="q", timestamp=t, detector="quake", rule_id="r", rule_name="r",
    ...     severity=80, confidence=0.9, category="public_safety", summary="s", entity={},
    ...     evidence=[], first_seen=t, last_seen=t,
    ...     attributes={"quake": {"circle": {"lat": 45.7, "lon": 16.1, "radius_km": 21.4}}})
    >>> declared_circles([d, d])
    [AlertCircle(lat=45.7, lon=16.1, radius_km=21.4)]
    """
    out: list[AlertCircle] = []
    for _, circle in declared(detections, "circle"):
        if not isinstance(circle, dict):
            continue
        try:
            lat, lon = _point([circle["lon"], circle["lat"]])
            radius = float(circle["radius_km"])
        except (KeyError, TypeError, ValueError, RespondError):
            continue
        found = AlertCircle(lat=lat, lon=lon, radius_km=round(radius, 3))
        if radius > 0 and found not in out:
            out.append(found)
    return out[:MAX_CIRCLES]


def cell_polygons(cells: Iterable[str]) -> list[Ring]:
    """The outline of a set of H3 cells: one closed ring per connected patch.

    >>> cell = h3.latlng_to_cell(45.81, 15.98, 9)
    >>> rings = cell_polygons(h3.grid_disk(cell, 1))
    >>> len(rings), len(rings[0])
    (1, 19)
    """
    unique = sorted(set(cells))
    for cell in unique:
        if not h3.is_valid_cell(cell):
            raise RespondError(f"not an H3 cell: {cell!r:.40}")
    if not unique:
        return []
    shape = h3.cells_to_h3shape(unique)
    polys = shape.polys if hasattr(shape, "polys") else [shape]
    return [_ring(poly.outer) for poly in polys]


def shapes(
    geometry: dict[str, Any] | None, *, radius_km: float
) -> tuple[list[Ring], list[AlertCircle]]:
    """CAP polygons and circles for a GeoJSON geometry.

    A geometry may carry the H3 cells it stands for as a foreign member
    ``"h3": [cell, ...]`` (RFC 7946 §6.1); the cells' outline is used then.

    >>> shapes({"type": "Point", "coordinates": [15.98, 45.81]}, radius_km=1.0)
    ([], [AlertCircle(lat=45.81, lon=15.98, radius_km=1.0)])
    >>> rings, _ = shapes({"type": "Polygon", "coordinates": [[[16, 45], [16.1, 45],
    ...                    [16.1, 45.1], [16, 45]]]}, radius_km=1.0)
    >>> rings[0][:2]
    [(45.0, 16.0), (45.0, 16.1)]
    """
    if geometry is None:
        return [], []
    if not isinstance(geometry, dict):
        raise RespondError("an area must be a GeoJSON geometry object")
    cells = geometry.get("h3")
    if isinstance(cells, list) and cells:
        return cell_polygons(str(c) for c in cells), []
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    try:
        if kind == "Point":
            return [], circles_for([_point(coords)], radius_km)
        if kind == "MultiPoint":
            return [], circles_for([_point(p) for p in coords or []], radius_km)
        if kind == "Polygon":
            return [_ring(_point(p) for p in (coords or [[]])[0])], []
        if kind == "MultiPolygon":
            return [_ring(_point(p) for p in poly[0]) for poly in coords or []], []
        if kind == "GeometryCollection":
            rings: list[Ring] = []
            circles: list[AlertCircle] = []
            for part in geometry.get("geometries") or []:
                r, c = shapes(part, radius_km=radius_km)
                rings.extend(r)
                circles.extend(c)
            return rings, circles
    except (TypeError, ValueError, IndexError) as exc:
        raise RespondError(f"malformed GeoJSON {kind}: {exc}") from exc
    raise RespondError(f"cannot turn a GeoJSON {kind!r:.40} into a CAP area")
