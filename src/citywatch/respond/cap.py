"""Public alerts in CAP 1.2, drafted from incidents, mapped to EU-Alert levels.

:func:`draft_from_incident` turns an incident into a ``Draft`` alert with one
``info`` block per language: the event, urgency, severity and certainty from
the incident's hazard, severity and status; the area from its GeoJSON
``area`` (or H3 cells); the instruction from its recommended measures through
the phrasebook. A draft is published only after a second person approves it
(:meth:`Alert.approved`, :meth:`Alert.can_publish`). Updates and
cancellations reference every earlier message of the chain.

Writing, validating and reading CAP XML live in :mod:`citywatch.respond.capxml`
and are re-exported here (:func:`to_xml`, :func:`validate`, :func:`parse`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

import msgspec

from citywatch.correlate.build import places
from citywatch.model import Detection, Incident, IncidentStatus
from citywatch.model.alert import (
    Alert,
    AlertArea,
    AlertInfo,
    AlertReference,
    Certainty,
    Severity,
    Status,
    Urgency,
)
from citywatch.respond.area import declared_circles, shapes
from citywatch.respond.capxml import cap_time, parse, to_xml, validate
from citywatch.respond.errors import RespondError
from citywatch.respond.evidence import declared
from citywatch.respond.hazards import HAZARDS, Hazard, infer_hazard
from citywatch.respond.phrasebook import check_language, instruction_for, phrase

__all__ = [
    "cancel",
    "cap_time",
    "draft_from_incident",
    "eu_alert_message_id",
    "parse",
    "to_xml",
    "validate",
]

# Per language: default area description, description and date format, all-clear prefix.
_TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "area": "Affected area",
        "description": "{event} since {time} on {date}. The city's emergency services are "
        "dealing with the situation.",
        "date": "%d/%m/%Y",
        "cancel": "All clear",
    },
    "de": {
        "area": "Betroffenes Gebiet",
        "description": "{event} seit {time} Uhr am {date}. Die Einsatzkräfte der Stadt "
        "kümmern sich um die Lage.",
        "date": "%d.%m.%Y",
        "cancel": "Entwarnung",
    },
    "hr": {
        "area": "Pogođeno područje",
        "description": "{event} od {time} sati, {date}. Gradske hitne službe rješavaju situaciju.",
        "date": "%d. %m. %Y",
        "cancel": "Prestanak opasnosti",
    },
}
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._:-]")

# ETSI TS 102 900 / 3GPP TS 23.041 §9.4.1.2.2 message identifiers (CMAS table).
_LEVELS: Final[dict[tuple[str, str, str], int]] = {
    ("Extreme", "Immediate", "Observed"): 4371,
    ("Extreme", "Immediate", "Likely"): 4372,
    ("Extreme", "Expected", "Observed"): 4373,
    ("Extreme", "Expected", "Likely"): 4374,
    ("Severe", "Immediate", "Observed"): 4375,
    ("Severe", "Immediate", "Likely"): 4376,
    ("Severe", "Expected", "Observed"): 4377,
    ("Severe", "Expected", "Likely"): 4378,
}
EU_ALERT_CODE: Final = "EU-Alert"
_KNOWN_IDS: Final = frozenset({*range(4370, 4383), 4396, 6400})


def eu_alert_message_id(
    info: AlertInfo, *, second_language: bool = False, status: Status = "Actual"
) -> int:
    """The EU-Alert cell-broadcast message identifier for an info block.

    Exercise and Test messages map to 4381 and 4380. An ``eventCode`` named
    ``EU-Alert`` holding an identifier (``4370`` for level 1, ``4379`` for
    EU-Amber) overrides the mapping. Otherwise severity, urgency and certainty
    pick 4371–4372 (level 2, extreme and immediate) or 4373–4378 (level 3);
    other moderate-or-worse alerts are 4396 (level 4, public safety) and minor
    ones 6400 (EU-Info). The additional-language identifier is +13 for
    4370–4382 and 4397 for 4396; EU-Info has none, so it stays 6400.

    >>> from citywatch.model.alert import AlertInfo
    >>> i = AlertInfo(language="en-GB", categories=["Geo"], event="Earthquake",
    ...               urgency="Immediate", severity="Extreme", certainty="Observed")
    >>> eu_alert_message_id(i), eu_alert_message_id(i, second_language=True)
    (4371, 4384)
    >>> eu_alert_message_id(i, status="Exercise")
    4381
    """
    if status == "Exercise":
        base = 4381
    elif status in ("Test", "System"):
        base = 4380
    else:
        override = [v for n, v in info.event_codes if n == EU_ALERT_CODE and v.isdigit()]
        if override and int(override[0]) in _KNOWN_IDS:
            base = int(override[0])
        elif (key := (info.severity, info.urgency, info.certainty)) in _LEVELS:
            base = _LEVELS[key]
        elif info.severity in ("Extreme", "Severe", "Moderate"):
            base = 4396
        else:
            base = 6400
    if not second_language:
        return base
    if 4370 <= base <= 4382:
        return base + 13
    return 4397 if base == 4396 else base


def _severity(score: int) -> Severity:
    return (
        "Extreme"
        if score >= 85
        else "Severe"
        if score >= 65
        else "Moderate"
        if score >= 40
        else "Minor"
    )


def _urgency(incident: Incident) -> Urgency:
    done = (
        IncidentStatus.CONTAINED,
        IncidentStatus.RESOLVED,
        IncidentStatus.FALSE_POSITIVE,
        IncidentStatus.MERGED,
    )
    return "Past" if incident.status in done else "Immediate"


def _certainty(incident: Incident) -> Certainty:
    if incident.status != IncidentStatus.NEW:
        return "Observed"  # a person has looked at it
    return "Likely" if len(incident.detections) >= 2 else "Possible"


def _pick(value: str | Mapping[str, str] | None, lang: str, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    return value.get(lang, default)


def _began(incident: Incident, detections: Sequence[Detection]) -> datetime:
    """When the incident began: the earliest origin time its detections declare
    (``attributes.<silo>.origin_time``: a quake's, which its first phone report may precede by
    a false trigger), else its first evidence."""
    times = []
    for _, origin in declared(detections, "origin_time"):
        if isinstance(origin, str):
            try:
                when = datetime.fromisoformat(origin)
            except ValueError:
                continue
            if when.tzinfo is not None:
                times.append(when)
    return min(times) if times else incident.first_seen


def draft_from_incident(
    incident: Incident,
    *,
    sender: str,
    drafted_by: str,
    languages: Sequence[str] = ("en-GB", "de-DE"),
    hazard: str | None = None,
    sent: datetime | None = None,
    tz: tzinfo = UTC,
    identifier: str | None = None,
    area_desc: str | Mapping[str, str] | None = None,
    radius_km: float = 0.5,
    urgency: Urgency | None = None,
    severity: Severity | None = None,
    certainty: Certainty | None = None,
    expires_in: timedelta | None = None,
    sender_name: str | None = None,
    web: str | None = None,
    contact: str | None = None,
    supersedes: Alert | None = None,
    detections: Sequence[Detection] = (),
) -> Alert:
    """A ``Draft`` CAP alert for an incident, one info block per language.

    ``hazard`` names an entry of :data:`~citywatch.respond.hazards.HAZARDS`
    (inferred from the incident when omitted). Times are written in ``tz``
    (the city's offset). ``area_desc`` is one text or a mapping from the
    primary language subtag (``"de"``) to a text; by default, the incident's
    places (or districts), else "Affected area" in each language. The area is
    the incident's place; where its ``detections`` say what they reach
    (:func:`~citywatch.respond.area.declared_circles`: a quake's felt area),
    those circles instead of small ones round each point. A cyber attack's alert has no
    shape: it concerns the city's services, and the places of its devices (cameras a botnet
    took) are not for the public. With ``supersedes`` the
    draft is an ``Update`` of that alert and references it and everything it
    referenced. Measures the phrasebook does not know are left out of the
    public text (see :func:`~citywatch.respond.phrasebook.instruction_for`).
    """
    kind: Hazard = HAZARDS[hazard] if hazard else infer_hazard(incident)
    langs = [(tag, check_language(tag)) for tag in languages]
    if not langs:
        raise RespondError("a public alert needs at least one language")
    when = (sent or datetime.now(tz)).astimezone(tz).replace(microsecond=0)
    ident = identifier or _UNSAFE.sub("_", f"{incident.id}.{when:%Y%m%dT%H%M%S}")
    rings, circles = shapes(incident.area, radius_km=radius_km)
    if kind.key == "cyber":  # the city's services, not a place: and no map of its devices
        rings, circles = [], []
    elif declared := declared_circles(detections):  # what the detections say they reach
        circles = declared
    since = _began(incident, detections).astimezone(tz)
    infos = []
    for tag, lang in langs:
        text = _TEXT[lang]
        event = kind.event[lang]
        where = _pick(area_desc, lang, places(incident.entities) or text["area"])
        areas = [AlertArea(area_desc=where, polygons=rings, circles=circles)]
        instruction = instruction_for(incident.measures, tag, defaults=kind.instructions)
        infos.append(
            AlertInfo(
                language=tag,
                categories=list(kind.categories),
                event=event,
                response_types=list(kind.response_types),
                urgency=urgency or _urgency(incident),
                severity=severity or _severity(incident.severity),
                certainty=certainty or _certainty(incident),
                effective=when,
                expires=when + (expires_in or kind.valid_for),
                sender_name=sender_name,
                headline=f"{event} – {where}"[:160],
                description=text["description"].format(
                    event=event, time=f"{since:%H:%M}", date=since.strftime(text["date"])
                ),
                instruction=instruction.text or None,
                web=web,
                contact=contact,
                areas=areas if (rings or circles or area_desc) else [],
            )
        )
    references = _chain(supersedes) if supersedes else []
    while any(r.identifier == ident for r in references):
        ident += "-u"
    return Alert(
        identifier=ident,
        sender=sender,
        sent=when,
        status="Draft",
        msg_type="Update" if supersedes else "Alert",
        scope="Public",
        references=references,
        incidents=[incident.id],
        infos=infos,
        drafted_by=drafted_by,
    )


def _chain(earlier: Alert) -> list[AlertReference]:
    refs = [r for r in earlier.references if r != earlier.reference]
    return [*refs, earlier.reference]


def cancel(
    original: Alert,
    *,
    drafted_by: str,
    sent: datetime | None = None,
    identifier: str | None = None,
    note: str | None = None,
) -> Alert:
    """A ``Draft`` Cancel message for a published alert, with an all-clear per language.

    It keeps the original's languages and areas, sets urgency ``Past`` and
    response ``AllClear``, and references the original and its chain. A
    language the phrasebook lacks raises :class:`RespondError`.
    """
    tz = original.sent.tzinfo or UTC
    when = (sent or datetime.now(tz)).astimezone(tz).replace(microsecond=0)
    infos = []
    for info in original.infos:
        lang = check_language(info.language)
        headline = f"{_TEXT[lang]['cancel']}: {info.event}"[:160]
        infos.append(
            msgspec.structs.replace(
                info,
                response_types=["AllClear"],
                urgency="Past",
                effective=when,
                onset=None,
                expires=None,
                headline=headline,
                description=headline,
                instruction=phrase("all_clear", info.language),
            )
        )
    return Alert(
        identifier=identifier or _UNSAFE.sub("_", f"{original.identifier}.cancel"),
        sender=original.sender,
        sent=when,
        status="Draft",
        msg_type="Cancel",
        scope=original.scope,
        note=note,
        references=_chain(original),
        incidents=list(original.incidents),
        infos=infos,
        drafted_by=drafted_by,
    )
