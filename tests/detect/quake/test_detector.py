"""The quake detector end to end on simulated phones, reports and exposure."""

from __future__ import annotations

import math
from collections.abc import Iterable
from types import SimpleNamespace
from typing import cast

import msgspec
import numpy as np
import pytest

from citywatch.detect import DetectorRunner
from citywatch.detect.quake import QuakeConfig, QuakeDetector
from citywatch.detect.quake.cells import distance_km, utm_cell
from citywatch.detect.quake.detector import felt_circle
from citywatch.detect.quake.state import Quake as TrackedQuake
from citywatch.detect.quake.state import QuakeState
from citywatch.ingest import ExposureAdapter, FeltReportsAdapter, PhoneTriggersAdapter
from citywatch.model import Detection, Event
from citywatch.simulate import schedule
from citywatch.simulate.city import LAT, LON, City, build_city
from citywatch.simulate.quake.exposure import exposure_features
from citywatch.simulate.quake.physics import (
    Phones,
    Quake,
    crowd_triggers,
    felt_reports,
    forged_triggers,
    noise_triggers,
    place_phones,
    quake_triggers,
)

T0 = 1_773_475_200.0
_encode = msgspec.json.Encoder().encode


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(2, residents=60)


@pytest.fixture(scope="module")
def phones(city: City) -> Phones:
    return place_phones(city, np.random.default_rng(7))


def events(adapter: object, records: Iterable[dict[str, object]]) -> list[Event]:
    assert isinstance(adapter, PhoneTriggersAdapter | FeltReportsAdapter | ExposureAdapter)
    out = [i for i in adapter.parse("t", (_encode(r) for r in records)) if isinstance(i, Event)]
    return out


def run(stream: list[Event], config: QuakeConfig | None = None) -> list[Detection]:
    errors: list[Exception] = []
    runner = DetectorRunner(QuakeDetector(config), lambda n, e, x: errors.append(x))
    out: list[Detection] = []
    for event in sorted(stream, key=lambda e: e.timestamp):
        runner.process(event, out)
        runner.advance(event.timestamp - 30, out)
    runner.flush(out)
    assert not errors
    return out


def exposure(city: City) -> list[Event]:
    return events(ExposureAdapter(), exposure_features(city, np.random.default_rng(3)))


def quake_at(km_east: float, km_north: float, origin: float, magnitude: float) -> Quake:
    lat = LAT + km_north / 111.195
    lon = LON + km_east / (111.195 * math.cos(math.radians(LAT)))
    return Quake("q", origin, lat, lon, 10.0, magnitude)


def test_a_quake_is_detected_located_sized_and_mapped(city: City, phones: Phones) -> None:
    rng = np.random.default_rng(11)
    quake = quake_at(12.0, -16.0, T0 + 3600, 5.0)
    stream = exposure(city)
    stream += events(PhoneTriggersAdapter(), quake_triggers(quake, phones, rng))
    stream += events(PhoneTriggersAdapter(), noise_triggers(phones, rng, T0, T0 + 7200, 3.0))
    stream += events(FeltReportsAdapter(), felt_reports(quake, city, rng))
    out = run(stream)
    assert {d.id for d in out} == {out[0].id}, "one quake, one detection re-emitted as it grows"
    first, final = out[0], out[-1]
    assert first.timestamp.timestamp() - quake.origin <= 10.0
    q = final.attributes["quake"]
    assert distance_km(q["lat"], q["lon"], quake.lat, quake.lon) <= 5.0
    assert abs(q["magnitude"] - quake.magnitude) <= 0.3
    assert q["location_error_km"] >= 1.0 and q["magnitude_error"] > 0, "the model adds its own"
    assert final.entity == {"quake.id": first.id}
    assert final.category == "public_safety" and final.rule_name == "Earthquake"
    assert final.geo is not None and final.geo.h3
    cells = q["cells"]
    for scheme in ("utm_1km", "utm_10km", "h3"):
        observed = [c for c in cells if scheme in c and not c["predicted"]]
        assert observed and all(c["reports"] > 0 for c in observed)
        assert all(2.0 <= c["cdi"] <= 9.0 for c in observed)
    predicted = [c for c in cells if c["predicted"]]
    assert predicted and all(c["reports"] == 0 for c in predicted)
    ranked = q["priorities"]
    assert ranked and [p["score"] for p in ranked] == sorted(
        (p["score"] for p in ranked), reverse=True
    )
    assert {"kind", "id", "name", "score", "mmi"} <= set(ranked[0])
    felt = [p for p in ranked if p["kind"] == "area" and p["mmi"] >= 5.0]
    assert q["people"] == sum(p["population"] for p in felt), "the people the shaking reaches"
    circle = q["circle"]  # what a public warning covers: out to where all felt it
    assert (circle["lat"], circle["lon"]) == (q["lat"], q["lon"]) and circle["radius_km"] > 10
    assert q["reports"] > 100 and q["unlocated_reports"] == 0, "postcodes resolve via exposure"


