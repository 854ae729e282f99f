"""FIWARE Smart Data Models Alert entities in NGSI-LD JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta, timezone

import msgspec
import pytest

from citywatch.model import Alert, Incident
from citywatch.respond.cap import draft_from_incident
from citywatch.respond.errors import RespondError
from citywatch.respond.fiware import CONTEXT, fiware_alert

REQUIRED = {"id", "type", "alertSource", "category", "dateIssued"}
CATEGORIES = {
    "traffic",
    "naturalDisaster",
    "weather",
    "environment",
    "health",
    "security",
    "agriculture",
}
SEVERITIES = {"informational", "low", "medium", "high", "critical"}


def test_normalised_entity(alert: Alert) -> None:
    e = fiware_alert(alert.approved("ben"), alert_source="https://alerts.aldmere.city")
    assert e.keys() >= REQUIRED
    assert e["id"] == "urn:ngsi-ld:Alert:inc-0a1b2c3d.20260314T090600"
    assert e["type"] == "Alert" and e["@context"] == CONTEXT
    assert e["category"] == {"type": "Property", "value": "security"}
    assert e["subCategory"]["value"] == "crowdRisk"
    assert e["severity"]["value"] == "critical"
    assert e["alertSource"]["value"] == "https://alerts.aldmere.city"
    assert e["dateIssued"] == {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2026-03-14T09:06:00+01:00"},
    }
    assert e["validTo"]["value"]["@value"] == "2026-03-14T11:06:00+01:00"
    loc = e["location"]
    assert loc["type"] == "GeoProperty" and loc["value"]["type"] == "Polygon"
    assert loc["value"]["coordinates"][0][0] == [15.97, 45.81]  # GeoJSON: lon, lat
    assert e["data"]["value"]["cap"]["urgency"] == "Immediate"
    json.dumps(e)


def test_key_values_entity_in_another_language(alert: Alert) -> None:
    e = fiware_alert(alert, language="de", key_values=True)
    assert e["name"] == "Gefährliches Gedränge – Betroffenes Gebiet"
    assert e["description"].startswith("Gefährliches Gedränge seit 09:00 Uhr")
    assert e["dateIssued"] == "2026-03-14T09:06:00+01:00"
    assert e["alertSource"] == "mailto:alerts@aldmere.city"
    assert e["location"]["type"] == "Polygon"
    assert e["category"] in CATEGORIES and e["severity"] in SEVERITIES


@pytest.mark.parametrize(
    ("title", "category", "area", "expected"),
    [
        (
            "Earthquake M5.1",
            "public_safety",
            {"type": "Point", "coordinates": [15.98, 45.81]},
            ("naturalDisaster", "earthquake", "Point"),
        ),
        (
            "Violent incident at the market",
            "public_safety",
            {"type": "MultiPoint", "coordinates": [[15.98, 45.81], [15.99, 45.82]]},
            ("security", "assault", "MultiPoint"),
        ),
        ("Credential stuffing", "cyber", None, ("security", "suspiciousAction", None)),
    ],
)
def test_categories_follow_the_hazard(
    make_incident: Callable[..., Incident],
    title: str,
    category: str,
    area: dict[str, object] | None,
    expected: tuple[str, str, str | None],
) -> None:
    tz = timezone(timedelta(hours=1))
    a = draft_from_incident(
        make_incident(title=title, category=category, area=area),
        sender="alerts@aldmere.city",
        drafted_by="ana",
        tz=tz,
        languages=("hr-HR",),
    )
    e = fiware_alert(a, key_values=True)
    geometry = e.get("location")
    assert (e["category"], e["subCategory"], geometry and geometry["type"]) == expected
    assert e["category"] in CATEGORIES


def test_alert_without_info_cannot_be_exported(alert: Alert) -> None:
    bare = msgspec.structs.replace(alert, infos=[])
    with pytest.raises(RespondError, match="no info"):
        fiware_alert(bare)
