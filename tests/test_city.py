"""The city's map names the district a point lies in, and the pipeline names it on every
detection at a point: before, an IoT outage or a compromised camera said where only in
coordinates, and a city had no setting to give its own districts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import msgspec
import numpy as np
import pytest
from pydantic import BaseModel

from citywatch.app import build_job, city_map
from citywatch.bus import DETECTIONS, LocalBus
from citywatch.city import CityMap
from citywatch.config import Settings
from citywatch.detect import Detector
from citywatch.errors import ConfigError
from citywatch.model import Detection, Event, GeoPoint
from citywatch.pipeline import Job
from citywatch.simulate.city import build_city, geojson
from citywatch.simulate.quake.physics import points_in

SQUARE = [[15.0, 45.0], [15.1, 45.0], [15.1, 45.1], [15.0, 45.1], [15.0, 45.0]]
HOLE = [[15.04, 45.04], [15.06, 45.04], [15.06, 45.06], [15.04, 45.06], [15.04, 45.04]]
ISLAND = [[15.2, 45.0], [15.3, 45.0], [15.3, 45.1], [15.2, 45.1], [15.2, 45.0]]


def _feature(name: object, geometry: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def _map(*features: dict[str, object]) -> dict[str, object]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_every_point_of_a_synthetic_district_is_named_for_it() -> None:
    city = build_city(3)
    names = CityMap(geojson=geojson(city))
    rng = np.random.default_rng(5)
    for district in city.districts:
        lats, lons = points_in(district, 25, rng)
        assert {names.district_at(la, lo) for la, lo in zip(lats, lons, strict=True)} == {
            district.name
        }
    assert names.district_at(city.lat + 1.0, city.lon) is None  # a hundred km away


def test_islands_and_holes() -> None:
    town = _feature("Otok", {"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [ISLAND]]})
    park = _feature("Park", {"type": "Polygon", "coordinates": [HOLE]})
    names = CityMap(geojson=_map(town, park))
    assert names.district_at(45.02, 15.02) == "Otok"
    assert names.district_at(45.05, 15.25) == "Otok"  # its island
    assert names.district_at(45.05, 15.05) == "Park"  # in the hole: the next district
    assert names.district_at(45.05, 15.15) is None  # between the two


@pytest.mark.parametrize(
    ("feature", "says"),
    [
        (_feature("", {"type": "Polygon", "coordinates": [SQUARE]}), "no properties.name"),
        (_feature("A", {"type": "Point", "coordinates": [15, 45]}), "not Point"),
        (_feature("A", {"type": "Polygon", "coordinates": [SQUARE[:3]]}), "4 .lon, lat. corners"),
        (_feature("A", {"type": "Polygon", "coordinates": [[["x", 1]] * 4]}), "numbers"),
        (_feature("A", {"type": "Polygon", "coordinates": "no"}), "lists of rings"),
        ("a string", "not a GeoJSON Feature"),
    ],
)
def test_a_bad_district_is_named_with_what_to_fix(
    tmp_path: Path, feature: object, says: str
) -> None:
    path = tmp_path / "city.geojson"
    good = _feature("B", {"type": "Polygon", "coordinates": [SQUARE]})
    path.write_text(json.dumps(_map(good, feature)), encoding="utf-8")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"district 2: .*{says}"):
        CityMap.load(path)


class _NoConfig(BaseModel):
    pass


class _Pin(Detector[msgspec.Struct]):
    """Emits one detection per event, at the event's point (the test's own detector)."""

    name: ClassVar[str] = "pin"
    description: ClassVar[str] = "a detection at each event's point"
    config_model: ClassVar[type[BaseModel]] = _NoConfig
    state_type: ClassVar[type[msgspec.Struct]] = msgspec.Struct

    def keys(self, event: Event) -> tuple[str, ...]:
        return ("all",)

    def new_state(self, key: str) -> msgspec.Struct:
        return msgspec.Struct()

    def update(self, key: str, state: msgspec.Struct, event: Event, out: list[Detection]) -> None:
        when = datetime.fromtimestamp(event.timestamp, tz=UTC)
        entity = {"device.id": event.id}
        if event.id == "named":
            entity["district"] = "As the detector said"
        out.append(
            Detection(
                id=f"d-{event.id}", timestamp=when, detector=self.name, rule_id="pin",
                rule_name="Pin", severity=50, confidence=0.5, category="public_safety",
                summary="here", entity=entity, evidence=[event.id], first_seen=when,
                last_seen=when, geo=event.geo,
            )
        )  # fmt: skip

    def expire(
        self, key: str, state: msgspec.Struct, watermark: float, out: list[Detection]
    ) -> bool:
        return False


def _events() -> list[Event]:
    at = {"in": (45.02, 15.02), "out": (46.0, 15.02), "named": (45.03, 15.03), "nowhere": None}
    return [
        Event(
            id=name,
            timestamp=1_773_475_200.0 + i,
            dataset="test",
            geo=GeoPoint(lat=p[0], lon=p[1]) if p else None,
        )
        for i, (name, p) in enumerate(at.items())
    ]


def test_the_pipeline_names_the_district_of_a_detection_at_a_point(tmp_path: Path) -> None:
    path = tmp_path / "districts.geojson"
    path.write_text(
        json.dumps(_map(_feature("Trnje", {"type": "Polygon", "coordinates": [SQUARE]})))
    )
    settings = Settings(data_dir=tmp_path / "data", city_map=path)
    assert city_map(settings).district_at(45.05, 15.05) == "Trnje"
    assert build_job(settings, LocalBus()).city is not None  # the setting reaches the pipeline
    bus = LocalBus()
    got: list[Detection] = []
    bus.subscribe(DETECTIONS, got.extend)
    job = Job(
        adapters={}, enricher=None, detectors=[_Pin()], correlator=None, bus=bus,
        city=city_map(settings),
    )  # fmt: skip
    job.process(_events())
    job.flush()
    districts = {d.evidence[0]: d.entity.get("district") for d in got}
    assert districts == {
        "in": "Trnje",
        "out": None,
        "named": "As the detector said",
        "nowhere": None,
    }


def test_without_a_map_nothing_is_placed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "empty")
    assert not city_map(settings).has_districts
    assert build_job(settings, LocalBus()).city is None
