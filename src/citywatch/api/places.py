"""Where an incident is: a point to pin it on a map and to filter incidents by place.

>>> point_of({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]})
(0.5, 1.0)
>>> inside((45.8, 15.9), (15.0, 45.0, 16.0, 46.0))
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from citywatch.model import Incident
from citywatch.store import Store

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)``, as GeoJSON writes a bounding box."""


def _positions(geometry: dict[str, Any]) -> Iterable[tuple[float, float]]:
    coords: Any = geometry.get("coordinates", [])
    stack = [coords]
    while stack:
        item = stack.pop()
        if (
            isinstance(item, list | tuple)
            and len(item) >= 2
            and all(isinstance(v, int | float) for v in item[:2])
        ):
            yield float(item[0]), float(item[1])
        elif isinstance(item, list | tuple):
            stack.extend(item)


def point_of(geometry: dict[str, Any] | None) -> tuple[float, float] | None:
    """A representative (lat, lon) of a GeoJSON geometry: the mean of its positions."""
    if not geometry:
        return None
    pts = list(_positions(geometry))
    if not pts:
        return None
    return sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts)


def incident_point(store: Store, incident: Incident) -> tuple[float, float] | None:
    """Where to pin an incident: its area, or else its first detection with a place."""
    found = point_of(incident.area)
    if found is not None:
        return found
    for detection_id in incident.detections[:20]:
        d = store.detection(detection_id)
        if d is not None and d.geo is not None:
            return d.geo.lat, d.geo.lon
    return None


def inside(point: tuple[float, float], bbox: BBox) -> bool:
    """Whether a (lat, lon) point lies in ``bbox`` (edges included)."""
    lat, lon = point
    return bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]
