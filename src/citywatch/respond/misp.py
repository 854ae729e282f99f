"""MISP event JSON for cyber incidents, as MISP's REST API and feeds exchange it.

Built with plain dicts (no ``pymisp`` needed): an ``Event`` with ``Orgc``, a
TLP tag and one MITRE ATT&CK galaxy tag per technique
(``misp-galaxy:mitre-attack-pattern="Credential Stuffing - T1110.004"``), and
an ``Attribute`` list: ``ip-src`` for every attacker address and ``ip-dst`` or
``domain`` for every outside address or name the city's compromised devices
reached (a C2 server, a download host; ``to_ids``; never an internal address),
``url`` and ``user-agent`` values the detections carry (``url.original``,
``user_agent.original`` entities; context only, not for IDS), and one
``comment`` per detection summary. UUIDs are UUIDv5 over stable inputs, so
re-exporting an incident updates the same event and attributes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Literal

from citywatch.model import Detection, Incident
from citywatch.respond.evidence import (
    IPAddress,
    attackers,
    redact,
    remotes,
    shareable,
    spared,
    technique_name,
    techniques,
)

NAMESPACE: Final = uuid.UUID("0b7e6a52-3d94-5f1c-8e2a-71c4d9f05b36")
# MISP threat_level_id: 1 high, 2 medium, 3 low, 4 undefined; analysis: 0 initial,
# 1 ongoing, 2 completed; distribution: 0 organisation, 1 community, 2 connected, 3 all.
_ANALYSIS: Final = {"new": "0", "acknowledged": "1", "contained": "1", "resolved": "2"}
_DISTRIBUTION: Final = {"organisation": "0", "community": "1", "connected": "2", "all": "3"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def _ts(value: datetime) -> str:
    return str(int(value.timestamp()))


def _threat_level(severity: int) -> str:
    return "1" if severity >= 70 else "2" if severity >= 40 else "3"


def _attribute(
    event_uuid: str,
    kind: str,
    category: str,
    value: str,
    *,
    to_ids: bool,
    when: datetime,
    comment: str = "",
    first: datetime | None = None,
    last: datetime | None = None,
) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "uuid": _uuid(event_uuid, kind, value),
        "type": kind,
        "category": category,
        "value": value,
        "to_ids": to_ids,
        "distribution": "5",  # inherit the event's
        "comment": comment,
        "timestamp": _ts(when),
    }
    if first is not None and last is not None:
        attr["first_seen"] = first.isoformat()
        attr["last_seen"] = last.isoformat()
    return attr


def misp_event(
    incident: Incident,
    detections: Iterable[Detection],
    *,
    org: str = "City of Aldmere",
    allow: Iterable[str] = (),
    tlp: Literal["clear", "white", "green", "amber", "red"] = "amber",
    distribution: Literal["organisation", "community", "connected", "all"] = "community",
    spare: Mapping[IPAddress, str] | None = None,
) -> dict[str, Any]:
    """The incident as a MISP event (``{"Event": {...}}``).

    Detections from addresses in ``allow`` (the city's own) are left out entirely; ``spare``
    addresses (the incident's :func:`~citywatch.respond.evidence.spared` when None) are no
    attackers', and no detection's words name them.
    """
    allow, detections = list(allow), list(detections)
    dets = shareable(detections, allow=allow)
    if spare is None:
        spare = spared(incident, detections)
    event_uuid = _uuid("event", incident.id)
    when = incident.last_seen
    attrs: list[dict[str, Any]] = []
    # spared over all the detections, as the block step and STIX judge it (a link's
    # followers in the city's own offices are followers too); the allowed ones are no rows
    for seen in attackers(incident, detections, allow=allow, shared=True, spare=spare):
        used = ", ".join(seen.techniques) or "see event"
        attrs.append(
            _attribute(
                event_uuid,
                "ip-src",
                "Network activity",
                str(seen.address),
                to_ids=True,
                when=when,
                comment=f"attacker address, {seen.hits} records ({used})",
                first=seen.first,
                last=seen.last,
            )
        )
    for reached in remotes(detections, allow=allow):  # a city device's detections name them
        attrs.append(
            _attribute(
                event_uuid,
                "domain" if reached.kind == "domain-name" else "ip-dst",
                "Network activity",
                reached.value,
                to_ids=True,
                when=when,
                comment=reached.role,
                first=reached.first,
                last=reached.last,
            )
        )
    context: dict[tuple[str, str], None] = {}
    for d in dets:
        for key, kind in (("url.original", "url"), ("user_agent.original", "user-agent")):
            if value := d.entity.get(key):
                context[(kind, value[:2048])] = None
    for kind, value in context:
        attrs.append(
            _attribute(event_uuid, kind, "Network activity", value, to_ids=False, when=when)
        )
    for d in dets:
        attrs.append(
            _attribute(
                event_uuid,
                "comment",
                "Other",
                redact(f"{d.rule_name}: {d.summary}", allow, spare)[:1024],
                to_ids=False,
                when=d.last_seen,
                comment=d.id,
            )
        )
    tags = [{"name": f"tlp:{tlp}"}]
    tids = techniques(t for d in dets for t in d.tags)
    tags.extend(
        {"name": f'misp-galaxy:mitre-attack-pattern="{technique_name(t)} - {t}"'} for t in tids
    )
    return {
        "Event": {
            "uuid": event_uuid,
            "info": redact(f"citywatch {incident.id}: {incident.title}", allow, spare)[:1024],
            "date": incident.first_seen.date().isoformat(),
            "timestamp": _ts(when),
            "threat_level_id": _threat_level(incident.severity),
            "analysis": _ANALYSIS.get(str(incident.status), "2"),
            "distribution": _DISTRIBUTION[distribution],
            "published": False,
            "Orgc": {"name": org, "uuid": _uuid("org", org)},
            "Tag": tags,
            "Attribute": attrs,
        }
    }
