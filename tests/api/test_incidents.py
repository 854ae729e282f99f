"""Incidents through the API: filters, the lifecycle, comments and assignment, persisted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from citywatch.api.routes.incidents import TRANSITIONS
from citywatch.model import GeoPoint, IncidentStatus
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


def ids(response: object) -> list[str]:
    return [item["id"] for item in response.json()]  # type: ignore[attr-defined]


def test_list_filters(client: TestClient, seeded: Store, auth: Auth) -> None:
    get = lambda query: client.get(f"/api/v1/incidents{query}", headers=auth("viewer"))  # noqa: E731
    assert ids(get("")) == ["inc-2", "inc-1", "inc-3"]
    assert ids(get("?status=new")) == ["inc-2", "inc-1"]
    assert ids(get("?status=resolved")) == ["inc-3"]
    assert ids(get("?min_severity=50")) == ["inc-2", "inc-1"]
    assert ids(get("?category=public_safety")) == ["inc-2"]
    assert ids(get("?since=2026-03-01T10:05:00Z")) == ["inc-2", "inc-1", "inc-3"]
    assert ids(get("?since=2026-03-01T12:00:00%2B02:00&limit=1")) == ["inc-2"]
    assert ids(get("?since=2026-03-02T00:00:00Z")) == []
    assert get("?status=closed").status_code == 422
    assert get("?category=DROP%20TABLE").status_code == 422


def test_an_incident_reads_with_the_wire_names(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    body = client.get("/api/v1/incidents/inc-1", headers=auth("viewer")).json()
    assert body["id"] == "inc-1"
    assert body["status"] == "new"
    assert body["entities"] == {"source.ip": ["203.0.113.9"]}
    assert body["history"][0]["by"] == "correlator"
    assert body["first_seen"] == "2026-03-01T10:00:00Z"
    assert body["assignee"] is None
    assert body["comments"] == []


def test_the_whole_lifecycle_records_who_when_and_why(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    path = "/api/v1/incidents/inc-1/transition"
    steps = [("analyst", "acknowledged", "on it"), ("responder", "contained", "blocked at WAF")]
    steps.append(("analyst", "resolved", ""))
    for role, status, note in steps:
        response = client.post(path, json={"to": status, "note": note}, headers=auth(role))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    stored = seeded.incident("inc-1")
    assert stored is not None
    assert stored.status == IncidentStatus.RESOLVED
    assert [(c.status, c.by, c.note) for c in stored.history] == [
        ("new", "correlator", ""),
        ("acknowledged", "role-analyst", "on it"),
        ("contained", "role-responder", "blocked at WAF"),
        ("resolved", "role-analyst", ""),
    ]
    assert stored.history[1].at <= stored.history[2].at <= stored.history[3].at
    again = client.post(path, json={"to": "acknowledged"}, headers=auth("analyst"))
    assert again.status_code == 409
    assert ids(client.get("/api/v1/incidents?status=resolved", headers=auth("viewer"))) == [
        "inc-1",
        "inc-3",
    ]


@pytest.mark.parametrize("current", list(IncidentStatus))
@pytest.mark.parametrize("target", list(IncidentStatus))
def test_only_the_lifecycles_moves_are_allowed(
    client: TestClient,
    store: Store,
    auth: Auth,
    build: type,
    current: IncidentStatus,
    target: IncidentStatus,
) -> None:
    store.upsert_incidents([build.incident("inc-x", status=current)])  # type: ignore[attr-defined]
    response = client.post(
        "/api/v1/incidents/inc-x/transition", json={"to": target.value}, headers=auth("analyst")
    )
    allowed = target in TRANSITIONS[current]
    assert response.status_code == (200 if allowed else 409), response.text
    stored = store.incident("inc-x")
    assert stored is not None
    assert stored.status == (target if allowed else current)


S = IncidentStatus


def test_the_lifecycle_is_the_documented_one() -> None:
    assert {
        S.NEW: {S.ACKNOWLEDGED, S.FALSE_POSITIVE},
        S.ACKNOWLEDGED: {S.CONTAINED, S.RESOLVED, S.FALSE_POSITIVE},
        S.CONTAINED: {S.RESOLVED},
        S.RESOLVED: set(),
        S.FALSE_POSITIVE: set(),
        S.MERGED: set(),
    } == TRANSITIONS


def test_incidents_and_detections_come_a_page_at_a_time(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    # Only limit (at most 1,000) was there: past the first thousand, nothing could be read.
    every = [i["id"] for i in client.get("/api/v1/incidents", headers=auth("viewer")).json()]
    paged = [
        i["id"]
        for n in range(len(every))
        for i in client.get(f"/api/v1/incidents?limit=1&offset={n}", headers=auth("viewer")).json()
    ]
    assert paged == every and len(every) > 1
    found = client.get("/api/v1/detections?limit=1000", headers=auth("viewer")).json()
    later = client.get("/api/v1/detections?offset=1", headers=auth("viewer")).json()
    assert later == found[1:]


def test_an_incident_merged_into_another_is_listed_only_when_asked_for(
    client: TestClient, seeded: Store, auth: Auth, build: type
) -> None:
    # Merge leftovers were listed as incidents and counted as resolved ("resolved": 9 with
    # nobody having resolved anything).
    gone = build.incident("inc-9", detections=[], status=S.MERGED)  # type: ignore[attr-defined]
    seeded.upsert_incidents([gone])
    listed = [i["id"] for i in client.get("/api/v1/incidents", headers=auth("viewer")).json()]
    assert "inc-9" not in listed and listed
    merged = client.get("/api/v1/incidents?status=merged", headers=auth("viewer")).json()
    assert [i["id"] for i in merged] == ["inc-9"]
    assert seeded.incident_counts().get("merged") == 1, "counted as merged, not resolved"


def test_a_transition_survives_the_correlator_re_emitting_the_incident(
    client: TestClient, seeded: Store, auth: Auth, build: type
) -> None:
    path = "/api/v1/incidents/inc-1/transition"
    assert (
        client.post(path, json={"to": "acknowledged"}, headers=auth("analyst")).status_code == 200
    )
    grown = build.incident("inc-1", severity=77, detections=["det-1", "det-9"])  # type: ignore[attr-defined]
    seeded.upsert_incidents([grown])
    body = client.get("/api/v1/incidents/inc-1", headers=auth("viewer")).json()
    assert body["status"] == "acknowledged"
    assert body["severity"] == 77
    assert body["detections"] == ["det-1", "det-9"]
    assert [h["status"] for h in body["history"]] == ["new", "acknowledged"]


def test_transition_bodies_are_validated(client: TestClient, seeded: Store, auth: Auth) -> None:
    path = "/api/v1/incidents/inc-1/transition"
    for body in (
        {"to": "closed"},
        {},
        {"to": "resolved", "note": "x" * 2001},
        {"to": "resolved", "x": 1},
    ):
        assert client.post(path, json=body, headers=auth("analyst")).status_code == 422, body
    unknown = client.post(
        "/api/v1/incidents/nope/transition", json={"to": "acknowledged"}, headers=auth("analyst")
    )
    assert unknown.status_code == 404


def test_comments_are_persisted_in_order(client: TestClient, seeded: Store, auth: Auth) -> None:
    path = "/api/v1/incidents/inc-1/comments"
    first = client.post(path, json={"text": "Õun reported this too <3"}, headers=auth("analyst"))
    second = client.post(path, json={"text": "blocked"}, headers=auth("responder"))
    assert first.status_code == second.status_code == 201
    assert first.json()["by"] == "role-analyst"
    listed = client.get(path, headers=auth("viewer")).json()
    assert [(c["by"], c["text"]) for c in listed] == [
        ("role-analyst", "Õun reported this too <3"),
        ("role-responder", "blocked"),
    ]
    assert listed[0]["seq"] < listed[1]["seq"]
    assert [c.text for c in seeded.incident_activity("inc-1", kind="comment")] == [
        "Õun reported this too <3",
        "blocked",
    ]
    detail = client.get("/api/v1/incidents/inc-1", headers=auth("viewer")).json()
    assert [c["text"] for c in detail["comments"]] == ["Õun reported this too <3", "blocked"]
    assert client.post(path, json={"text": ""}, headers=auth("analyst")).status_code == 422
    assert (
        client.post(
            "/api/v1/incidents/nope/comments", json={"text": "x"}, headers=auth("analyst")
        ).status_code
        == 404
    )
    assert client.get("/api/v1/incidents/nope/comments", headers=auth("viewer")).status_code == 404


def test_assignment_to_users_who_can_act(client: TestClient, seeded: Store, auth: Auth) -> None:
    path = "/api/v1/incidents/inc-1/assign"
    assigned = client.post(path, json={"assignee": "role-responder"}, headers=auth("analyst"))
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == "role-responder"
    assert (
        client.post(path, json={"assignee": "nobody"}, headers=auth("analyst")).status_code == 409
    )
    assert (
        client.post(path, json={"assignee": "role-ingest"}, headers=auth("analyst")).status_code
        == 409
    )
    cleared = client.post(path, json={"assignee": None}, headers=auth("admin"))
    assert cleared.json()["assignee"] is None
    assert [(a.by, a.text) for a in seeded.incident_activity("inc-1", kind="assign")] == [
        ("role-analyst", "role-responder"),
        ("role-admin", ""),
    ]


def test_incidents_filtered_by_place(
    client: TestClient, store: Store, build: type, auth: Auth
) -> None:
    area = {
        "type": "Polygon",
        "coordinates": [[[15.9, 45.8], [16.0, 45.8], [16.0, 45.9], [15.9, 45.8]]],
    }
    store.upsert_detections([build.detection("far", geo=GeoPoint(lat=48.2, lon=16.37))])
    store.upsert_incidents(
        [
            build.incident("in-area", area=area),
            build.incident("by-detection", detections=["far"]),
            build.incident("nowhere", detections=["missing"]),
        ]
    )

    def ids(bbox: str) -> list[str]:
        answer = client.get(f"/api/v1/incidents?bbox={bbox}", headers=auth("viewer"))
        assert answer.status_code == 200
        return sorted(i["id"] for i in answer.json())

    assert ids("15.8,45.7,16.1,46.0") == ["in-area"]
    assert ids("16.0,48.0,17.0,49.0") == ["by-detection"]
    assert ids("17,46,16,45") == []  # swapped corners hold nothing
    bad = client.get("/api/v1/incidents?bbox=1,2,3", headers=auth("viewer"))
    assert bad.status_code == 422
