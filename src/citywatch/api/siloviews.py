"""The silos' resources read from detections: devices, venue zones, quakes, social events.

Each silo's detectors put what they know in ``Detection.attributes.<silo>``
(FORMATS.md); these functions turn the recent detections into one record per
device, zone or gate, quake, or event. They read defensively: a value of an
unexpected type is unknown (None), never an error, so the API and the
dashboard keep working while the silos' detectors evolve.

>>> _num("3"), _num(2), _num(True)
(None, 2.0, None)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import h3
from pydantic import BaseModel, ConfigDict, Field

from citywatch.api.schemas import GeoOut
from citywatch.detect.quake.cells import utm_cell_ring
from citywatch.model import Detection, GeoPoint, from_epoch
from citywatch.store import Store

SCAN_LIMIT = 5000
"""Most recent detections looked at."""
LOS_ORDER = "ABCDEF"

Rows = list[tuple[Detection, dict[str, Any]]]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class DeviceOut(_Out):
    """A device with detections: its highest risk score and every reason seen."""

    device_id: str
    device_class: str | None = Field(alias="class")
    score: float | None
    reasons: list[str]
    detections: int
    last_seen: datetime
    geo: GeoOut | None


class ZoneOut(_Out):
    """The latest state of a venue's zone or gate, or of the whole venue (an evacuation)."""

    venue: str
    place: str
    kind: Literal["zone", "gate", "venue"]
    density_ppm2: float | None
    los: str | None = Field(description="level of service, A (free) to F (critical)")
    flow_ppmm: float | None
    time_to_critical_min: float | None
    egress_min: float | None
    measures: list[str]
    at: datetime
    detection_id: str
    geo: GeoOut | None


class CellOut(_Out):
    cell: str = Field(description="an H3 cell or a UTM grid id")
    grid: Literal["h3", "utm_1km", "utm_10km"]
    cdi: float | None = Field(description="community decimal intensity")
    reports: int | None
    predicted: bool


class PriorityOut(_Out):
    kind: str | None
    id: str | None
    name: str | None
    score: float | None
    mmi: float | None


class QuakeOut(_Out):
    """A located earthquake (its latest detection), its intensity cells and priorities."""

    detection_id: str
    summary: str
    origin_time: datetime | None
    lat: float | None
    lon: float | None
    depth_km: float | None
    magnitude: float | None
    magnitude_error: float | None
    location_error_km: float | None
    cells: list[CellOut]
    priorities: list[PriorityOut]


class SocialEventOut(_Out):
    """An event found in posts; authors only as a count."""

    detection_id: str
    summary: str
    severity: int
    category: str | None
    place: str | None
    first_seen: datetime | None
    posts: int | None = Field(description="how many posts")
    texts: list[str] = Field(description="post texts, when the detector keeps them")
    authors: int | None = Field(description="how many distinct (pseudonymous) authors")
    sources: dict[str, int] = Field(description="posts by kind of source: social, news")
    geo: GeoOut | None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _when(value: object) -> datetime | None:
    """A time from an epoch or an ISO 8601 text (detectors keep times either way)."""
    number = _num(value)
    if number is not None:
        return from_epoch(number)
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if _int(v) is not None}


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _geo(point: GeoPoint | None) -> GeoOut | None:
    return None if point is None else GeoOut(lat=point.lat, lon=point.lon, h3=point.h3)


def silo_rows(store: Store, silo: str) -> Rows:
    """Recent detections that carry ``attributes.<silo>``, with it, newest first."""
    found = store.detections(limit=None)[-SCAN_LIMIT:]
    return [
        (d, d.attributes[silo]) for d in reversed(found) if isinstance(d.attributes.get(silo), dict)
    ]


def devices(rows: Rows) -> list[DeviceOut]:
    """Devices by risk, highest first."""
    seen: dict[str, dict[str, Any]] = {}
    for d, attrs in rows:
        device = _str(attrs.get("device_id")) or d.entity.get("device.id") or "unknown"
        entry = seen.setdefault(
            device,
            {
                "device_id": device,
                "class": _str(attrs.get("class")),
                "score": None,
                "reasons": set(),
                "detections": 0,
                "last_seen": d.timestamp,
                "geo": _geo(d.geo),
            },
        )
        score = _num(attrs.get("score"))
        if score is not None and (entry["score"] is None or score > entry["score"]):
            entry["score"] = score
        entry["reasons"].update(_strs(attrs.get("reasons")))
        entry["detections"] += 1
        entry["last_seen"] = max(entry["last_seen"], d.timestamp)
    out = [DeviceOut(**{**e, "reasons": sorted(e["reasons"])}) for e in seen.values()]
    return sorted(out, key=lambda e: (-(e.score or 0.0), e.device_id))


