"""Builders for the respond tests: incidents, detections and a drafted alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from citywatch.model import Alert, Detection, Incident, IncidentStatus
from citywatch.respond.cap import draft_from_incident

CITY_TZ = timezone(timedelta(hours=1))
T0 = datetime(2026, 3, 14, 9, 0, tzinfo=CITY_TZ)

IncidentMaker = Callable[..., Incident]
DetectionMaker = Callable[..., Detection]


@pytest.fixture
def make_incident() -> IncidentMaker:
    def make(**fields: Any) -> Incident:
        base: dict[str, Any] = {
            "id": "inc-0a1b2c3d",
            "title": "Stadium exodus at the North Stand",
            "status": IncidentStatus.NEW,
            "severity": 88,
            "category": "public_safety",
            "first_seen": T0,
            "last_seen": T0 + timedelta(minutes=5),
            "detections": ["det-1", "det-2"],
            "area": {
                "type": "Polygon",
                "coordinates": [[[15.97, 45.81], [15.99, 45.81], [15.99, 45.82], [15.97, 45.81]]],
            },
            "measures": ["Avoid the area", "Open gate 3 for egress", "Leave by Gate 4"],
        }
        base.update(fields)
        return Incident(**base)

    return make


@pytest.fixture
def make_detection() -> DetectionMaker:
    counter = iter(range(1, 10**6))

    def make(
        ip: str, tags: list[str], *, n: int = 5, minutes: int = 10, **entity: str
    ) -> Detection:
        i = next(counter)
        first = datetime(2026, 3, 14, 8, 0, tzinfo=UTC) + timedelta(minutes=i)
        return Detection(
            id=f"det-{i:04d}",
            timestamp=first,
            detector="portal.logins",
            rule_id="portal.login.stuffing",
            rule_name="Credential stuffing",
            severity=70,
            confidence=0.9,
            category="cyber",
            summary=f"Credential stuffing from {ip}: {n} requests",
            entity={"source.ip": ip, "target": "portal", **entity},
            evidence=[f"req-{i}-{k}" for k in range(n)],
            first_seen=first,
            last_seen=first + timedelta(minutes=minutes),
            tags=tags,
        )

    return make


@pytest.fixture
def cyber_incident(make_incident: IncidentMaker) -> Incident:
    return make_incident(
        id="inc-cyber",
        title="Credential stuffing against portal from 3 sources",
        category="cyber",
        severity=75,
        area=None,
        measures=["Rate-limit or block the flagged client addresses at the portal's reverse proxy"],
        entities={"source.ip": ["198.51.100.7", "2001:db8::7", "10.1.2.3"]},
    )


@pytest.fixture
def alert(make_incident: IncidentMaker) -> Alert:
    return draft_from_incident(
        make_incident(),
        sender="alerts@aldmere.city",
        drafted_by="ana",
        sent=T0 + timedelta(minutes=6),
        tz=CITY_TZ,
        languages=("en-GB", "de-DE", "hr-HR"),
    )
