"""The silos' resources, read from detections' ``attributes.<silo>`` (FORMATS.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from citywatch.model import GeoPoint
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


def test_devices_by_risk_with_every_reason(
    client: TestClient, store: Store, build: type, auth: Auth
) -> None:
    t0 = build.T0
    store.upsert_detections(
        [
            build.detection(
                "d1",
                detector="iot.posture",
                timestamp=t0,
                attributes={
                    "iot": {
                        "device_id": "cam-1",
                        "class": "camera",
                        "reasons": ["default password"],
                        "score": 0.4,
                    }
                },
            ),
            build.detection(
                "d2",
                detector="iot.c2",
                timestamp=t0 + timedelta(minutes=5),
                geo=GeoPoint(lat=45.8, lon=15.9),
                attributes={
                    "iot": {
                        "device_id": "cam-1",
                        "class": "camera",
                        "reasons": ["beacons to a C2 server"],
                        "score": 0.9,
                    }
                },
            ),
            build.detection(
                "d3",
                detector="iot.posture",
                attributes={"iot": {"device_id": "meter-7", "score": "high", "reasons": "telnet"}},
            ),
        ]
    )
    got = client.get("/api/v1/devices", headers=auth("viewer")).json()
    assert [d["device_id"] for d in got] == ["cam-1", "meter-7"]
    cam, meter = got
    assert cam["score"] == 0.9 and cam["class"] == "camera" and cam["detections"] == 2
    assert cam["reasons"] == ["beacons to a C2 server", "default password"]
    assert cam["geo"]["lat"] == 45.8
    assert (meter["score"], meter["reasons"], meter["class"]) == (None, [], None)  # bad types


def test_zones_latest_state_worst_first(
    client: TestClient, store: Store, build: type, auth: Auth
) -> None:
    t0 = build.T0
    crowd = {"venue": "arena", "zone": "north", "density_ppm2": 2.0, "los": "C", "measures": []}
    store.upsert_detections(
        [
            build.detection(
                "c1", detector="crowd.density", timestamp=t0, attributes={"crowd": crowd}
            ),
            build.detection(
                "c2",
                detector="crowd.density",
                timestamp=t0 + timedelta(minutes=1),
                attributes={
                    "crowd": {
                        **crowd,
                        "density_ppm2": 4.9,
                        "los": "F",
                        "time_to_critical_min": 0,
                        "measures": ["close the north stairs"],
                    }
                },
            ),
            build.detection(
                "c3",
                detector="crowd.flow",
                attributes={"crowd": {"venue": "arena", "gate": "g3", "los": "B", "flow_ppmm": 40}},
            ),
            build.detection(  # an evacuation: the whole venue, no zone (was "unknown zone")
                "c4",
                detector="crowd.exodus",
                attributes={"crowd": {"venue": "arena", "egress_min": 5.8, "measures": ["open"]}},
            ),
        ]
    )
    got = client.get("/api/v1/zones", headers=auth("responder")).json()
    assert [(z["place"], z["kind"], z["los"]) for z in got] == [
        ("north", "zone", "F"),
        ("g3", "gate", "B"),
        ("whole venue", "venue", None),
    ]
    assert got[0]["density_ppm2"] == 4.9 and got[0]["measures"] == ["close the north stairs"]
    assert got[0]["detection_id"] == "c2"


def test_quakes_with_cells_and_priorities_and_social_events(
    client: TestClient, store: Store, build: type, auth: Auth
) -> None:
    quake = {
        "origin_time": "2026-03-01T10:00:00Z",
        "magnitude": 4.8,
        "lat": 45.7,
        "lon": 16.1,
        "cells": [
            {"h3": "881e130db7fffff", "cdi": 5.2, "reports": 9},
            {"utm_1km": "33TWL1234", "cdi": 4.0, "predicted": True},
            "junk",
        ],
        "priorities": [
            {"kind": "hospital", "id": "h1", "name": "St Anne's", "score": 0.9, "mmi": 6.1}
        ],
    }
    social = {
        "category": "violence",
        "place": "Market Square",
        "posts": ["fight!", {"text": "police"}],
        "authors": 2,
        "first_seen": 1773482280.0,
        "sources": {"social": 1, "news": 1},
    }
    store.upsert_detections(
        [
            build.detection("q1", detector="quake.locate", attributes={"quake": quake}),
            build.detection("s1", detector="social.events", attributes={"social": social}),
        ]
    )
    [q] = client.get("/api/v1/quakes", headers=auth("alert-officer")).json()
    assert q["magnitude"] == 4.8
    assert [(c["grid"], c["cell"], c["predicted"]) for c in q["cells"]] == [
        ("h3", "881e130db7fffff", False),
        ("utm_1km", "33TWL1234", True),
    ]
    assert q["priorities"][0]["name"] == "St Anne's"
    [s] = client.get("/api/v1/social-events", headers=auth("analyst")).json()
    assert (s["posts"], s["texts"], s["authors"]) == (2, ["fight!", "police"], 2)
    # both were dropped: the detector keeps an epoch and counts by kind of source
    assert (s["first_seen"], s["sources"]) == ("2026-03-14T09:58:00Z", {"social": 1, "news": 1})
    assert client.get("/api/v1/social-events", headers=auth("ingest")).status_code == 403
