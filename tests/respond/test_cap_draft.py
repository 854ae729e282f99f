"""Drafting CAP alerts from incidents: mapping, areas, languages, updates, cancels, EU-Alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import h3
import msgspec
import pytest

from citywatch.model import Alert, AlertInfo, Detection, Incident, IncidentStatus
from citywatch.respond.cap import cancel, draft_from_incident, eu_alert_message_id
from citywatch.respond.capxml import to_xml, validate
from citywatch.respond.errors import RespondError
from citywatch.respond.hazards import HAZARDS
from citywatch.respond.phrasebook import PHRASES, instruction_for

SENDER = "alerts@aldmere.city"
CITY_TZ = timezone(timedelta(hours=1))
T0 = datetime(2026, 3, 14, 9, 0, tzinfo=CITY_TZ)
IncidentMaker = Callable[..., Incident]


def _draft(incident_maker: IncidentMaker, **kw: object) -> Alert:
    fields = {
        k: kw.pop(k)
        for k in list(kw)
        if k not in {"languages", "hazard", "supersedes", "radius_km"}
    }
    return draft_from_incident(
        incident_maker(**fields),
        sender=SENDER,
        drafted_by="ana",
        sent=T0 + timedelta(minutes=6),
        tz=CITY_TZ,
        **kw,  # type: ignore[arg-type]
    )


def test_draft_is_a_valid_unapproved_draft(alert: Alert) -> None:
    assert alert.status == "Draft" and alert.msg_type == "Alert" and alert.scope == "Public"
    assert alert.incidents == ["inc-0a1b2c3d"]
    assert alert.sent.utcoffset() == timedelta(hours=1)
    assert b"<sent>2026-03-14T09:06:00+01:00</sent>" in to_xml(alert)
    assert not alert.can_publish()
    assert not alert.approved("ana").can_publish()
    assert not alert.approved(" ANA ").can_publish()
    assert alert.approved("ben").can_publish()
    assert not alert.approved("ben", status="Draft").can_publish()


def test_crowd_incident_maps_to_safety_extreme(alert: Alert) -> None:
    en, de, hr = alert.infos
    assert (en.categories, en.event, en.response_types) == (
        ["Safety"],
        "Dangerous crowding",
        ["Avoid"],
    )
    assert (en.urgency, en.severity, en.certainty) == ("Immediate", "Extreme", "Likely")
    assert de.event == "Gefährliches Gedränge" and hr.event == "Opasna gužva"
    assert en.expires == en.effective + timedelta(hours=2)  # type: ignore[operator]


def test_instructions_are_translated_and_operator_measures_never_reach_the_public(
    alert: Alert,
) -> None:
    en, de, hr = alert.infos
    assert en.instruction == "Avoid the affected area. Leave by Gate 4."
    assert (
        de.instruction
        == "Meiden Sie das betroffene Gebiet. Verlassen Sie das Gelände über: Gate 4."
    )
    assert hr.instruction == "Izbjegavajte pogođeno područje. Izlazite kroz: Gate 4."
    for info in alert.infos:
        assert "gate 3" not in (info.instruction or "").lower()


def test_cyber_incident_gets_public_advice_not_its_soc_measures(
    make_incident: IncidentMaker,
) -> None:
    a = _draft(
        make_incident,
        category="cyber",
        title="Credential stuffing against portal from 198.51.100.7",
        area=None,
        severity=60,
        measures=["Rate-limit or block the flagged client addresses at the portal's reverse proxy"],
    )
    en, de = a.infos
    assert en.categories == ["Infra"] and en.severity == "Moderate"
    assert en.instruction is not None and "portal password" in en.instruction
    assert de.instruction is not None and "Portal-Passwort" in de.instruction
    assert en.areas == []
    xml = to_xml(a)
    assert b"198.51.100.7" not in xml and b"reverse proxy" not in xml
    assert validate(xml) == []


@pytest.mark.parametrize(
    ("title", "category", "hazard", "cap"),
    [
        ("Earthquake M4.9 felt in the old town", "public_safety", "earthquake", "Geo"),
        ("Stadium emergency at the North Stand", "hybrid", "crowd", "Safety"),
        (
            "Violent incident discussed online near the market",
            "public_safety",
            "violence",
            "Security",
        ),
        ("Smoke reported at the tram depot", "public_safety", "fire", "Fire"),
        ("Chemical smell at the river port", "public_safety", "hazmat", "CBRNE"),
        ("City IoT botnet attacks the portal: HTTP flood", "hybrid", "cyber", "Infra"),
        ("Something odd at the square", "public_safety", "other", "Safety"),
        ("Social media: explosion terror in Trnje", "public_safety", "terror", "Security"),
    ],
)
def test_hazard_is_inferred_and_every_draft_validates(
    make_incident: IncidentMaker, title: str, category: str, hazard: str, cap: str
) -> None:
    a = _draft(make_incident, title=title, category=category, languages=("en-GB", "hr-HR"))
    assert a.infos[0].categories == [cap]
    assert a.infos[1].event == HAZARDS[hazard].event["hr"]
    assert validate(to_xml(a)) == []


@pytest.mark.parametrize(
    ("severity", "status", "detections", "expected"),
    [
        (90, IncidentStatus.NEW, ["d1"], ("Immediate", "Extreme", "Possible")),
        (70, IncidentStatus.NEW, ["d1", "d2"], ("Immediate", "Severe", "Likely")),
        (50, IncidentStatus.ACKNOWLEDGED, ["d1"], ("Immediate", "Moderate", "Observed")),
        (20, IncidentStatus.RESOLVED, ["d1"], ("Past", "Minor", "Observed")),
    ],
)
def test_urgency_severity_certainty_follow_the_incident(
    make_incident: IncidentMaker,
    severity: int,
    status: IncidentStatus,
    detections: list[str],
    expected: tuple[str, str, str],
) -> None:
    info = _draft(make_incident, severity=severity, status=status, detections=detections).infos[0]
    assert (info.urgency, info.severity, info.certainty) == expected


def test_polygon_is_written_lat_lon(alert: Alert) -> None:
    area = alert.infos[0].areas[0]
    assert area.polygons == [[(45.81, 15.97), (45.81, 15.99), (45.82, 15.99), (45.81, 15.97)]]
    assert b"<polygon>45.81,15.97 45.81,15.99 45.82,15.99 45.81,15.97</polygon>" in to_xml(alert)


def test_multipolygon_and_open_ring(make_incident: IncidentMaker) -> None:
    area = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[16.0, 45.0], [16.1, 45.0], [16.1, 45.1]]],  # not closed: closed for CAP
            [[[16.2, 45.2], [16.3, 45.2], [16.3, 45.3], [16.2, 45.2]]],
        ],
    }
    a = _draft(make_incident, area=area)
    rings = a.infos[0].areas[0].polygons
    assert len(rings) == 2 and rings[0][0] == rings[0][-1] == (45.0, 16.0)
    assert validate(to_xml(a)) == []


def test_points_become_circles(make_incident: IncidentMaker) -> None:
    a = _draft(make_incident, area={"type": "Point", "coordinates": [15.98, 45.81]}, radius_km=0.8)
    (circle,) = a.infos[0].areas[0].circles
    assert (circle.lat, circle.lon, circle.radius_km) == (45.81, 15.98, 0.8)
    assert b"<circle>45.81,15.98 0.8</circle>" in to_xml(a)
    many = {"type": "MultiPoint", "coordinates": [[15.98 + i / 1000, 45.81] for i in range(30)]}
    (one,) = _draft(make_incident, area=many).infos[0].areas[0].circles
    assert 45.80 < one.lat < 45.82 and one.radius_km > 1.0  # encloses all 30 points


def test_a_quake_alert_covers_where_it_was_felt(make_incident: IncidentMaker) -> None:
    # It drew 0.5 km circles round the epicentre (15 km out of town) and the city centre,
    # and left out the districts that shook hardest.
    points = {"type": "MultiPoint", "coordinates": [[16.0945, 45.7166], [15.98, 45.815]]}
    quake = Detection(
        id="q1", timestamp=T0, detector="quake", rule_id="quake.detected", rule_name="Earthquake",
        severity=85, confidence=0.9, category="public_safety", summary="M4.8", entity={},
        evidence=[], first_seen=T0, last_seen=T0,
        attributes={"quake": {"circle": {"lat": 45.7166, "lon": 16.0945, "radius_km": 21.4}}},
    )  # fmt: skip
    alert = draft_from_incident(
        make_incident(area=points),
        sender=SENDER,
        drafted_by="ana",
        sent=T0,
        tz=CITY_TZ,
        hazard="earthquake",
        detections=[quake],
    )
    (circle,) = alert.infos[0].areas[0].circles
    assert (circle.lat, circle.lon, circle.radius_km) == (45.7166, 16.0945, 21.4)
    assert validate(to_xml(alert)) == []


def test_h3_cells_become_their_outline(make_incident: IncidentMaker) -> None:
    cell = h3.latlng_to_cell(45.81, 15.98, 9)
    patch = sorted(h3.grid_disk(cell, 1))
    a = _draft(
        make_incident, area={"type": "MultiPoint", "coordinates": [[15.98, 45.81]], "h3": patch}
    )
    (ring,) = a.infos[0].areas[0].polygons
    assert len(ring) == 19  # the outline of 7 cells, closed
    assert ring[0] == ring[-1]
    for lat, lon in ring:
        assert h3.latlng_to_cell(lat, lon, 9) in set(h3.grid_disk(cell, 2))
    assert validate(to_xml(a)) == []


def test_bad_areas_are_refused(make_incident: IncidentMaker) -> None:
    with pytest.raises(RespondError):
        _draft(make_incident, area={"type": "Point", "coordinates": [200.0, 45.0]})
    with pytest.raises(RespondError):
        _draft(make_incident, area={"type": "LineString", "coordinates": [[1, 2], [3, 4]]})
    with pytest.raises(RespondError):
        _draft(make_incident, area={"type": "Point", "coordinates": [1, 2], "h3": ["nope"]})


def test_unknown_language_is_refused(make_incident: IncidentMaker) -> None:
    with pytest.raises(RespondError, match="et-EE"):
        _draft(make_incident, languages=("en-GB", "et-EE"))


def test_update_references_the_whole_chain(make_incident: IncidentMaker, alert: Alert) -> None:
    first = alert.approved("ben")
    second = draft_from_incident(
        make_incident(severity=95),
        sender=SENDER,
        drafted_by="ana",
        tz=CITY_TZ,
        sent=T0 + timedelta(minutes=20),
        supersedes=first,
    )
    third = draft_from_incident(
        make_incident(),
        sender=SENDER,
        drafted_by="ana",
        tz=CITY_TZ,
        sent=T0 + timedelta(minutes=40),
        supersedes=second.approved("ben"),
    )
    assert second.msg_type == "Update" and second.references == [first.reference]
    assert third.references == [first.reference, second.reference]
    xml = to_xml(third)
    assert validate(xml) == []
    refs = (
        b"<references>alerts@aldmere.city,inc-0a1b2c3d.20260314T090600,2026-03-14T09:06:00+01:00 "
        b"alerts@aldmere.city,inc-0a1b2c3d.20260314T092000,2026-03-14T09:20:00+01:00</references>"
    )
    assert refs in xml


def test_update_in_the_same_second_gets_its_own_identifier(
    make_incident: IncidentMaker, alert: Alert
) -> None:
    again = draft_from_incident(
        make_incident(),
        sender=SENDER,
        drafted_by="ana",
        tz=CITY_TZ,
        sent=alert.sent,
        supersedes=alert,
    )
    assert again.identifier != alert.identifier


def test_cancel_is_an_all_clear_referencing_the_original(alert: Alert) -> None:
    published = alert.approved("ben")
    c = cancel(published, drafted_by="ben", sent=T0 + timedelta(hours=1), note="crowd dispersed")
    assert c.msg_type == "Cancel" and c.references == [published.reference]
    assert [i.response_types for i in c.infos] == [["AllClear"]] * 3
    assert c.infos[1].headline == "Entwarnung: Gefährliches Gedränge"
    assert c.infos[2].instruction == PHRASES["all_clear"]["hr"]
    assert validate(to_xml(c)) == []
    assert c.approved("ana").can_publish() and not c.approved("ben").can_publish()


def test_structs_refuse_what_cap_forbids(alert: Alert) -> None:
    with pytest.raises(ValueError, match="reference"):
        msgspec.structs.replace(alert, msg_type="Cancel")
    with pytest.raises(ValueError, match="offset"):
        msgspec.structs.replace(alert, sent=alert.sent.replace(tzinfo=None))
    with pytest.raises(ValueError, match="spaces"):
        msgspec.structs.replace(alert, identifier="a b")
    with pytest.raises(ValueError, match="closed ring"):
        msgspec.structs.replace(alert.infos[0].areas[0], polygons=[[(1.0, 2.0), (3.0, 4.0)]])
    encoded = msgspec.json.encode(alert)
    assert msgspec.json.decode(encoded, type=Alert) == alert
    naive = encoded.replace(b"2026-03-14T09:06:00+01:00", b"2026-03-14T09:06:00", 1)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(naive, type=Alert)


def _info(severity: str, urgency: str, certainty: str, **kw: object) -> AlertInfo:
    return AlertInfo(
        language="en-GB",
        categories=["Safety"],
        event="x",
        severity=severity,  # type: ignore[arg-type]
        urgency=urgency,
        certainty=certainty,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("severity", "urgency", "certainty", "first", "second"),
    [
        ("Extreme", "Immediate", "Observed", 4371, 4384),
        ("Extreme", "Immediate", "Likely", 4372, 4385),
        ("Extreme", "Expected", "Observed", 4373, 4386),
        ("Extreme", "Expected", "Likely", 4374, 4387),
        ("Severe", "Immediate", "Observed", 4375, 4388),
        ("Severe", "Immediate", "Likely", 4376, 4389),
        ("Severe", "Expected", "Observed", 4377, 4390),
        ("Severe", "Expected", "Likely", 4378, 4391),
        ("Severe", "Future", "Possible", 4396, 4397),
        ("Moderate", "Immediate", "Observed", 4396, 4397),
        ("Minor", "Immediate", "Observed", 6400, 6400),
        ("Unknown", "Unknown", "Unknown", 6400, 6400),
    ],
)
def test_eu_alert_levels(
    severity: str, urgency: str, certainty: str, first: int, second: int
) -> None:
    info = _info(severity, urgency, certainty)
    assert eu_alert_message_id(info) == first
    assert eu_alert_message_id(info, second_language=True) == second


def test_eu_alert_status_and_overrides() -> None:
    info = _info("Extreme", "Immediate", "Observed")
    assert eu_alert_message_id(info, status="Exercise") == 4381
    assert eu_alert_message_id(info, status="Exercise", second_language=True) == 4394
    assert eu_alert_message_id(info, status="Test") == 4380
    level1 = _info("Extreme", "Immediate", "Observed", event_codes=[("EU-Alert", "4370")])
    assert eu_alert_message_id(level1) == 4370
    assert eu_alert_message_id(level1, second_language=True) == 4383
    amber = _info("Severe", "Immediate", "Likely", event_codes=[("EU-Alert", "4379")])
    assert eu_alert_message_id(amber) == 4379
    bogus = _info("Severe", "Immediate", "Likely", event_codes=[("EU-Alert", "1234")])
    assert eu_alert_message_id(bogus) == 4376


def test_phrasebook_is_complete_and_skips_what_it_does_not_know() -> None:
    for key, texts in PHRASES.items():
        assert set(texts) == {"en", "de", "hr"}, key
        assert all(t.endswith(".") for t in texts.values()), key
    i = instruction_for(["KEEP AWAY FROM the Riverside Market", "Stay indoors!"], "de-AT")
    assert i.text == (
        "Meiden Sie den Bereich the Riverside Market. "
        "Gehen Sie in ein Gebäude und bleiben Sie dort."
    )
    assert i.used == ["avoid_place", "shelter_in_place"] and i.skipped == []
    nothing = instruction_for(["Force a password reset"], "en-GB", defaults=("expect_aftershocks",))
    assert nothing.text == "Expect aftershocks." and nothing.skipped == ["Force a password reset"]


def test_utc_alerts_write_minus_zero(make_incident: IncidentMaker) -> None:
    a = draft_from_incident(
        make_incident(), sender=SENDER, drafted_by="ana", sent=T0, tz=UTC, languages=("en-GB",)
    )
    assert b"<sent>2026-03-14T08:00:00-00:00</sent>" in to_xml(a)
    assert validate(to_xml(a)) == []


def test_citizens_reporting_a_bomb_at_the_stadium_get_a_bomb_alert(
    make_incident: IncidentMaker,
) -> None:
    # A crowd incident with explosion posts at the arena drafted "Dangerous crowding... Stay
    # calm, do not push"; an explosion reported alone, "Public safety warning", Monitor.
    story = make_incident(title="Emergency at the stadium, seen by crowd sensors and citizens")
    story = msgspec.structs.replace(
        story, entities={"social.category": ["crowd-danger", "explosion-terror"]}
    )
    a = draft_from_incident(story, sender="ops@aldmere.example", drafted_by="duty")
    assert a.infos[0].event == "Explosion or armed attack"
    assert "Shelter" in a.infos[0].response_types
    assert validate(to_xml(a)) == []


def test_a_cyber_attack_s_alert_draws_no_map_of_the_city_s_devices(
    make_incident: IncidentMaker,
) -> None:
    # The botnet incident's draft put circles at the compromised cameras into a public alert.
    botnet = make_incident(title="City IoT botnet attacks the citizen portal", category="cyber")
    assert botnet.area is not None
    a = draft_from_incident(botnet, sender="ops@aldmere.example", drafted_by="duty")
    assert a.infos[0].event == "Cyber attack on city services"
    assert all(not area.circles and not area.polygons for i in a.infos for area in i.areas)
    assert validate(to_xml(a)) == []


def test_a_quake_alert_says_since_the_quake_s_origin_not_its_first_phone_report(
    make_incident: IncidentMaker,
) -> None:
    # "since 13:05": the incident's first evidence was a phone trigger 15 s before the
    # origin the quake detection gives (12:06:00 UTC).
    origin = T0.replace(minute=6)  # 09:06 in the city
    quake = make_incident(
        title="Earthquake M4.9", first_seen=origin - timedelta(seconds=15), entities={}
    )
    found = Detection(
        id="q-1", timestamp=origin, detector="quake", rule_id="quake.detected",
        rule_name="Earthquake", severity=90, confidence=0.9, category="public_safety",
        summary="s", entity={"quake.id": "q-1"}, evidence=["t-1"], first_seen=origin,
        last_seen=origin, attributes={"quake": {"origin_time": origin.astimezone(UTC).isoformat()}},
    )  # fmt: skip
    a = draft_from_incident(quake, sender=SENDER, drafted_by="ana", tz=CITY_TZ, detections=[found])
    assert "09:06" in (a.infos[0].description or "")
    plain = draft_from_incident(quake, sender=SENDER, drafted_by="ana", tz=CITY_TZ)
    assert "09:05" in (plain.infos[0].description or "")  # no detection says: the evidence
