"""The earthquake silo's adapters: phone triggers, felt reports, exposure."""

from __future__ import annotations

import json

from citywatch.ingest import ExposureAdapter, FeltReportsAdapter, PhoneTriggersAdapter
from citywatch.model import DeadLetter, Event, Exposure, FeltReport, SensorTrigger


def test_phone_triggers_parse_and_reject() -> None:
    lines = [
        b'{"id":"t1","time":"2026-03-14T12:06:03.5Z","lat":45.81,"lon":15.98,"pga_g":0.02,'
        b'"device":"ph-1","device_class":"phone"}',
        b'{"id":"t2","time":1773489963,"lat":45.81,"lon":15.98}',
        b'{"id":"t3","time":1773489963,"lat":95,"lon":15.98,"pga_g":0.02}',
        b'{"id":"t4","time":1773489963,"lat":45.8,"lon":15.9,"pga_g":-1}',
    ]
    ok, missing, lat, pga = list(PhoneTriggersAdapter().parse("f", lines))
    assert isinstance(ok, Event) and isinstance(ok.payload, SensorTrigger)
    assert (ok.id, ok.timestamp, ok.device_id) == ("t1", 1773489963.5, "ph-1")
    assert ok.dataset == "quake.trigger" and ok.payload.device_class == "phone"
    assert isinstance(missing, DeadLetter) and missing.code == "missing-field"
    assert "pga_g" in missing.reason
    assert isinstance(lat, DeadLetter) and "lat" in lat.reason
    assert isinstance(pga, DeadLetter) and "pga_g" in pga.reason


def test_felt_reports_keep_absent_answers_absent_and_check_codes() -> None:
    lines = [
        b'{"id":"r1","time":10,"lat":45.8,"lon":15.9,"felt":1,"motion":2,"damage":0.75}',
        b'{"id":"r2","time":10,"postcode":"10020","felt":"1"}',
        b'{"id":"r3","time":10,"lat":45.8,"lon":15.9,"motion":7}',
        b'{"id":"r4","time":10,"damage":0.6,"lat":45.8,"lon":15.9}',
        b'{"id":"r5","time":10,"felt":1}',
        b'{"id":"r6","time":10,"lat":45.8,"felt":1}',
    ]
    r1, r2, r3, r4, r5, r6 = list(FeltReportsAdapter().parse("f", lines))
    assert isinstance(r1, Event) and isinstance(r1.payload, FeltReport)
    assert (r1.payload.felt, r1.payload.motion, r1.payload.damage) == (1.0, 2.0, 0.75)
    assert r1.payload.shelf is None, "absent is not zero"
    assert isinstance(r2, Event) and r2.geo is None and r2.payload.postcode == "10020"  # type: ignore[union-attr]
    assert isinstance(r3, DeadLetter) and "motion" in r3.reason
    assert isinstance(r4, DeadLetter) and "damage" in r4.reason
    assert isinstance(r5, DeadLetter) and r5.code == "missing-field", "no place at all"
    assert isinstance(r6, DeadLetter) and "lon" in r6.reason


def test_exposure_features_and_flat_records() -> None:
    lines = [
        b'{"type":"Feature","properties":{"kind":"care_home","id":"c1","name":"Oak House",'
        b'"population":80,"vulnerability":"a"},"geometry":{"type":"Point","coordinates":[15.9,45.8]}}',
        b'{"type":"Feature","properties":{"id":"d1","name":"Centre","postcode":"10010",'
        b'"population":21000},"geometry":{"type":"Polygon","coordinates":'
        b"[[[15.9,45.8],[16.0,45.8],[16.0,45.9],[15.9,45.8]]]}}",
        b'{"kind":"bridge","id":"b1","lat":45.81,"lon":15.97,"vulnerability":"E"}',
        b'{"type":"Feature","properties":{"kind":"school"},"geometry":{"type":"LineString"}}',
        b'{"type":"FeatureCollection","features":[]}',
    ]
    care, district, bad_class, bad_geometry, collection = list(ExposureAdapter().parse("x", lines))
    assert isinstance(care, Event) and isinstance(care.payload, Exposure)
    assert (care.payload.kind, care.payload.vulnerability, care.payload.population) == (
        "care_home",
        "A",
        80,
    )
    assert care.geo is not None and (care.geo.lat, care.geo.lon) == (45.8, 15.9)
    assert isinstance(district, Event) and isinstance(district.payload, Exposure)
    assert district.payload.kind == "area" and district.payload.postcode == "10010"
    assert district.timestamp == 0.0, "exposure holds from the epoch unless it says otherwise"
    assert isinstance(bad_class, DeadLetter) and "vulnerability" in bad_class.reason
    assert isinstance(bad_geometry, DeadLetter) and "geometry" in bad_geometry.reason
    assert isinstance(collection, DeadLetter) and "give it as the whole input" in collection.reason


def test_exposure_as_one_feature_collection_as_gis_tools_write_it() -> None:
    # Pretty-printed, it was 85 dead letters saying "invalid JSON".
    features = [
        {"type": "Feature", "properties": {"kind": "school", "id": f"s{n}", "population": 300},
         "geometry": {"type": "Point", "coordinates": [15.9 + n / 100, 45.8]}}
        for n in range(3)
    ] + [7]  # fmt: skip
    doc = json.dumps({"type": "FeatureCollection", "features": features}, indent=2)
    lines = [line.encode() + b"\n" for line in doc.splitlines()]
    *schools, odd = list(ExposureAdapter().parse("x.geojson", lines))
    assert [s.id for s in schools] == ["x.geojson:1", "x.geojson:2", "x.geojson:3"]
    assert all(isinstance(s.payload, Exposure) for s in schools)
    assert isinstance(odd, DeadLetter) and odd.position == 4
    one_line = [json.dumps({"type": "FeatureCollection", "features": features[:1]}).encode()]
    (school,) = ExposureAdapter().parse("y", one_line)
    assert isinstance(school, Event)
    # a feature per line whose first line is broken: that line is lost, not the rest
    broken = [b'{"type":"Feature",', *[json.dumps(f).encode() for f in features[:2]]]
    first, *rest = ExposureAdapter().parse("z", broken)
    assert isinstance(first, DeadLetter) and [type(r) for r in rest] == [Event, Event]
