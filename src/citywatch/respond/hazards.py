"""What kind of danger an incident is, and what that means for a public alert.

A :class:`Hazard` carries everything the alert writers need that depends on
the kind of situation: the CAP category and response types, the event name in
each language, the instructions to give by default, how long an alert stays
valid, and the FIWARE Smart Data Models ``Alert`` category and sub-category.
:func:`infer_hazard` picks one from an incident's category and title when the
caller does not name it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final, NamedTuple

from citywatch.model import Incident
from citywatch.model.alert import Category, ResponseType


class Hazard(NamedTuple):
    """The alert-relevant facts of one kind of situation."""

    key: str
    categories: tuple[Category, ...]
    response_types: tuple[ResponseType, ...]
    event: dict[str, str]  # primary language subtag → event name
    instructions: tuple[str, ...]  # phrase ids (see phrasebook) given when no measure matches
    valid_for: timedelta
    fiware_category: str
    fiware_sub_category: str


HAZARDS: Final[dict[str, Hazard]] = {
    h.key: h
    for h in (
        Hazard(
            "earthquake",
            ("Geo",),
            ("Assess", "Avoid"),
            {"en": "Earthquake", "de": "Erdbeben", "hr": "Potres"},
            ("stay_out_of_damaged_buildings", "expect_aftershocks", "drop_cover_hold_on"),
            timedelta(hours=6),
            "naturalDisaster",
            "earthquake",
        ),
        Hazard(
            "crowd",
            ("Safety",),
            ("Avoid",),
            {"en": "Dangerous crowding", "de": "Gefährliches Gedränge", "hr": "Opasna gužva"},
            ("avoid_area", "stay_calm_do_not_push", "follow_officials"),
            timedelta(hours=2),
            "security",
            "crowdRisk",
        ),
        Hazard(
            "violence",
            ("Security",),
            ("Shelter", "Avoid"),
            {
                "en": "Police operation: violent incident",
                "de": "Polizeieinsatz: Gewaltvorfall",
                "hr": "Policijska intervencija: nasilni incident",
            },
            ("avoid_area", "shelter_in_place", "report_to_police"),
            timedelta(hours=3),
            "security",
            "assault",
        ),
        Hazard(
            "terror",
            ("Security",),
            ("Shelter", "Avoid"),
            {
                "en": "Explosion or armed attack",
                "de": "Explosion oder bewaffneter Angriff",
                "hr": "Eksplozija ili oružani napad",
            },
            ("shelter_in_place", "avoid_area", "keep_access_clear", "follow_officials"),
            timedelta(hours=3),
            "security",
            "suspiciousAction",
        ),
        Hazard(
            "fire",
            ("Fire",),
            ("Avoid", "Shelter"),
            {"en": "Fire", "de": "Brand", "hr": "Požar"},
            ("avoid_area", "close_windows", "keep_access_clear"),
            timedelta(hours=4),
            "security",
            "buildingFire",
        ),
        Hazard(
            "flood",
            ("Met",),
            ("Avoid", "Prepare"),
            {"en": "Flood", "de": "Hochwasser", "hr": "Poplava"},
            ("avoid_area", "follow_updates"),
            timedelta(hours=12),
            "naturalDisaster",
            "flood",
        ),
        Hazard(
            "hazmat",
            ("CBRNE",),
            ("Shelter",),
            {
                "en": "Release of a hazardous substance",
                "de": "Austritt eines Gefahrstoffs",
                "hr": "Ispuštanje opasne tvari",
            },
            ("shelter_in_place", "close_windows", "follow_updates"),
            timedelta(hours=6),
            "environment",
            "airPollution",
        ),
        Hazard(
            "cyber",
            ("Infra",),
            ("Monitor",),
            {
                "en": "Cyber attack on city services",
                "de": "Cyberangriff auf städtische Dienste",
                "hr": "Kibernetički napad na gradske usluge",
            },
            ("beware_phishing", "online_services_disrupted"),
            timedelta(hours=24),
            "security",
            "suspiciousAction",
        ),
        Hazard(
            "other",
            ("Safety",),
            ("Monitor",),
            {
                "en": "Public safety warning",
                "de": "Gefahreninformation",
                "hr": "Upozorenje o javnoj sigurnosti",
            },
            ("follow_officials", "follow_updates"),
            timedelta(hours=3),
            "security",
            "suspiciousAction",
        ),
    )
}

# Physical hazards by words in the incident title, first match wins. "HTTP flood",
# "firewall" and the like are cyber words and must not read as floods or fires.
_PHYSICAL: Final = (
    (
        "terror",
        re.compile(r"\b(explosion|explosive|bomb|blast|terror|gunman|armed attack)", re.I),
    ),
    ("earthquake", re.compile(r"\b(earthquake|quake|seismic|tremor|aftershock)", re.I)),
    ("hazmat", re.compile(r"\b(gas leak|chemical|toxic|hazmat|hazardous substance)", re.I)),
    ("fire", re.compile(r"\b(fire|smoke|blaze)\b", re.I)),
    (
        "violence",
        re.compile(r"\b(violen|shoot|shots? fired|gunfire|stabb|knife|riot|assault)", re.I),
    ),
    ("crowd", re.compile(r"\b(crowd|crush|exodus|stampede|overcrowd|density|stadium)", re.I)),
    (
        "flood",
        re.compile(r"(?<!http )(?<!syn )(?<!udp )(?<!request )\bflood(s|ing|ed)?\b", re.I),
    ),
)


def infer_hazard(incident: Incident) -> Hazard:
    """The hazard an incident most likely is: by category, by what citizens report of a bomb
    or an attack, by words in its title, then by the other things citizens report.

    >>> from datetime import UTC, datetime
    >>> from citywatch.model import IncidentStatus
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> def inc(title, category="public_safety"):
    ...     return Incident(id="i", title=title, status=IncidentStatus.NEW, severity=80,
    ...                     category=category, first_seen=t, last_seen=t, detections=[])
    >>> [infer_hazard(inc(t)).key for t in ("Stadium exodus", "Earthquake M4.9", "Flash flood")]
    ['crowd', 'earthquake', 'flood']
    >>> infer_hazard(inc("HTTP flood against portal", "hybrid")).key
    'cyber'
    >>> import msgspec
    >>> story = msgspec.structs.replace(inc("Emergency at the stadium"),
    ...     entities={"social.category": ["crowd-danger", "explosion-terror"]})
    >>> infer_hazard(story).key, infer_hazard(inc("Social media: explosion terror in Trnje")).key
    ('terror', 'terror')
    """
    if incident.category == "cyber":
        return HAZARDS["cyber"]
    said = incident.entities.get("social.category", [])
    if "explosion-terror" in said:  # citizens report a bomb or an attack: that, whatever else
        return HAZARDS["terror"]
    title = incident.title[:500]
    for key, pattern in _PHYSICAL:
        if pattern.search(title):
            return HAZARDS[key]
    for category, key in _SAID:
        if category in said:
            return HAZARDS[key]
    return HAZARDS["cyber" if incident.category == "hybrid" else "other"]


_SAID: Final = (("fire", "fire"), ("violence", "violence"), ("crowd-danger", "crowd"))
"""Hazards by what citizens' posts say (``social.category``), where the title tells none."""


def primary(language: str) -> str:
    """The primary subtag of a language tag, lower case: ``de-DE`` → ``de``.

    >>> primary("hr-HR"), primary("EN")
    ('hr', 'en')
    """
    return language.partition("-")[0].lower()
