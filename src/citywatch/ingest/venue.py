"""The venue model: zones, gates and links of a stadium or arena, from YAML or GeoJSON.

The crowd detector reads counts against this layout: a zone's usable area
turns people into density; a gate's clear width and kind (level or stairs)
turn a flow into persons per metre per minute and give its safe rate (Green
Guide: 82 on the level, 66 on stairs); links say where a zone's people can
go. Format (FORMATS.md, "Venue")::

    id: arena
    name: City Arena
    utc_offset_min: 60          # optional: local time for the measures' clock times
    zones:  [{id, name, kind: standing|seated|concourse|plaza, area_m2, capacity, polygon}]
    gates:  [{id, name, width_m, kind: level|stairs, direction: entry|exit|both, zones: [a, b]}]
    links:  [{from, to, width_m, kind: level|stairs}]

A GeoJSON FeatureCollection works too: Polygon features with ``role: zone``
and the zone's fields as properties, and top-level ``venue`` with ``id``,
``name``, ``gates`` and ``links`` as above.

A gate's ``zones`` lists the zone inside first, then the zone outside; a
zone of kind ``plaza`` is outside the turnstiles. Errors name what to fix.

>>> venue = load_venue(ARENA_YAML)
>>> venue.name, len(venue.zones), venue.gate("g3").name
('Aldmere Arena', 10, 'Gate 3')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec
import yaml

from citywatch.errors import ConfigError
from citywatch.yamlspecs import load_yaml

ARENA_YAML = Path(__file__).resolve().parents[1] / "simulate" / "crowd" / "arena.yaml"
"""The synthetic city's arena (Aldmere Arena), shipped in the package beside its simulator
(found by path, so that reading a venue never imports the simulator)."""

SAFE_RATE_PPMM = {"level": 82.0, "stairs": 66.0}
"""Green Guide rates of passage, persons per metre width per minute."""


class Zone(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One part of the venue where people are counted."""

    id: str
    name: str
    kind: Literal["standing", "seated", "concourse", "plaza"]
    area_m2: float
    capacity: int
    polygon: list[tuple[float, float]] = []

    @property
    def inside(self) -> bool:
        """Inside the turnstiles (plazas are outside)."""
        return self.kind != "plaza"

    @property
    def centroid(self) -> tuple[float, float] | None:
        """(lat, lon) of the polygon's vertex mean, if it has one."""
        if not self.polygon:
            return None
        lon = sum(p[0] for p in self.polygon) / len(self.polygon)
        lat = sum(p[1] for p in self.polygon) / len(self.polygon)
        return lat, lon


class Gate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A gate or exit: its clear width, level or stairs, direction, the zones either side."""

    id: str
    name: str
    width_m: float
    kind: Literal["level", "stairs"] = "level"
    direction: Literal["entry", "exit", "both"] = "both"
    zones: list[str]

    @property
    def safe_per_min(self) -> float:
        """People per minute through the gate at its Green Guide rate."""
        return self.width_m * SAFE_RATE_PPMM[self.kind]

    @property
    def exits(self) -> bool:
        """Whether people may leave through it."""
        return self.direction != "entry"


class Link(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A walkable connection between two zones, with the narrowest width on the way."""

    source: str = msgspec.field(name="from")
    to: str
    width_m: float
    kind: Literal["level", "stairs"] = "level"

    @property
    def safe_per_min(self) -> float:
        """People per minute along the link at its Green Guide rate."""
        return self.width_m * SAFE_RATE_PPMM[self.kind]


class Venue(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A venue's layout."""

    id: str
    name: str
    zones: list[Zone]
    gates: list[Gate]
    links: list[Link] = []
    utc_offset_min: int = 0

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id (KeyError if none)."""
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)

    def gate(self, gate_id: str) -> Gate:
        """The gate with this id (KeyError if none)."""
        for gate in self.gates:
            if gate.id == gate_id:
                return gate
        raise KeyError(gate_id)

    def gates_of(self, zone_id: str) -> list[Gate]:
        """The gates that serve a zone."""
        return [g for g in self.gates if zone_id in g.zones]

    def links_of(self, zone_id: str) -> list[tuple[Link, str]]:
        """The links from a zone, each with the zone at its other end."""
        out: list[tuple[Link, str]] = []
        for link in self.links:
            if link.source == zone_id:
                out.append((link, link.to))
            elif link.to == zone_id:
                out.append((link, link.source))
        return out

    def outward(self, zone_id: str) -> list[tuple[str, float]]:
        """Where a zone's people leave by at safe rates: (gate or link name, people/min).

        Stands leave by their links (vomitories, usually stairs) to the concourse;
        concourses leave by their exit gates.
        """
        zone = self.zone(zone_id)
        if zone.kind in ("standing", "seated"):
            return [
                (f"the way to {self.zone(other).name}", link.safe_per_min)
                for link, other in self.links_of(zone_id)
            ]
        return [
            (g.name, g.safe_per_min)
            for g in self.gates_of(zone_id)
            if g.exits and g.zones[0] == zone_id
        ]

    def __post_init__(self) -> None:
        ids = [z.id for z in self.zones]
        if len(set(ids)) != len(ids):
            raise ValueError("zone ids must be unique")
        if len({g.id for g in self.gates}) != len(self.gates):
            raise ValueError("gate ids must be unique")
        known = set(ids)
        for zone in self.zones:
            if zone.area_m2 <= 0 or zone.capacity < 0:
                raise ValueError(f"zone {zone.id}: area_m2 must be > 0, capacity >= 0")
        for gate in self.gates:
            if gate.width_m <= 0 or not gate.zones or not set(gate.zones) <= known:
                raise ValueError(
                    f"gate {gate.id}: width_m must be > 0 and zones must name known zones"
                )
        for link in self.links:
            if link.width_m <= 0 or not {link.source, link.to} <= known:
                raise ValueError(
                    f"link {link.source}->{link.to}: width_m must be > 0 between known zones"
                )


def load_venue(path: Path) -> Venue:
    """The venue described in ``path`` (``.yaml``/``.yml``, or ``.geojson``/``.json``).

    Raises :class:`~citywatch.errors.ConfigError` saying what is wrong.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the venue file: {exc.strerror}", where=str(path)) from exc
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not YAML or JSON: {exc}", where=str(path)) from exc
    if isinstance(raw, dict) and raw.get("type") == "FeatureCollection":
        raw = _from_geojson(raw, path)
    try:
        return msgspec.convert(raw, type=Venue)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid venue: {exc}", where=str(path)) from exc


def _from_geojson(raw: dict[str, object], path: Path) -> dict[str, object]:
    """The YAML shape of a GeoJSON venue: zones from its Polygon features."""
    head = raw.get("venue")
    features = raw.get("features")
    if not isinstance(head, dict) or not isinstance(features, list):
        raise ConfigError(
            "a GeoJSON venue needs 'venue' {id, name, gates} and features", where=str(path)
        )
    zones = []
    for feature in features:
        if not isinstance(feature, dict):
            continue
        props, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        if not isinstance(props, dict) or props.get("role") != "zone":
            continue
        zone = {k: v for k, v in props.items() if k != "role"}
        if isinstance(geometry, dict) and geometry.get("type") == "Polygon":
            zone["polygon"] = geometry["coordinates"][0]
        zones.append(zone)
    return {**head, "zones": zones}
