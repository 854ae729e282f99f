"""What each dashboard page shows, shaped from the store's detections and incidents.

Silo pages read only ``Detection.attributes.<silo>`` as FORMATS.md specifies,
so a silo's page fills in as its detectors land; a missing or partial
attribute is shown as unknown, never an error. Map layers are GeoJSON
FeatureCollections the page's script draws over the city's districts.

>>> point_of({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]})
(0.5, 1.0)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import h3

from citywatch.detect.portal.profile import PortalProfile
from citywatch.model import Detection, Incident, IncidentStatus
from citywatch.store import Store

OPEN = (IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.CONTAINED)
SCAN_LIMIT = 5000
"""Most recent detections a silo page looks at."""

Feature = dict[str, Any]


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


def feature(lat: float, lon: float, **props: object) -> Feature:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def collection(features: Sequence[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


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


def incident_features(
    store: Store, incidents: Iterable[Incident], centre: tuple[float, float] | None
) -> list[Feature]:
    """One point per incident, with what the map colours it by.

    An incident with no place (an attack on an online service) is pinned at
    the city ``centre`` and marked ``placed: false``, so it is on the map
    without pretending to a location.
    """
    out = []
    for i in incidents:
        where = incident_point(store, i)
        placed = where is not None
        where = where or centre
        if where is not None:
            out.append(
                feature(
                    *where,
                    id=i.id,
                    title=i.title,
                    severity=i.severity,
                    category=i.category,
                    status=i.status.value,
                    placed=placed,
                    href=f"/incidents/{i.id}",
                )
            )
    return out


def open_incidents(store: Store, limit: int = 500) -> list[Incident]:
    return [i for i in store.incidents(limit=limit) if i.status in OPEN]


def evidence(store: Store, incident: Incident) -> list[Detection]:
    """The incident's detections in event-time order (its timeline across silos)."""
    found = [store.detection(d) for d in incident.detections]
    return sorted((d for d in found if d is not None), key=lambda d: (d.timestamp, d.id))


def silo_detections(store: Store, silo: str) -> list[tuple[Detection, dict[str, Any]]]:
    """Recent detections that carry ``attributes.<silo>``, with that attribute, newest first."""
    found = store.detections(limit=None)[-SCAN_LIMIT:]
    out = []
    for d in reversed(found):
        attrs = d.attributes.get(silo)
        if isinstance(attrs, dict):
            out.append((d, attrs))
    return out


def hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:00")


def portal_view(rows: list[tuple[Detection, dict[str, Any]]]) -> dict[str, Any]:
    """Attacks by class, by source and by hour; the top sources with their classes."""
    by_class: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    classes_of: dict[str, set[str]] = defaultdict(set)
    by_hour: dict[str, Counter[str]] = defaultdict(Counter)
    for d, attrs in rows:
        cls = str(attrs.get("class", "unknown"))
        src = d.entity.get("source.ip") or d.entity.get("source.pseudonym") or "unknown"
        by_class[cls] += 1
        by_source[src] += 1
        classes_of[src].add(cls)
        by_hour[hour(d.timestamp)][cls] += 1
    return {
        "by_class": by_class.most_common(),
        "top_sources": [(s, n, sorted(classes_of[s])) for s, n in by_source.most_common(20)],
        "by_hour": sorted((h, sum(c.values()), c.most_common(3)) for h, c in by_hour.items()),
        "max_class": max(by_class.values(), default=1),
    }


def portal_model(store: Store) -> dict[str, Any] | None:
    """The portal profile's learned endpoint model, as the detector summarises it (or None)."""
    blob = store.load_state(f"model/{PortalProfile.name}")
    if blob is None:
        return None
    profile = PortalProfile(gate=lambda event: ())  # only the model is read: no signatures
    profile.restore_model(blob)
    return profile.describe()


