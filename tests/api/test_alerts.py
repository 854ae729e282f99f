"""Public alerts through the API: draft, second-person approval, publish, update, cancel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import feedparser
from fastapi.testclient import TestClient

from citywatch.api import create_app
from citywatch.config import Settings
from citywatch.live import LivePipeline
from citywatch.respond import SigningConfig, parse, validate, verify_signature
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


def officers(make_token: Callable[..., str]) -> tuple[dict[str, str], dict[str, str]]:
    ana = make_token("ana", ["alert-officer"])
    ben = make_token("ben", ["alert-officer"])
    return {"Authorization": f"Bearer {ana}"}, {"Authorization": f"Bearer {ben}"}


def draft(client: TestClient, who: dict[str, str], **body: object) -> dict[str, object]:
    answer = client.post("/api/v1/alerts", json={"incident_id": "inc-2", **body}, headers=who)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def publish(client: TestClient, ident: object, approver: dict[str, str]) -> None:
    assert client.post(f"/api/v1/alerts/{ident}/approve", headers=approver).status_code == 200
    assert client.post(f"/api/v1/alerts/{ident}/publish", headers=approver).status_code == 200


def feed_ids(client: TestClient) -> list[str]:
    answer = client.get("/api/v1/public/alerts.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(answer.content)
    return [e.id.rsplit("/", 1)[-1] for e in parsed.entries]


def test_a_draft_needs_a_second_person_before_it_is_published(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    ana, ben = officers(make_token)
    made = draft(client, ana, languages=["en-GB", "hr-HR"], area_desc="Arena")
    ident = made["identifier"]
    assert made["state"] == "draft"
    assert made["drafted_by"] == "ana"
    assert made["incidents"] == ["inc-2"]
    assert made["languages"] == ["en-GB", "hr-HR"]
    assert client.post(f"/api/v1/alerts/{ident}/publish", headers=ana).status_code == 409
    refused = client.post(f"/api/v1/alerts/{ident}/approve", headers=ana)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("second-person-required")
    assert feed_ids(client) == []
    assert client.get(f"/api/v1/public/alerts/{ident}").status_code == 404  # drafts not public

    approved = client.post(f"/api/v1/alerts/{ident}/approve", headers=ben).json()
    assert (approved["state"], approved["approved_by"], approved["status"]) == (
        "approved",
        "ben",
        "Actual",
    )
    assert client.post(f"/api/v1/alerts/{ident}/approve", headers=ben).status_code == 409
    published = client.post(f"/api/v1/alerts/{ident}/publish", headers=ana).json()
    assert published["state"] == "published"
    assert client.post(f"/api/v1/alerts/{ident}/publish", headers=ana).status_code == 409

    cap = client.get(f"/api/v1/public/alerts/{ident}")
    assert cap.status_code == 200
    assert cap.headers["content-type"].startswith("application/cap+xml")
    assert validate(cap.content) == []
    assert parse(cap.content).identifier == ident
    assert feed_ids(client) == [ident]


def test_an_update_replaces_and_a_cancel_withdraws_the_published_alert(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    ana, ben = officers(make_token)
    first = draft(client, ana, area_desc="Port d'Aldmere harbour")["identifier"]
    publish(client, first, ben)
    assert client.post("/api/v1/alerts/no-such/update", json={}, headers=ana).status_code == 404
    update = client.post(f"/api/v1/alerts/{first}/update", json={}, headers=ana)
    assert update.status_code == 201
    second = update.json()
    cap = client.get(f"/api/v1/alerts/{second['identifier']}/cap", headers=ana).text
    assert "<areaDesc>Port d'Aldmere harbour</areaDesc>" in cap, "the officer's wording stays"
    assert (second["msg_type"], second["references"]) == ("Update", [first])
    assert feed_ids(client) == [first]  # the update is still a draft
    # another draft may replace it too (one left unpublished blocked every other before);
    # the first published wins, and the other can no longer go out
    again = client.post(f"/api/v1/alerts/{first}/update", json={}, headers=ana)
    assert again.status_code == 201
    publish(client, second["identifier"], ben)
    assert feed_ids(client) == [second["identifier"]]
    assert client.get(f"/api/v1/alerts/{first}", headers=ana).json()["state"] == "replaced"
    late = again.json()["identifier"]
    assert client.post(f"/api/v1/alerts/{late}/approve", headers=ben).status_code == 200
    refused = client.post(f"/api/v1/alerts/{late}/publish", headers=ben)
    assert refused.status_code == 409 and refused.json()["type"].endswith("already-replaced")
    again = client.post(f"/api/v1/alerts/{first}/update", json={}, headers=ana)
    assert again.status_code == 409, "replaced by a published update: act on that one"

    cancel = client.post(
        f"/api/v1/alerts/{second['identifier']}/cancel", json={"note": "all clear"}, headers=ben
    )
    assert cancel.status_code == 201
    assert cancel.json()["msg_type"] == "Cancel"
    assert cancel.json()["references"] == [first, second["identifier"]]
    publish(client, cancel.json()["identifier"], ana)
    # the feed keeps the cancel a while: its subscribers learn of the all-clear (it went
    # empty, and they held the alert)
    assert feed_ids(client) == [cancel.json()["identifier"]]
    listed = client.get("/api/v1/alerts?published=true", headers=ana).json()
    assert len(listed) == 3
    # what replaced each says so (the original still read "published", with its buttons):
    # the cancel withdraws the whole thread, the update's original too
    states = {a["identifier"]: a["state"] for a in listed}
    assert states == {
        first: "cancelled",
        second["identifier"]: "cancelled",
        cancel.json()["identifier"]: "published",
    }
    assert client.get(f"/api/v1/alerts/{first}", headers=ana).json()["state"] == "cancelled"


def test_drafting_checks_the_incident_hazard_and_languages(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    officer = auth("alert-officer")
    unknown = client.post("/api/v1/alerts", json={"incident_id": "nope"}, headers=officer)
    assert unknown.status_code == 404
    hazard = client.post(
        "/api/v1/alerts", json={"incident_id": "inc-1", "hazard": "dragons"}, headers=officer
    )
    assert hazard.status_code == 422
    language = client.post(
        "/api/v1/alerts", json={"incident_id": "inc-1", "languages": ["xx-YY"]}, headers=officer
    )
    assert language.status_code == 422
    two = [draft(client, officer)["identifier"] for _ in range(2)]
    assert two[0] != two[1]  # two drafts in one second get distinct identifiers
    cap = client.get(f"/api/v1/alerts/{two[0]}/cap", headers=auth("viewer"))
    assert cap.status_code == 200
    assert validate(cap.content) == []


def test_a_published_alert_is_signed_when_the_city_has_a_key(
    seeded: Store,
    settings: Settings,
    pipeline: LivePipeline,
    make_token: Callable[..., str],
    cap_keys: Callable[[str], tuple[bytes, bytes]],
    tmp_path: Path,
) -> None:
    key_pem, cert_pem = cap_keys("ec")
    (tmp_path / "cap.key").write_bytes(key_pem)
    (tmp_path / "cap.crt").write_bytes(cert_pem)
    signing = SigningConfig(key_file=tmp_path / "cap.key", cert_file=tmp_path / "cap.crt")
    signed_settings = settings.model_copy(
        update={"respond": settings.respond.model_copy(update={"cap_signing": signing})}
    )
    client = TestClient(create_app(signed_settings, seeded, pipeline=pipeline))
    ana, ben = officers(make_token)
    ident = draft(client, ana)["identifier"]
    publish(client, ident, ben)
    cap = client.get(f"/api/v1/public/alerts/{ident}")
    assert cap.status_code == 200
    assert verify_signature(cap.content, cert_pem).startswith(b"<alert")
    assert validate(cap.content) == [], "a signed alert still validates against the CAP 1.2 XSD"


def test_the_sender_is_the_citys_not_the_requests_host(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    # The sender came from the Host header: anyone reaching the dashboard by another name
    # put that name on the city's public alerts.
    ana, ben = officers(make_token)
    answer = client.post(
        "/api/v1/alerts", json={"incident_id": "inc-2"}, headers={**ana, "Host": "evil.example"}
    )
    assert answer.status_code == 201, answer.text
    ident = answer.json()["identifier"]
    publish(client, ident, ben)
    cap = parse(client.get(f"/api/v1/public/alerts/{ident}").content)
    assert cap.sender == Settings().respond.cap_sender == "alerts@aldmere.example"


def test_an_incident_lists_the_alerts_drafted_for_it(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    # The incident's alerts stayed [] in the API while its page listed them.
    ana, _ = officers(make_token)
    ident = draft(client, ana)["identifier"]
    one = client.get("/api/v1/incidents/inc-2", headers=ana).json()
    assert one["alerts"] == [ident]
    listed = {i["id"]: i["alerts"] for i in client.get("/api/v1/incidents", headers=ana).json()}
    assert listed["inc-2"] == [ident] and listed["inc-1"] == []


def test_the_feed_takes_no_address_from_the_request(
    client: TestClient,
    seeded: Store,
    make_token: Callable[..., str],
    settings: Settings,
    pipeline: LivePipeline,
) -> None:
    # Ids and links came from the Host header: a cache in front of the server would keep a
    # public warning whose links lead wherever a request said.
    ana, ben = officers(make_token)
    ident = draft(client, ana)["identifier"]
    publish(client, ident, ben)
    text = client.get("/api/v1/public/alerts.atom", headers={"Host": "evil.example"}).text
    assert "evil.example" not in text
    parsed = feedparser.parse(text)
    assert parsed.feed.id == "tag:aldmere.example,2026:citywatch/public-alerts"
    assert parsed.entries[0].id == f"{parsed.feed.id}/{ident}"
    assert f'href="/api/v1/public/alerts/{ident}"' in text  # root-relative: the server it came from
    public = settings.api.model_copy(update={"public_url": "https://alerts.city.example/"})
    app = create_app(settings, seeded, pipeline=pipeline, config=public)
    text = TestClient(app).get("/api/v1/public/alerts.atom", headers={"Host": "evil.example"}).text
    moved = feedparser.parse(text)
    (cap,) = (link.href for link in moved.entries[0].links if link.rel == "alternate")
    assert cap == f"https://alerts.city.example/api/v1/public/alerts/{ident}"
    # the ids stay: setting the public address made every alert in a reader new again
    assert moved.feed.id == parsed.feed.id
    assert moved.entries[0].id == parsed.entries[0].id


def test_a_playbook_draft_needs_two_officers_one_to_approve_one_to_publish(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    # A playbook's draft (drafted by "playbook:warn-the-public") was approved and published
    # by one officer alone: the four-eyes rule did not hold for drafts written in a crisis.
    from citywatch.respond.cap import draft_from_incident  # noqa: PLC0415
    from citywatch.store.base import StoredAlert  # noqa: PLC0415

    incident = seeded.incident("inc-2")
    assert incident is not None
    made = draft_from_incident(
        incident, sender="alerts@aldmere.example", drafted_by="playbook:warn-the-public"
    )
    seeded.save_alert(StoredAlert(alert=made))
    ana, ben = officers(make_token)
    ident = made.identifier
    assert client.post(f"/api/v1/alerts/{ident}/approve", headers=ana).status_code == 200
    refused = client.post(f"/api/v1/alerts/{ident}/publish", headers=ana)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("second-person-required")
    assert client.post(f"/api/v1/alerts/{ident}/publish", headers=ben).status_code == 200


def test_an_alert_follows_its_incident_when_the_correlator_merged_it(
    client: TestClient, seeded: Store, make_token: Callable[..., str], build: type
) -> None:
    # An update of a published fire alert, after its incident was merged into another,
    # re-drafted from the merged-away stub: "Cyber attack on city services", severity Minor.
    from citywatch.model import IncidentStatus, StatusChange  # noqa: PLC0415

    ana, ben = officers(make_token)
    fire = build.incident(
        "inc-fire", title="Fire in Riverside", category="public_safety", severity=80,
        detections=["det-2"], entities={"place": ["Riverside"]},
    )  # fmt: skip
    seeded.upsert_incidents([fire])
    made = draft(client, ana, incident_id="inc-fire", languages=["en-GB"])
    publish(client, made["identifier"], ben)
    stub = build.incident(
        "inc-fire", title="(merged)", category="cyber", severity=1, detections=[],
        status=IncidentStatus.MERGED,
        history=[StatusChange(status=IncidentStatus.MERGED, at=build.T0, by="correlator",
                              note="merged into inc-big")],
    )  # fmt: skip
    big = build.incident(
        "inc-big", title="Fire and 1 more in Riverside", category="public_safety",
        severity=85, detections=["det-2"], entities={"place": ["Riverside"]},
    )  # fmt: skip
    seeded.upsert_incidents([stub, big])
    update = client.post(f"/api/v1/alerts/{made['identifier']}/update", json={}, headers=ana)
    assert update.status_code == 201, update.text
    cap = parse(
        client.get(f"/api/v1/alerts/{update.json()['identifier']}/cap", headers=ana).content
    )
    assert cap.incidents == ["inc-big"]
    assert cap.infos[0].event == "Fire" and cap.infos[0].severity != "Minor"
    again = client.post("/api/v1/alerts", json={"incident_id": "inc-fire"}, headers=ana)
    assert again.status_code == 201 and again.json()["incidents"] == ["inc-big"]


def test_an_expired_draft_is_neither_approved_nor_published(
    client: TestClient, seeded: Store, make_token: Callable[..., str]
) -> None:
    # A playbook's draft approved and published hours later went out already expired:
    # "published", and no citizen ever saw it in the feed.
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from citywatch.respond.cap import draft_from_incident  # noqa: PLC0415
    from citywatch.store.base import StoredAlert  # noqa: PLC0415

    incident = seeded.incident("inc-2")
    assert incident is not None
    ana, ben = officers(make_token)
    late = datetime.now(tz=UTC) - timedelta(hours=5)
    old = draft_from_incident(
        incident, sender="a@aldmere.example", drafted_by="playbook:x", sent=late
    )
    seeded.save_alert(StoredAlert(alert=old))
    refused = client.post(f"/api/v1/alerts/{old.identifier}/approve", headers=ana)
    assert refused.status_code == 409 and refused.json()["type"].endswith("expired")
    seeded.save_alert(StoredAlert(alert=old.approved("ana")))
    refused = client.post(f"/api/v1/alerts/{old.identifier}/publish", headers=ben)
    assert refused.status_code == 409 and refused.json()["type"].endswith("expired")
    assert old.identifier not in feed_ids(client)


def test_text_no_cap_document_can_carry_is_refused_when_drafting(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    # "Arena\u0007" was drafted (201), then its CAP document and its publication were 500s.
    officer = auth("alert-officer")
    for body in (
        {"area_desc": "Arena\u0007"},
        {"area_desc": "Arena\u0000"},
        {"languages": ["HR-hr"]},
        {"languages": ["en-GB", "en-GB"]},
    ):
        answer = client.post(
            "/api/v1/alerts", json={"incident_id": "inc-2", **body}, headers=officer
        )
        assert answer.status_code == 422, body
    assert draft(client, officer, area_desc="Arena, north stand\tgate 3")