def zones(rows: Rows) -> list[ZoneOut]:
    """Each zone's and gate's latest state, worst level of service first."""
    latest: dict[tuple[str, str], ZoneOut] = {}
    for d, attrs in rows:
        zone, gate = _str(attrs.get("zone")), _str(attrs.get("gate"))
        key = (_str(attrs.get("venue")) or "unknown", zone or gate or "whole venue")
        if key in latest:
            continue
        latest[key] = ZoneOut(
            venue=key[0],
            place=key[1],
            kind="zone" if zone else "gate" if gate else "venue",
            density_ppm2=_num(attrs.get("density_ppm2")),
            los=_str(attrs.get("los")),
            flow_ppmm=_num(attrs.get("flow_ppmm")),
            time_to_critical_min=_num(attrs.get("time_to_critical_min")),
            egress_min=_num(attrs.get("egress_min")),
            measures=_strs(attrs.get("measures")),
            at=d.timestamp,
            detection_id=d.id,
            geo=_geo(d.geo),
        )
    rank = {los: n for n, los in enumerate(LOS_ORDER)}
    return sorted(latest.values(), key=lambda z: (-rank.get(z.los or "", -1), z.venue, z.place))


def _cells(items: object) -> Iterable[CellOut]:
    for cell in items if isinstance(items, list) else []:
        if not isinstance(cell, dict):
            continue
        for grid in ("h3", "utm_1km", "utm_10km"):
            ident = _str(cell.get(grid))
            if ident:
                yield CellOut(
                    cell=ident,
                    grid=grid,
                    cdi=_num(cell.get("cdi")),
                    reports=_int(cell.get("reports")),
                    predicted=cell.get("predicted") is True,
                )
                break


def quakes(rows: Rows) -> list[QuakeOut]:
    """Each quake once (its latest detection), newest first."""
    out: dict[str, QuakeOut] = {}
    for d, attrs in rows:
        key = d.entity.get("quake.id") or f"{d.rule_id}:{attrs.get('origin_time')}"
        if key in out:
            continue
        priorities = [p for p in attrs.get("priorities", []) or [] if isinstance(p, dict)]
        out[key] = QuakeOut(
            detection_id=d.id,
            summary=d.summary,
            origin_time=_when(attrs.get("origin_time")),
            lat=_num(attrs.get("lat")),
            lon=_num(attrs.get("lon")),
            depth_km=_num(attrs.get("depth_km")),
            magnitude=_num(attrs.get("magnitude")),
            magnitude_error=_num(attrs.get("magnitude_error")),
            location_error_km=_num(attrs.get("location_error_km")),
            cells=list(_cells(attrs.get("cells"))),
            priorities=[
                PriorityOut(
                    kind=_str(p.get("kind")),
                    id=_str(p.get("id")),
                    name=_str(p.get("name")),
                    score=_num(p.get("score")),
                    mmi=_num(p.get("mmi")),
                )
                for p in priorities
            ],
        )
    return list(out.values())


def social_events(rows: Rows) -> list[SocialEventOut]:
    """Events found in posts, newest first."""
    out = []
    for d, attrs in rows:
        posts = attrs.get("posts")
        texts = [
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in (posts if isinstance(posts, list) else [])
            if isinstance(p, str | dict)
        ]
        out.append(
            SocialEventOut(
                detection_id=d.id,
                summary=d.summary,
                severity=d.severity,
                category=_str(attrs.get("category")),
                place=_str(attrs.get("place")),
                first_seen=_when(attrs.get("first_seen")),
                posts=len(posts) if isinstance(posts, list) else _int(posts),
                texts=texts,
                authors=_int(attrs.get("authors")),
                sources=_counts(attrs.get("sources")),
                geo=_geo(d.geo),
            )
        )
    return out


def cell_polygon(cell: CellOut) -> list[list[float]] | None:
    """The ring of an H3 or UTM cell as GeoJSON ``[lon, lat]`` positions (None for an id that
    is not one)."""
    if cell.grid == "h3":
        if not h3.is_valid_cell(cell.cell):
            return None
        ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell.cell)]
        return [*ring, ring[0]]
    size = {"utm_1km": 1, "utm_10km": 10}.get(cell.grid)
    try:
        corners = utm_cell_ring(cell.cell, size) if size else None
    except ValueError:  # not a cell id, or out of the UTM range
        return None
    return None if corners is None else [[lon, lat] for lat, lon in corners]
