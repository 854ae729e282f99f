"""FIWARE Smart Data Models ``Alert`` entities (NGSI-LD JSON) for city data platforms.

One entity per CAP alert, from the info block in the chosen language: ``id``
``urn:ngsi-ld:Alert:<identifier>``, ``type`` ``Alert``, the model's required
``alertSource``, ``category`` and ``dateIssued``, plus ``subCategory``,
``severity``, ``name``, ``description``, ``validFrom``/``validTo`` and a GeoJSON
``location`` (polygons, or the circle centres). The CAP fields the model has
no place for go under ``data.cap``. The normalised NGSI-LD form is the
default; ``key_values=True`` gives the concise one.

Smart Data Models ``dataModel.Alert`` (schema ``Alert/schema.json``):
categories traffic, naturalDisaster, weather, environment, health, security,
agriculture; severity informational, low, medium, high, critical.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from citywatch.model.alert import Alert, AlertInfo
from citywatch.respond.errors import RespondError
from citywatch.respond.hazards import HAZARDS, Hazard

CONTEXT: Final = [
    "https://smartdatamodels.org/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
]
SEVERITY: Final = {
    "Extreme": "critical",
    "Severe": "high",
    "Moderate": "medium",
    "Minor": "low",
    "Unknown": "informational",
}
_BY_CATEGORY: Final = {
    "Geo": "earthquake",
    "Met": "flood",
    "Fire": "fire",
    "CBRNE": "hazmat",
    "Security": "violence",
    "Infra": "cyber",
}


def hazard_of(info: AlertInfo) -> Hazard:
    """The hazard an info block describes: by its event name, else by its CAP category."""
    for hazard in HAZARDS.values():
        if info.event in hazard.event.values():
            return hazard
    return HAZARDS[_BY_CATEGORY.get(info.categories[0], "other")]


def location(info: AlertInfo) -> dict[str, Any] | None:
    """The info's areas as one GeoJSON geometry (``[lon, lat]``), or None."""
    rings = [ring for area in info.areas for ring in area.polygons]
    if rings:
        polys = [[[[lon, lat] for lat, lon in ring]] for ring in rings]
        if len(polys) == 1:
            return {"type": "Polygon", "coordinates": polys[0]}
        return {"type": "MultiPolygon", "coordinates": polys}
    points = [[c.lon, c.lat] for area in info.areas for c in area.circles]
    if len(points) == 1:
        return {"type": "Point", "coordinates": points[0]}
    return {"type": "MultiPoint", "coordinates": points} if points else None


def _pick(alert: Alert, language: str) -> AlertInfo:
    if not alert.infos:
        raise RespondError(f"alert {alert.identifier} has no info block to export")
    prefix = language.partition("-")[0].lower()
    for info in alert.infos:
        if info.language.partition("-")[0].lower() == prefix:
            return info
    return alert.infos[0]


def fiware_alert(
    alert: Alert,
    *,
    language: str = "en",
    alert_source: str | None = None,
    key_values: bool = False,
) -> dict[str, Any]:
    """The alert as a FIWARE ``Alert`` entity (NGSI-LD JSON, normalised unless ``key_values``).

    >>> from datetime import UTC, datetime
    >>> from citywatch.model.alert import AlertInfo
    >>> info = AlertInfo(language="en-GB", categories=["Geo"], event="Earthquake",
    ...                  urgency="Immediate", severity="Severe", certainty="Observed")
    >>> a = Alert(identifier="q1", sender="alerts@example.org", status="Actual",
    ...           sent=datetime(2026, 3, 14, 9, tzinfo=UTC), msg_type="Alert",
    ...           scope="Public", infos=[info])
    >>> e = fiware_alert(a, key_values=True)
    >>> e["id"], e["category"], e["subCategory"], e["severity"], e["alertSource"]
    ('urn:ngsi-ld:Alert:q1', 'naturalDisaster', 'earthquake', 'high', 'mailto:alerts@example.org')
    """
    info = _pick(alert, language)
    hazard = hazard_of(info)
    source = (
        alert_source
        or info.web
        or (f"mailto:{alert.sender}" if "@" in alert.sender else alert.sender)
    )
    issued = alert.sent.isoformat()
    valid_from = (info.effective or alert.sent).isoformat()
    valid_to = info.expires.isoformat() if info.expires else None
    attrs: dict[str, Any] = {
        "alertSource": source,
        "category": hazard.fiware_category,
        "subCategory": hazard.fiware_sub_category,
        "severity": SEVERITY[info.severity],
        "name": info.headline or info.event,
        "description": " ".join(t for t in (info.description, info.instruction) if t),
        "data": {
            "cap": {
                "identifier": alert.identifier,
                "sender": alert.sender,
                "msgType": alert.msg_type,
                "status": alert.status,
                "event": info.event,
                "urgency": info.urgency,
                "certainty": info.certainty,
                "language": info.language,
            }
        },
    }
    dates = {"dateIssued": issued, "validFrom": valid_from, "validTo": valid_to}
    where = location(info)
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Alert:{quote(alert.identifier, safe='._-:')}",
        "type": "Alert",
    }
    if key_values:
        entity.update(attrs)
        entity.update({k: v for k, v in dates.items() if v is not None})
        if where is not None:
            entity["location"] = where
    else:
        entity.update({k: {"type": "Property", "value": v} for k, v in attrs.items()})
        entity.update(
            {
                k: {"type": "Property", "value": {"@type": "DateTime", "@value": v}}
                for k, v in dates.items()
                if v is not None
            }
        )
        if where is not None:
            entity["location"] = {"type": "GeoProperty", "value": where}
    entity["@context"] = list(CONTEXT)
    return entity
