"""The venue model: the packaged arena, GeoJSON venues, and errors that say what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from citywatch.errors import ConfigError
from citywatch.ingest.venue import ARENA_YAML, SAFE_RATE_PPMM, load_venue


def test_the_arena_has_real_zones_gates_and_links() -> None:
    venue = load_venue(ARENA_YAML)
    assert (venue.id, venue.name) == ("arena", "Aldmere Arena")
    assert sum(z.capacity for z in venue.zones if z.kind in ("standing", "seated")) == 24000
    assert {g.name for g in venue.gates} >= {"Gate 1", "Gate 3", "Exit A", "Exit B"}
    gate = venue.gate("g3")
    assert gate.zones == ["concourse-s", "south-forecourt"] and gate.exits
    assert gate.safe_per_min == gate.width_m * SAFE_RATE_PPMM["level"]
    (stairs,) = [link for link, _ in venue.links_of("north-stand")]
    assert stairs.kind == "stairs" and stairs.safe_per_min == 14.0 * 66
    assert venue.outward("concourse-n") == [("Gate 1", 492.0), ("Gate 2", 492.0)]
    centroid = venue.zone("north-stand").centroid
    assert centroid is not None and abs(centroid[0] - 45.8266) < 0.001


def test_geojson_venue(tmp_path: Path) -> None:
    raw = yaml.safe_load(ARENA_YAML.read_text())
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [zone.pop("polygon")]},
            "properties": {"role": "zone", **zone},
        }
        for zone in raw.pop("zones")
    ]
    path = tmp_path / "arena.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "venue": raw, "features": features}))
    assert load_venue(path) == load_venue(ARENA_YAML)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: v\nname: V\nzones: []\n"
         "gates: [{id: g, name: G, width_m: 2, zones: [nope]}]\n", "gate g"),
        ("id: v\nname: V\nzones: [{id: z, name: Z, kind: hall, area_m2: 1, capacity: 1}]\n"
         "gates: []\n", "kind"),
        ("id: v\nname: V\nzones: [{id: z, name: Z, kind: plaza, area_m2: 0, capacity: 1}]\n"
         "gates: []\n", "area_m2"),
        ("id: [unclosed\n", "not YAML"),
    ],
)  # fmt: skip
def test_bad_venue_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "venue.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_venue(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_venue(tmp_path / "missing.yaml")