def iot_view(rows: list[tuple[Detection, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Devices by risk: the highest score each device reached, with every reason seen."""
    devices: dict[str, dict[str, Any]] = {}
    for d, attrs in rows:
        device = str(attrs.get("device_id") or d.entity.get("device.id") or "unknown")
        entry = devices.setdefault(
            device,
            {
                "device": device,
                "class": attrs.get("class", "unknown"),
                "score": 0.0,
                "reasons": set(),
                "last": d.timestamp,
                "detections": 0,
                "geo": d.geo,
            },
        )
        score = attrs.get("score")
        if isinstance(score, int | float):
            entry["score"] = max(entry["score"], float(score))
        entry["reasons"].update(str(r) for r in attrs.get("reasons", []) if isinstance(r, str))
        entry["last"] = max(entry["last"], d.timestamp)
        entry["detections"] += 1
    ranked = sorted(devices.values(), key=lambda e: (-e["score"], e["device"]))
    for e in ranked:
        e["reasons"] = sorted(e["reasons"])
    return ranked


LOS_ORDER = "ABCDEF"


def crowd_view(rows: list[tuple[Detection, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The latest state of each zone or gate: density, level of service, time to critical."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for d, attrs in rows:  # newest first: keep the first seen per zone
        place = str(attrs.get("zone") or attrs.get("gate") or "unknown")
        key = (str(attrs.get("venue", "unknown")), place)
        if key in latest:
            continue
        los = str(attrs.get("los", "?"))
        latest[key] = {
            "venue": key[0],
            "place": place,
            "kind": "zone" if attrs.get("zone") else "gate",
            "density": attrs.get("density_ppm2"),
            "los": los,
            "los_rank": LOS_ORDER.find(los),
            "flow": attrs.get("flow_ppmm"),
            "ttc": attrs.get("time_to_critical_min"),
            "egress": attrs.get("egress_min"),
            "measures": [str(m) for m in attrs.get("measures", [])],
            "at": d.timestamp,
            "geo": d.geo,
            "id": d.id,
        }
    return sorted(latest.values(), key=lambda z: (-z["los_rank"], z["venue"], z["place"]))


def _cell_feature(cell: dict[str, Any]) -> Feature | None:
    ident = cell.get("h3")
    if not isinstance(ident, str) or not h3.is_valid_cell(ident):
        return None
    ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(ident)]
    ring.append(ring[0])
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "cell": ident,
            "cdi": cell.get("cdi"),
            "reports": cell.get("reports"),
            "predicted": bool(cell.get("predicted")),
        },
    }


def quake_view(rows: list[tuple[Detection, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each quake (its latest detection): origin, magnitude, intensity cells, priorities."""
    seen: set[str] = set()
    out = []
    for d, attrs in rows:
        key = d.entity.get("quake.id") or d.rule_id + str(attrs.get("origin_time"))
        if key in seen:
            continue
        seen.add(key)
        cells = [c for c in attrs.get("cells", []) if isinstance(c, dict)]
        shapes = [f for f in (_cell_feature(c) for c in cells) if f is not None]
        out.append(
            {
                "id": d.id,
                "summary": d.summary,
                "origin_time": attrs.get("origin_time"),
                "lat": attrs.get("lat"),
                "lon": attrs.get("lon"),
                "depth_km": attrs.get("depth_km"),
                "magnitude": attrs.get("magnitude"),
                "magnitude_error": attrs.get("magnitude_error"),
                "location_error_km": attrs.get("location_error_km"),
                "cells": shapes,
                "reported": sum(1 for c in cells if not c.get("predicted")),
                "predicted": sum(1 for c in cells if c.get("predicted")),
                "priorities": [p for p in attrs.get("priorities", []) if isinstance(p, dict)],
            }
        )
    return out


def social_view(rows: list[tuple[Detection, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Events found in posts: category, place, counts (authors as a count only)."""
    out = []
    for d, attrs in rows:
        out.append(
            {
                "id": d.id,
                "summary": d.summary,
                "category": attrs.get("category", "unknown"),
                "place": attrs.get("place"),
                "first_seen": attrs.get("first_seen"),
                "posts": attrs.get("posts"),
                "authors": attrs.get("authors"),
                "sources": attrs.get("sources"),
                "severity": d.severity,
                "geo": d.geo,
            }
        )
    return out


def points(items: Iterable[dict[str, Any]], *props: str) -> list[Feature]:
    """Map points for view rows that have a ``geo`` (GeoPoint), with the named properties."""
    return [
        feature(i["geo"].lat, i["geo"].lon, **{p: i.get(p) for p in props})
        for i in items
        if i.get("geo") is not None
    ]
