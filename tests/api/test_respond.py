"""Suppressions and playbook approvals over the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import stix2  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from citywatch.app import playbook_runner
from citywatch.config import Settings
from citywatch.model import StepStatus
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


def test_an_analyst_suppresses_and_ends_it(client: TestClient, auth: Auth, seeded: Store) -> None:
    body = {
        "reason": "weekly QA scan",
        "days": 7,
        "detector": ["sigma"],
        "entity": {"source.ip": "203.0.113.9"},
    }
    made = client.post("/api/v1/suppressions", json=body, headers=auth("analyst"))
    assert made.status_code == 201, made.text
    sup = made.json()
    assert sup["owner"] == "role-analyst" and sup["entity"] == {"source.ip": "203.0.113.9"}
    listed = client.get("/api/v1/suppressions", headers=auth("viewer")).json()
    assert [s["id"] for s in listed] == [sup["id"]]
    ended = client.post(f"/api/v1/suppressions/{sup['id']}/end", headers=auth("analyst"))
    assert ended.status_code == 200
    assert client.get("/api/v1/suppressions", headers=auth("viewer")).json() == []
    everything = client.get("/api/v1/suppressions?active=false", headers=auth("viewer")).json()
    assert [s["id"] for s in everything] == [sup["id"]]
    too_long = client.post(
        "/api/v1/suppressions", json={**body, "days": 365}, headers=auth("analyst")
    )
    assert too_long.status_code == 422
    assert client.post("/api/v1/suppressions/sup-x/end", headers=auth("analyst")).status_code == 404
    # ending it again rewrote its expiry; a bare "*" held back every detection, quakes too
    again = client.post(f"/api/v1/suppressions/{sup['id']}/end", headers=auth("analyst"))
    assert again.status_code == 409 and again.json()["type"].endswith("already-ended")
    for broad in ({"detector": ["*"]}, {"detector": ["?*"], "rule": ["**"]}):
        refused = client.post(
            "/api/v1/suppressions",
            json={"reason": "all", "days": 1, **broad},
            headers=auth("analyst"),
        )
        assert refused.status_code == 422 and "something specific" in refused.text, broad


def test_a_false_positive_proposes_its_suppressions(
    client: TestClient, auth: Auth, seeded: Store
) -> None:
    url = "/api/v1/incidents/inc-1/propose-suppression"
    early = client.post(url, json={"reason": "our own scanner"}, headers=auth("analyst"))
    assert early.status_code == 409, "only for an incident marked a false positive"
    moved = client.post(
        "/api/v1/incidents/inc-1/transition",
        json={"to": "false_positive", "note": "our own scanner"},
        headers=auth("analyst"),
    )
    assert moved.status_code == 200, moved.text
    got = client.post(
        "/api/v1/incidents/inc-1/propose-suppression",
        json={"reason": "our own scanner"},
        headers=auth("analyst"),
    )
    assert got.status_code == 200, got.text
    (proposal,) = got.json()
    assert proposal["detector"] == ["portal.sigma"] and proposal["rule"] == ["CW-1"]
    assert proposal["entity"] == {"source.ip": "203.0.113.9"}
    assert proposal["source_incident"] == "inc-1"
    assert seeded.suppressions() == [], "a proposal is not saved"


def test_playbook_steps_are_approved_by_their_role(
    client: TestClient, auth: Auth, seeded: Store, settings: Settings, tmp_path: Path
) -> None:
    incident = seeded.incident("inc-1")
    assert incident is not None
    incident = type(incident)(
        **{**{f: getattr(incident, f) for f in incident.__struct_fields__}, "severity": 70}
    )
    (run,) = playbook_runner(settings, seeded).runs_for([incident])
    assert run.steps[1].status is StepStatus.AWAITING_APPROVAL
    url = f"/api/v1/playbook-runs/{run.id}/steps/{run.steps[1].id}"
    denied = client.post(f"{url}/approve", headers=auth("alert-officer"))
    assert denied.status_code == 409 and "responder" in denied.json()["detail"]
    ok = client.post(f"{url}/approve", headers=auth("responder"))
    assert ok.status_code == 200, ok.text
    steps = ok.json()["steps"]
    assert steps[1]["status"] == "done" and steps[1]["approved_by"] == "role-responder"
    assert steps[2]["status"] == "awaiting_approval"
    listed = client.get("/api/v1/playbook-runs?incident_id=inc-1", headers=auth("viewer")).json()
    assert [r["id"] for r in listed] == [run.id]
    rejected = client.post(
        f"/api/v1/playbook-runs/{run.id}/steps/{steps[2]['id']}/reject",
        json={"reason": "not for the CERT"},
        headers=auth("analyst"),
    )
    assert rejected.json()["finished"] is True
    assert client.get("/api/v1/playbook-runs/run-x", headers=auth("viewer")).status_code == 404
    unknown = f"/api/v1/playbook-runs/{run.id}/steps/no-such-step/approve"
    assert client.post(unknown, headers=auth("responder")).status_code == 404  # was 409


def test_an_incident_is_shared_as_stix_and_misp_and_an_alert_as_fiware(
    client: TestClient, auth: Auth, seeded: Store
) -> None:
    stix = client.get("/api/v1/incidents/inc-1/stix?tlp=green", headers=auth("analyst"))
    assert stix.status_code == 200 and stix.headers["content-type"].startswith(
        "application/stix+json"
    )
    bundle = stix2.parse(stix.content, allow_custom=False)
    assert any(o.type == "indicator" and "203.0.113.9" in o.pattern for o in bundle.objects)
    misp = client.get("/api/v1/incidents/inc-1/misp", headers=auth("analyst")).json()
    assert any(a["value"] == "203.0.113.9" for a in misp["Event"]["Attribute"])
    assert client.get("/api/v1/incidents/inc-1/stix", headers=auth("viewer")).status_code == 403
    drafted = client.post(
        "/api/v1/alerts", json={"incident_id": "inc-2"}, headers=auth("alert-officer")
    )
    assert drafted.status_code == 201, drafted.text
    ident = drafted.json()["identifier"]
    entity = client.get(f"/api/v1/alerts/{ident}/fiware", headers=auth("viewer"))
    assert entity.status_code == 200 and entity.headers["content-type"] == "application/ld+json"
    assert entity.json()["type"] == "Alert"
