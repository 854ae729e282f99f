"""STIX 2.1 for cyber incidents: export bundles, import indicators, report sightings back.

:func:`export_bundle` shares an incident with the national CERT and
neighbouring cities: the city as an ``identity``; one ``indicator`` per
attacker address (``[ipv4-addr:value = '…']``, valid from first sight until
``valid_for`` after the last) and per outside address or name the city's
compromised devices reached (a C2 server, a download host, a generated
domain: ``[domain-name:value = '…']``), never an internal address; a
``sighting`` of each (count, first and last seen, sighted by the city);
``attack-pattern`` objects with the MITRE ATT&CK id from the detections'
tags; and ``indicates`` relationships from each indicator to the techniques
it was seen in. Ids are UUIDv5 over stable inputs (the TLP level among them),
so re-exporting an incident at one level gives the same ids, and every object
carries a TLP marking. (UUIDv5 ids are why ``stix2-validator --strict`` warns:
the standard says ids SHOULD be UUIDv4; stable ids let a partner's platform
update what it holds instead of piling up copies.) Objects are built and checked by the ``stix2``
library.

Importing indicators and matching them to events happens at enrichment
(:mod:`citywatch.enrich.intel`, the ``threat-intel`` detector);
:func:`export_sightings` reports the hits back as STIX sightings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

from citywatch.enrich.intel import Indicator
from citywatch.model import Detection, Incident
from citywatch.respond.evidence import (
    IPAddress,
    attackers,
    redact,
    remotes,
    technique_name,
    technique_url,
)

NAMESPACE: Final = uuid.UUID("5d0c3a4e-8f21-5b7a-9c1e-3f6b2a9d7e10")
# Fixed creation time for objects shared by every incident (identity, techniques).
_STABLE: Final = datetime(2026, 1, 1, tzinfo=UTC)


class _Shown(NamedTuple):
    """One indicator the bundle shares: an attacker address, or what devices reached."""

    kind: str
    value: str
    name: str
    first: datetime
    last: datetime
    hits: int
    techniques: list[str]


class Match(NamedTuple):
    """Indicator hits to report: how often, first and last time."""

    indicator: Indicator
    hits: int
    first_seen: datetime
    last_seen: datetime


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join((kind, *parts)))}"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identity(city: str) -> Any:
    """The city as a STIX identity (same id for the same name)."""
    import stix2  # noqa: PLC0415 - lazy: importing it costs every command a third of a second

    return stix2.Identity(
        id=_id("identity", city),
        name=city,
        identity_class="organization",
        sectors=["government-local"],
        created=_STABLE,
        modified=_STABLE,
    )


def export_bundle(
    incident: Incident,
    detections: Iterable[Detection],
    *,
    city: str = "City of Aldmere",
    allow: Iterable[str] = (),
    valid_for: timedelta = timedelta(days=30),
    tlp: Literal["white", "green", "amber", "red"] = "amber",
    spare: Mapping[IPAddress, str] | None = None,
) -> str:
    """The incident as a STIX 2.1 bundle (JSON text); addresses in ``allow`` are left out, and
    ``spare`` ones (the incident's :func:`~citywatch.respond.evidence.spared` when None)."""
    import stix2  # noqa: PLC0415 - lazy, as in identity()

    if valid_for <= timedelta(0):
        raise ValueError("valid_for must be positive")
    allow = list(allow)
    marking = getattr(stix2, f"TLP_{tlp.upper()}")
    me = identity(city)
    common = {"created_by_ref": me.id, "object_marking_refs": [marking.id]}
    created, modified = incident.first_seen, max(incident.last_seen, incident.first_seen)
    objects: list[Any] = [marking, me]
    detections = list(detections)
    seen_list = attackers(incident, detections, allow=allow, shared=True, spare=spare)
    reached = remotes(detections, allow=allow)
    patterns: dict[str, Any] = {}
    used = [
        *(t for s in seen_list for t in s.techniques),
        *(t for r in reached for t in r.techniques),
    ]
    for tid in dict.fromkeys(used):
        patterns[tid] = stix2.AttackPattern(
            id=_id("attack-pattern", tid, tlp),
            name=technique_name(tid),
            external_references=[
                {"source_name": "mitre-attack", "external_id": tid, "url": technique_url(tid)}
            ],
            created=_STABLE,
            modified=_STABLE,
            **common,
        )
    objects.extend(patterns.values())
    about = redact(f"Seen in incident {incident.id}: {incident.title}", allow)
    shown: list[_Shown] = [
        _Shown(
            "ipv4-addr" if seen.address.version == 4 else "ipv6-addr",
            str(seen.address),
            f"Attacker address {seen.address}",
            seen.first,
            seen.last,
            seen.hits,
            seen.techniques,
        )
        for seen in seen_list
    ]
    attacking = {item.value for item in shown}  # one indicator per value: the attacker's
    shown += [
        _Shown(r.kind, r.value, f"{r.role}: {r.value}", r.first, r.last, len(r.detections),
               r.techniques)
        for r in reached
        if r.value not in attacking
    ]  # fmt: skip
    for item in shown:
        key = (incident.id, item.value, tlp)
        indicator = stix2.Indicator(
            id=_id("indicator", *key),
            name=item.name,
            description=about,
            pattern=f"[{item.kind}:value = {_literal(item.value)}]",
            pattern_type="stix",
            valid_from=item.first,
            valid_until=item.last + valid_for,
            indicator_types=["malicious-activity"],
            labels=["citywatch", incident.category],
            created=created,
            modified=modified,
            **common,
        )
        objects.append(indicator)
        objects.append(
            stix2.Sighting(
                id=_id("sighting", *key),
                sighting_of_ref=indicator.id,
                count=max(1, min(item.hits, 999_999_999)),
                first_seen=item.first,
                last_seen=item.last,
                where_sighted_refs=[me.id],
                created=created,
                modified=modified,
                **common,
            )
        )
        objects.extend(
            stix2.Relationship(
                id=_id("relationship", indicator.id, patterns[tid].id),
                relationship_type="indicates",
                source_ref=indicator.id,
                target_ref=patterns[tid].id,
                created=created,
                modified=modified,
                **common,
            )
            for tid in item.techniques
        )
    bundle = stix2.Bundle(
        id=_id("bundle", incident.id, modified.isoformat(), tlp),
        objects=objects,
        allow_custom=False,
    )
    return str(bundle.serialize(pretty=True))


def export_sightings(matches: Iterable[Match], *, city: str = "City of Aldmere") -> str:
    """A bundle of sightings of imported indicators, sighted by the city."""
    import stix2  # noqa: PLC0415 - lazy, as in identity()

    me = identity(city)
    objects: list[Any] = [me]
    for m in matches:
        objects.append(
            stix2.Sighting(
                id=_id("sighting", m.indicator.id, m.first_seen.isoformat()),
                sighting_of_ref=m.indicator.id,
                count=max(1, min(m.hits, 999_999_999)),
                first_seen=m.first_seen,
                last_seen=max(m.last_seen, m.first_seen),
                where_sighted_refs=[me.id],
                created_by_ref=me.id,
            )
        )
    return str(stix2.Bundle(objects=objects, allow_custom=False).serialize(pretty=True))