def test_forged_street_and_stadium_crowd_and_noise_are_not_quakes(
    city: City, phones: Phones
) -> None:
    rng = np.random.default_rng(5)
    arena = (schedule.ARENA_LAT, schedule.ARENA_LON)
    records = noise_triggers(phones, rng, T0, T0 + 2 * 86400, 3.0)
    for k in range(6):
        records += crowd_triggers(rng, T0 + 3600 * (k + 1), *arena, n=150, span_s=30.0, tag=f"c{k}")
        records += forged_triggers(
            rng, T0 + 3600 * (k + 1) + 1800, *city.districts[k].centroid, n=12, tag=f"f{k}"
        )
    records += forged_triggers(rng, T0 + 9 * 3600, *arena, n=40, tag="many")
    assert run(exposure(city) + events(PhoneTriggersAdapter(), records)) == []


def test_a_lone_cluster_with_the_same_count_but_no_caps_would_fire(
    city: City, phones: Phones
) -> None:
    """The caps are what stop the crowd: without them the same crowd is a 'quake' candidate."""
    rng = np.random.default_rng(5)
    arena = (schedule.ARENA_LAT, schedule.ARENA_LON)
    crowd = crowd_triggers(rng, T0, *arena, n=150, span_s=30.0, tag="c")
    loose = QuakeConfig(cell_cap=1000, min_extent_km=0.01, max_residual_s=100.0)
    assert run(events(PhoneTriggersAdapter(), crowd), loose), "the robust settings matter"


def test_an_aftershock_joins_the_main_shock(city: City, phones: Phones) -> None:
    rng = np.random.default_rng(21)
    main = quake_at(-10.0, 8.0, T0 + 600, 5.4)
    after = quake_at(-8.0, 10.0, T0 + 600 + 5400, 4.6)
    stream = exposure(city)
    stream += events(PhoneTriggersAdapter(), quake_triggers(main, phones, rng))
    stream += events(PhoneTriggersAdapter(), quake_triggers(after, phones, rng))
    out = run(stream)
    final = {d.id: d for d in out}
    assert len(final) == 2
    by_rule = {d.rule_id: d for d in final.values()}
    assert by_rule["quake.aftershock"].entity == by_rule["quake.detected"].entity
    assert by_rule["quake.detected"].entity["quake.id"] == by_rule["quake.detected"].id


def test_state_survives_a_checkpoint_mid_quake(city: City, phones: Phones) -> None:
    rng = np.random.default_rng(4)
    quake = quake_at(5.0, 5.0, T0 + 60, 4.8)
    stream = sorted(
        exposure(city) + events(PhoneTriggersAdapter(), quake_triggers(quake, phones, rng)),
        key=lambda e: e.timestamp,
    )
    half = len(stream) - 100
    detector = QuakeDetector()
    runner = DetectorRunner(detector, lambda n, e, x: None)
    out: list[Detection] = []
    for event in stream[:half]:
        runner.process(event, out)
    blob = runner.snapshot()
    restored = DetectorRunner(QuakeDetector(), lambda n, e, x: None)
    restored.restore(blob)
    assert isinstance(restored.states["city"], QuakeState)
    assert restored.states["city"].quakes, "the open quake is in the checkpoint"
    for event in stream[half:]:
        restored.process(event, out)
    restored.flush(out)
    assert len({d.id for d in out}) == 1
    assert len(out[-1].evidence) == len(stream) - len(exposure(city))


def test_reports_with_unknown_postcodes_are_counted_not_placed(city: City, phones: Phones) -> None:
    rng = np.random.default_rng(9)
    quake = quake_at(0.0, -12.0, T0 + 60, 5.0)
    stream = exposure(city) + events(PhoneTriggersAdapter(), quake_triggers(quake, phones, rng))
    stream += events(
        FeltReportsAdapter(),
        [{"id": "r1", "time": T0 + 200, "postcode": "99999", "felt": 1, "motion": 3}],
    )
    q = run(stream)[-1].attributes["quake"]
    assert q["unlocated_reports"] == 1 and q["reports"] == 0


def test_the_felt_circle_reaches_reported_shaking_but_not_one_odd_report() -> None:
    quake = cast(
        TrackedQuake,
        SimpleNamespace(lat=45.708, lon=16.105, depth_km=10.0, magnitude=4.8,
                        location_error_km=1.0),
    )  # fmt: skip
    near = utm_cell(45.80, 16.105, 1)  # ~10 km: inside the relation's reach anyway
    far = utm_cell(46.10, 16.105, 1)  # ~44 km
    base = felt_circle(quake, [], 3)["radius_km"]
    assert 20 < base < 25, "M4.8 at 10 km: MMI V out to about 21 km, plus the location error"
    odd = [{"utm_1km": far, "cdi": 6.0, "reports": 1, "predicted": False}]
    assert felt_circle(quake, odd, 3)["radius_km"] == base, "one odd report does not widen it"
    felt = [{"utm_1km": far, "cdi": 5.5, "reports": 4, "predicted": False}]
    assert felt_circle(quake, felt, 3)["radius_km"] > 40, "reports of strong shaking far out do"
    assert (
        felt_circle(quake, [{"utm_1km": near, "cdi": 7, "reports": 9, "predicted": False}], 3)[
            "radius_km"
        ]
        == base
    )
