"""The dashboard's pages in process: roles, login redirect, silo pages from detections."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.test_rbac import EXPECTED as API_MATRIX

from citywatch.api import ROLES, route_table
from citywatch.api.credentials import hash_password
from citywatch.config import Settings
from citywatch.detect.portal.profile import PortalProfile
from citywatch.model import Detection, GeoPoint, Incident, IncidentStatus
from citywatch.store import Store, open_store
from citywatch.store.base import User
from citywatch.web import CityMap, create_app

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
PASSWORD = "correct horse battery staple"
READ = ROLES[:5]
PAGES: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("GET", "/login"): None,
    ("GET", "/public"): None,
    ("GET", "/"): READ,
    ("GET", "/incidents/{incident_id}"): READ,
    ("GET", "/alerts"): READ,
    ("GET", "/portal"): READ,
    ("GET", "/iot"): READ,
    ("GET", "/venue"): READ,
    ("GET", "/quake"): READ,
    ("GET", "/social"): READ,
    ("GET", "/assets/{path}"): None,
    ("GET", "/vendor/leaflet/{path}"): None,
}
"""The dashboard's routes and who may see them (the API's are pinned in tests/api)."""

CITY = {
    "type": "FeatureCollection",
    "properties": {"city": "Aldmere", "centre": {"lat": 45.815, "lon": 15.9819}},
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Old Town"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[15.97, 45.81], [15.99, 45.81], [15.99, 45.82], [15.97, 45.81]]],
            },
        }
    ],
}


def detection(
    ident: str, detector: str, silo: str, attrs: dict[str, object], **kw: object
) -> Detection:
    base: dict[str, object] = {
        "id": ident,
        "timestamp": T0,
        "detector": detector,
        "rule_id": "R-1",
        "rule_name": "rule",
        "severity": 70,
        "confidence": 0.8,
        "category": "public_safety",
        "summary": f"{silo} finding {ident}",
        "entity": {},
        "evidence": ["e1"],
        "first_seen": T0,
        "last_seen": T0,
        "attributes": {silo: attrs},
    }
    base.update(kw)
    return Detection(**base)  # type: ignore[arg-type]


SILO_DETECTIONS = [
    detection(
        "p1",
        "web-attacks",
        "portal",
        {"class": "sqli", "snippet": "' OR 1=1"},
        entity={"source.ip": "203.0.113.7"},
        category="cyber",
    ),
    detection(
        "i1",
        "iot.telnet",
        "iot",
        {
            "device_id": "cam-0042",
            "class": "camera",
            "reasons": ["default password", "telnet open"],
            "score": 0.93,
        },
        geo=GeoPoint(lat=45.82, lon=15.97),
    ),
    detection(
        "c1",
        "crowd.density",
        "crowd",
        {
            "venue": "arena",
            "zone": "north-stand",
            "density_ppm2": 4.7,
            "density_band": [4, 5],
            "los": "E",
            "flow_ppmm": 81,
            "time_to_critical_min": 6,
            "egress_min": 14,
            "measures": ["open gate g3"],
        },
        geo=GeoPoint(lat=45.8262, lon=15.9585),
    ),
    detection(
        "q1",
        "quake.locate",
        "quake",
        {
            "origin_time": "2026-03-14T10:00:00Z",
            "lat": 45.708,
            "lon": 16.105,
            "depth_km": 10,
            "magnitude": 4.8,
            "location_error_km": 3,
            "magnitude_error": 0.2,
            "cells": [
                {"h3": "881e130db7fffff", "cdi": 5.1, "reports": 12, "predicted": False},
                {"h3": "not-a-cell", "cdi": 3},
            ],
            "priorities": [
                {"kind": "hospital", "id": "h1", "name": "St Anne's", "score": 0.9, "mmi": 6}
            ],
        },
    ),
    detection(
        "s1",
        "social.events",
        "social",
        {
            "category": "violence",
            "place": "Market Square",
            "first_seen": "2026-03-14T09:58:00Z",
            "posts": 17,
            "authors": 11,
            "sources": ["mastodon", "rss"],
        },
        geo=GeoPoint(lat=45.813, lon=15.977),
    ),
]


@pytest.fixture
def store() -> Iterator[Store]:
    opened = open_store("sqlite:///:memory:")
    opened.upsert_detections(SILO_DETECTIONS)
    opened.upsert_incidents(
        [
            Incident(
                id="inc-1",
                title="Crush risk at the arena",
                status=IncidentStatus.NEW,
                severity=88,
                category="public_safety",
                first_seen=T0,
                last_seen=T0 + timedelta(minutes=9),
                detections=["c1", "s1"],
                measures=["open gate g3"],
            ),
            Incident(
                id="inc-2",
                title="SQL injection on the portal",
                status=IncidentStatus.NEW,
                severity=60,
                category="cyber",
                first_seen=T0,
                last_seen=T0,
                detections=["p1"],
            ),
        ]
    )
    for role in ROLES:
        opened.add_user(
            User(
                name=f"role-{role}", roles=[role], password_hash=hash_password(PASSWORD), created=T0
            )
        )
    yield opened
    opened.close()


@pytest.fixture
def app(store: Store, tmp_path: Path) -> FastAPI:
    city = CityMap(geojson=CITY, name="Aldmere", centre=(45.815, 15.9819), tz=CET)
    return create_app(Settings(data_dir=tmp_path), store, city=city)


@pytest.fixture
def login(app: FastAPI) -> Callable[[str], TestClient]:
    def as_role(role: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        answer = client.post(
            "/api/v1/auth/login", json={"name": f"role-{role}", "password": PASSWORD}
        )
        assert answer.status_code == 200
        return client

    return as_role


def test_every_route_of_the_served_app_is_in_a_role_matrix(app: FastAPI) -> None:
    table = route_table(app.routes)
    assert {k: v for k, v in table.items() if not k[1].startswith("/api/")} == PAGES
    assert {k: v for k, v in table.items() if k[1].startswith("/api/")} == API_MATRIX


def url(path: str) -> str:
    asset = "leaflet.css" if path.startswith("/vendor/leaflet/") else "app.css"
    return path.replace("{incident_id}", "inc-1").replace("{path}", asset)


@pytest.mark.parametrize("key", sorted(PAGES), ids=lambda k: k[1])
def test_page_role_matrix(
    key: tuple[str, str], app: FastAPI, login: Callable[[str], TestClient]
) -> None:
    path = url(key[1])
    allowed = PAGES[key]
    anonymous = TestClient(app, follow_redirects=False).get(path)
    if allowed is None:
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next={path}"
    for role in ROLES:
        status = login(role).get(path).status_code
        assert status == (200 if role in allowed else 403), (role, status)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_silo_pages_render_from_detection_attributes(
    login: Callable[[str], TestClient], store: Store
) -> None:
    viewer = login("viewer")
    portal = text(viewer.get("/portal").text)
    assert "sqli" in portal and "203.0.113.7" in portal
    assert "No model learned yet" in portal
    store.save_state(f"model/{PortalProfile.name}", PortalProfile().snapshot_model())
    assert "Learned from 0 requests" in text(viewer.get("/portal").text)
    iot = text(viewer.get("/iot").text)
    assert "cam-0042" in iot and "0.93" in iot and "default password; telnet open" in iot
    venue = text(viewer.get("/venue").text)
    assert "north-stand" in venue and " E " in venue and "open gate g3" in venue
    quake = viewer.get("/quake").text
    assert "St Anne" in quake and "M 4.8 ± 0.2" in text(quake)
    assert '"cell": "881e130db7fffff"' in quake  # the valid cell is on the map, the bad one not
    assert "not-a-cell" not in quake
    social = text(viewer.get("/social").text)
    assert "Market Square" in social and "mastodon, rss" in social and " 11 " in social


def test_the_overview_maps_every_open_incident(login: Callable[[str], TestClient]) -> None:
    page = login("analyst").get("/").text
    assert "Crush risk at the arena" in page and "SQL injection on the portal" in page
    layer = re.search(r'<script type="application/json" id="layer-data">(.*?)</script>', page, re.S)
    assert layer is not None
    assert layer.group(1).count('"type": "Feature"') == 2
    assert '"placed": false' in layer.group(1)  # the portal attack has no place
    assert "crowd" in text(page) and "Old Town" in page


def test_the_incident_page_shows_evidence_measures_and_actions_by_role(
    login: Callable[[str], TestClient],
) -> None:
    viewer = text(login("viewer").get("/incidents/inc-1").text)
    assert "Evidence timeline (2 detections)" in viewer and "open gate g3" in viewer
    assert "Add comment" not in viewer and "Draft public alert" not in viewer
    analyst = text(login("analyst").get("/incidents/inc-1").text)
    assert "Add comment" in analyst and "Draft public alert" not in analyst
    officer = text(login("alert-officer").get("/incidents/inc-1").text)
    assert "Draft public alert" in officer


def test_pages_carry_the_secure_headers_and_no_inline_script(
    login: Callable[[str], TestClient],
) -> None:
    answer = login("viewer").get("/")
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert re.search(r"<script(?![^>]*(src=|application/json))", answer.text) is None
    assert ' style="' not in answer.text
    assert '<meta name="csrf-token"' in answer.text


def test_alerts_are_written_in_the_citys_time_and_sent_with_the_csrf_token(
    login: Callable[[str], TestClient],
) -> None:
    officer = login("alert-officer")
    body = {"incident_id": "inc-1"}
    assert officer.post("/api/v1/alerts", json=body).status_code == 403  # no CSRF token
    csrf = officer.get("/api/v1/auth/me").json()["csrf_token"]
    made = officer.post("/api/v1/alerts", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert made.json()["sent"].endswith("+01:00")
    assert "since 10:00" in text(
        officer.get(f"/api/v1/alerts/{made.json()['identifier']}/cap").text
    )
