"""The dashboard's pages in process: roles, login redirect, silo pages from detections."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.test_rbac import EXPECTED as API_MATRIX

from citywatch.api import ROLES, route_table
from citywatch.api.credentials import hash_password
from citywatch.config import Settings
from citywatch.detect import DETECTORS
from citywatch.detect.portal.profile import PortalProfile
from citywatch.model import (
    Detection,
    Event,
    GeoPoint,
    HttpRequest,
    Incident,
    IncidentStatus,
    PlaybookRun,
    StatusChange,
    StepRun,
    StepStatus,
    Suppression,
)
from citywatch.store import Store, open_store
from citywatch.store.base import StoredAlert, User
from citywatch.web import CityMap, create_app, views

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
    ("GET", "/suppressions"): READ,
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
        {
            "class": "sqli",
            "snippet": "' OR 1=1",
            "samples": [
                {"location": "param:q", "snippet": "' OR 1=1", "rule": "web.sqli.tautology"},
                {
                    "location": "param:amount",
                    "snippet": "99999999999999",
                    "rule": "portal.profile.range",
                    "explanation": "parameter `amount` on POST /tax/file is normally a decimal",
                },
            ],
        },
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
                {"utm_1km": "33T:573:5074", "cdi": 6.3, "reports": 9, "predicted": False},
                {"utm_1km": "33T:574:5071", "cdi": 4.4, "reports": 0, "predicted": True},
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
            "first_seen": 1773482280.0,  # epoch seconds, as the detector keeps it
            "posts": 17,
            "authors": 11,
            "sources": {"social": 15, "news": 2},
        },
        geo=GeoPoint(lat=45.813, lon=15.977),
    ),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The pages' records in a store of each kind: SQLite in memory, a fresh PostgreSQL schema."""
    url = (
        "sqlite:///:memory:"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    opened = open_store(url)
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
                story="stadium-emergency",
                exposure={"services": 2, "people": 1200},
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


def test_a_login_link_leads_only_to_a_page_of_this_site(app: FastAPI) -> None:
    # /login?next=/%5Cevil.example/phish sent the user to http://evil.example/phish after login
    client = TestClient(app)
    for evil in ("/%5Cevil.example/phish", "//evil.example", "https://evil.example/"):
        assert 'data-next="/"' in client.get(f"/login?next={evil}").text
    assert 'data-next="/incidents/inc-1"' in client.get("/login?next=/incidents/inc-1").text


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _app_model() -> PortalProfile:
    """A profile that learned the app's profile call: no body, a Bearer token, a session."""
    profile = PortalProfile(gate=lambda event: [])
    for i in range(200):
        sid = f"{i:04d}abcdefghijklmnopq{i % 7}"[:22]
        request = HttpRequest(
            method="GET",
            uri="/api/v1/me",
            headers=(("Authorization", f"Bearer t{i}"), ("Cookie", f"sid={sid}")),
        )
        pseudonym = f"client-{i % 50}"
        profile.learn(
            Event(
                id=f"l{i}",
                timestamp=float(i),
                dataset="portal.http",
                source_pseudonym=pseudonym,
                payload=request,
            )
        )
    return profile


def test_silo_pages_render_from_detection_attributes(
    login: Callable[[str], TestClient], store: Store
) -> None:
    viewer = login("viewer")
    portal = text(viewer.get("/portal").text)
    assert "sqli" in portal and "203.0.113.7" in portal
    assert "No model learned yet" in portal
    store.save_state(f"model/{PortalProfile.name}", PortalProfile().snapshot_model())
    assert "Learned from 0 requests" in text(viewer.get("/portal").text)
    store.save_state(f"model/{PortalProfile.name}", _app_model().snapshot_model())
    learned = text(viewer.get("/portal").text)
    assert "The portal's own token cookies: sid a token of 22 chars" in learned
    assert "GET /api/v1/me 200 yes no body; Bearer" in learned
    iot = text(viewer.get("/iot").text)
    assert "cam-0042" in iot and "0.93" in iot and "default password; telnet open" in iot
    venue_page = viewer.get("/venue").text
    venue = text(venue_page)
    assert "north-stand" in venue and " E " in venue and "open gate g3" in venue
    assert "<li>open gate g3</li>" in venue_page, "measures as a list, not run together"
    assert "no reading" in venue, "the legend says what grey is"
    layer = json.loads(re.search(r'id="layer-data">(.*?)</script>', venue_page, re.S).group(1))  # type: ignore[union-attr]
    areas = {
        f["properties"]["place"]: f for f in layer["features"] if f["geometry"]["type"] == "Polygon"
    }
    assert len(areas) >= 8, "every zone of the arena is drawn as its area"
    assert areas["Aldmere Arena: North Stand"]["properties"]["los"] == "E", "filled by its LoS"
    quake = viewer.get("/quake").text
    assert "St Anne" in quake and "M 4.8 ± 0.2" in text(quake)
    # the map drew only H3 cells: the 1 km UTM cells the reports fill (and the ranked areas
    # name), the strongest among them, were left out; now one grid, the finest, and the epicentre
    layer = json.loads(re.search(r'id="layer-data">(.*?)</script>', quake, re.S).group(1))  # type: ignore[union-attr]
    drawn = [f["properties"].get("cell") for f in layer["features"]]
    assert drawn == ["33T:573:5074", "33T:574:5071", None], "1 km cells, then the epicentre"
    assert layer["features"][-1]["properties"]["title"] == "Epicentre, M 4.8"
    assert "1 reported, 1 predicted (1 km UTM cells)" in text(quake)
    assert "not-a-cell" not in quake
    social = text(viewer.get("/social").text)
    assert "Market Square" in social and "15 social, 2 news" in social and " 11 " in social
    assert "2026-03-14 10:58 UTC+0100" in social, "first seen, in the city's time"


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
    # what to do comes before the evidence (a botnet's 93 entries put it 7,000 px down)
    assert analyst.index("Actions and approvals") < analyst.index("Evidence timeline")
    # times in the city's zone, said (they were UTC, unlabelled, beside alerts in local time)
    assert re.search(r"first seen \d{4}-\d\d-\d\d \d\d:\d\d UTC\+0100", viewer), viewer[:400]


def test_the_incident_page_lists_what_each_portal_detection_found(
    login: Callable[[str], TestClient],
) -> None:
    page = text(login("viewer").get("/incidents/inc-2").text)
    assert "2 distinct findings" in page
    assert "param:q ' OR 1=1" in page.replace("&#39;", "'")
    assert "param:amount parameter `amount` on POST /tax/file is normally a decimal" in page
    one = text(login("viewer").get("/incidents/inc-1").text)
    assert "distinct findings" not in one  # not for a detection of another silo


def test_the_timeline_says_which_detector_found_each_detection(
    login: Callable[[str], TestClient],
) -> None:
    page = login("viewer").get("/incidents/inc-2").text
    says = DETECTORS["web-attacks"].description
    assert f'by <span class="detector" title="{says}">web-attacks</span>; 1 record)' in page
    other = login("viewer").get("/incidents/inc-1").text  # detectors not registered here
    assert re.search(r'by <span class="detector">[a-z.]+</span>; 1 record\)', other)


@pytest.mark.parametrize("path", ["/", "/incidents/inc-1", "/suppressions"])
def test_pages_carry_the_secure_headers_and_no_inline_script(
    path: str, login: Callable[[str], TestClient]
) -> None:
    answer = login("admin").get(path)
    assert answer.status_code == 200
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert re.search(r"<script(?![^>]*(src=|application/json))", answer.text) is None
    assert ' style="' not in answer.text
    assert re.search(r"<[^>]*\son[a-z]+=", answer.text) is None  # no inline event handler
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


def test_a_draft_whose_original_was_replaced_first_offers_no_publish(
    login: Callable[[str], TestClient], store: Store
) -> None:
    # After an Update went out, the "All clear" Cancel drafted beside it still offered
    # Publish, which failed: "...already replaces it; act on that one".
    from citywatch.respond import cancel, draft_from_incident  # noqa: PLC0415

    incident = store.incident("inc-1")
    assert incident is not None
    original = draft_from_incident(incident, sender="alerts@aldmere.example", drafted_by="ana")
    original = original.approved("ben")
    update = draft_from_incident(
        incident,
        sender="alerts@aldmere.example",
        drafted_by="ana",
        supersedes=original,
        identifier="upd-1",
    ).approved("ben")
    moot = cancel(original, drafted_by="ana", identifier="can-1").approved("ben")
    now = datetime.now(tz=UTC)
    store.save_alert(StoredAlert(alert=original, published=now))
    store.save_alert(StoredAlert(alert=update, published=now))
    store.save_alert(StoredAlert(alert=moot))
    page = login("alert-officer").get("/alerts").text
    row = re.search(r'<tr id="alert-can-1".*?</tr>', page, re.S)
    assert row is not None
    assert "superseded" in row.group(0) and "/publish" not in row.group(0)


RUN = PlaybookRun(
    id="run-1",
    playbook="contain-web-attack",
    incident="inc-2",
    started=T0,
    dry_run=False,
    steps=[
        StepRun(
            id="tell-soc",
            action="notify",
            approval=None,
            status=StepStatus.DONE,
            at=T0,
            summary="notified soc: [60] SQL injection on the portal",
            files=["/data/outbox/notifications.jsonl"],
        ),
        StepRun(
            id="block-sources",
            action="block",
            approval="responder",
            status=StepStatus.AWAITING_APPROVAL,
        ),
        StepRun(id="share-intel", action="share-intel", approval="analyst"),
    ],
)
APPROVE = "/api/v1/playbook-runs/run-1/steps/block-sources/approve"


def test_the_incident_page_shows_its_playbook_runs_and_who_may_decide(
    login: Callable[[str], TestClient], store: Store
) -> None:
    store.add_playbook_run(RUN)
    viewer = login("viewer").get("/incidents/inc-2").text
    steps = text(viewer)
    assert "Playbook runs (1)" in steps and "contain-web-attack" in steps and "in progress" in steps
    assert "1. tell-soc notify done automatic" in steps
    assert "notified soc" in steps and "/data/outbox/notifications.jsonl" in steps
    assert "2. block-sources block awaiting approval needs a responder" in steps
    assert "for a responder to decide" in steps
    assert "3. share-intel share-intel waiting needs an analyst" in steps
    assert APPROVE not in viewer and "/reject" not in viewer
    for role in ("responder", "admin"):
        page = login(role).get("/incidents/inc-2").text
        assert f'data-post="{APPROVE}"' in page, role
        assert 'data-action="/api/v1/playbook-runs/run-1/steps/block-sources/reject"' in page
        assert '<label for="reject-run-1-block-sources">Reason</label>' in page
        assert "share-intel/approve" not in page  # only the step awaiting approval
    for role in ("analyst", "alert-officer"):  # not the step's role
        assert APPROVE not in login(role).get("/incidents/inc-2").text, role

    done = StepRun(
        id="block-sources",
        action="block",
        approval="responder",
        status=StepStatus.DONE,
        approved_by="role-responder",
        at=T0 + timedelta(minutes=5),
        summary="blocked 1 addresses (203.0.113.7) for 4:00:00",
        files=["/data/blocks/inc-2.nft"],
    )
    store.update_playbook_run(
        PlaybookRun(**{**msgspec.structs.asdict(RUN), "steps": [RUN.steps[0], done]})
    )
    after = text(login("responder").get("/incidents/inc-2").text)
    assert "block-sources block done needs a responder; approved by role-responder" in after
    assert "2026-03-14 10:05:00 UTC+0100" in after and "/data/blocks/inc-2.nft" in after
    assert "finished" in after and APPROVE not in after
    assert "No playbook has run for this incident." in text(
        login("viewer").get("/incidents/inc-1").text
    )


def test_the_incident_page_shows_the_story_it_completes_and_its_exposure(
    login: Callable[[str], TestClient],
) -> None:
    page = text(login("viewer").get("/incidents/inc-1").text)
    assert "Story stadium-emergency" in page
    assert "Exposure people 1200 · services 2" in page
    assert "Story" not in text(login("viewer").get("/incidents/inc-2").text)


def suppression(ident: str, **kw: object) -> Suppression:
    now = datetime.now(tz=UTC)
    base: dict[str, object] = {
        "id": ident,
        "owner": "role-analyst",
        "reason": "weekly QA scan",
        "created": now - timedelta(days=1),
        "expires": now + timedelta(days=6),
        "detector": ["web-*"],
        "rule": ["R-1"],
        "entity": {"source.ip": "203.0.113.7"},
        "source_incident": "inc-2",
    }
    base.update(kw)
    return Suppression(**base)  # type: ignore[arg-type]


def test_the_suppressions_page_lists_those_in_force_and_lets_analysts_manage_them(
    login: Callable[[str], TestClient], store: Store
) -> None:
    assert "No suppressions in force." in text(login("viewer").get("/suppressions").text)
    store.save_suppression(suppression("sup-1"))
    now = datetime.now(tz=UTC)
    store.save_suppression(
        suppression("sup-old", created=now - timedelta(days=9), expires=now - timedelta(days=2))
    )
    viewer = login("viewer").get("/suppressions").text
    row = text(viewer)
    assert "In force (1)" in row and "sup-old" not in viewer
    assert "detector web-* ; rule R-1 ; source.ip = 203.0.113.7 weekly QA scan role-analyst" in row
    assert 'href="/incidents/inc-2">SQL injection on the portal</a>' in viewer
    assert 'href="/suppressions" aria-current="page"' in viewer
    assert "Create suppression" not in viewer and "/end" not in viewer
    for role in ("analyst", "admin"):
        page = login(role).get("/suppressions").text
        assert 'data-action="/api/v1/suppressions"' in page and "Create suppression" in page
        assert 'data-post="/api/v1/suppressions/sup-1/end"' in page
        assert 'name="detector" required data-split="list"' in page
        assert 'name="entity" rows="3" data-split="map"' in page
        assert "In the store: crowd.density, iot.telnet" in text(page)
    for role in ("responder", "alert-officer"):
        assert "Create suppression" not in login(role).get("/suppressions").text


def test_a_false_positive_offers_analysts_to_propose_suppressions(
    login: Callable[[str], TestClient], store: Store
) -> None:
    assert (
        'id="suppress"' not in login("analyst").get("/incidents/inc-2").text
    )  # not a false positive
    change = StatusChange(
        status=IncidentStatus.FALSE_POSITIVE, at=T0, by="role-analyst", note="our own scanner"
    )
    store.change_incident_status("inc-2", change, expected=IncidentStatus.NEW)
    store.save_suppression(suppression("sup-1"))
    analyst = login("analyst").get("/incidents/inc-2").text
    assert 'data-propose="/api/v1/incidents/inc-2/propose-suppression"' in analyst
    assert re.search(r'id="sup-reason" name="reason" [^>]*value="our own scanner"', analyst)
    assert "In force from this incident sup-1 : detector web-*" in text(analyst)
    viewer = login("viewer").get("/incidents/inc-2").text
    assert 'id="suppress"' in viewer and "data-propose" not in viewer


def test_incidents_with_no_place_are_one_point_and_the_worst_is_drawn_last() -> None:
    # Ten incidents with no place piled on the city centre hid a real one there (civil
    # unrest in the old town) under the least severe of them.
    t = datetime(2026, 3, 14, tzinfo=UTC)

    def incident(iid: str, severity: int, where: tuple[float, float] | None) -> Incident:
        area = {"type": "Point", "coordinates": [where[1], where[0]]} if where else None
        return Incident(
            id=iid, title=iid, status=IncidentStatus.NEW, severity=severity, category="cyber",
            first_seen=t, last_seen=t, detections=[], area=area,
        )  # fmt: skip

    centre = (45.815, 15.982)
    incidents = [incident(f"web-{n}", 50 + n, None) for n in range(9)]
    incidents += [incident("unrest", 75, centre), incident("quake", 100, (45.8, 16.0))]
    with open_store("sqlite:///:memory:") as store:
        features = views.incident_features(store, incidents, centre)
    props = [f["properties"] for f in features]
    assert [p["id"] for p in props] == ["web-8", "unrest", "quake"], "the group, then by severity"
    assert props[0]["placed"] is False and props[0]["count"] == 9
    assert props[0]["title"].startswith("9 incidents with no place, the worst: web-8")
