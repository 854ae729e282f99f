"""STIX 2.1 for cyber incidents: export bundles, import indicators, report sightings back.

:func:`export_bundle` shares an incident with the national CERT and
neighbouring cities: the city as an ``identity``; one ``indicator`` per
attacker address (``[ipv4-addr:value = '…']``, valid from first sight until
``valid_for`` after the last); a ``sighting`` of each (count, first and last
seen, sighted by the city); ``attack-pattern`` objects with the MITRE ATT&CK
id from the detections' tags; and ``indicates`` relationships from each
indicator to the techniques its address was seen using. Ids are UUIDv5 over
stable inputs, so re-exporting an incident gives the same ids, and every
object carries a TLP marking. Objects are built and checked by the ``stix2``
library.

:func:`import_indicators` reads the simple, shareable indicator patterns
(IP addresses and networks, domains, URLs, joined by ``OR``) from a bundle
into :class:`Indicator` records; an :class:`IndicatorMatcher` tells which of
them an observed value hits, and :func:`export_sightings` reports those hits
back as STIX sightings.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

import msgspec
import stix2
from stix2.exceptions import STIXError

from citywatch.model import Detection, Incident
from citywatch.respond.errors import IntelError
from citywatch.respond.evidence import attackers, redact, technique_name, technique_url

NAMESPACE: Final = uuid.UUID("5d0c3a4e-8f21-5b7a-9c1e-3f6b2a9d7e10")
MAX_BUNDLE_BYTES: Final = 20_000_000
TLP: Final = {
    "white": stix2.TLP_WHITE,
    "green": stix2.TLP_GREEN,
    "amber": stix2.TLP_AMBER,
    "red": stix2.TLP_RED,
}
# Fixed creation time for objects shared by every incident (identity, techniques).
_STABLE: Final = datetime(2026, 1, 1, tzinfo=UTC)
_OBJECT: Final = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "url": "url",
}
_COMPARISON: Final = re.compile(
    r"\s*(ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'((?:[^'\\]|\\.){1,2048})'\s*"
)

IndicatorType = Literal["ipv4", "ipv6", "domain", "url"]


class Indicator(msgspec.Struct, frozen=True, kw_only=True):
    """One imported indicator value: an address or network, a domain or a URL."""

    type: IndicatorType
    value: str
    id: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    name: str | None = None

    def valid_at(self, when: datetime) -> bool:
        """True if the indicator is in force at ``when``."""
        if self.valid_from is not None and when < self.valid_from:
            return False
        return self.valid_until is None or when < self.valid_until


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
) -> str:
    """The incident as a STIX 2.1 bundle (JSON text); addresses in ``allow`` are left out."""
    if valid_for <= timedelta(0):
        raise ValueError("valid_for must be positive")
    allow = list(allow)
    marking = TLP[tlp]
    me = identity(city)
    common = {"created_by_ref": me.id, "object_marking_refs": [marking.id]}
    created, modified = incident.first_seen, max(incident.last_seen, incident.first_seen)
    objects: list[Any] = [marking, me]
    patterns: dict[str, Any] = {}
    seen_list = attackers(incident, detections, allow=allow)
    for tid in dict.fromkeys(t for s in seen_list for t in s.techniques):
        patterns[tid] = stix2.AttackPattern(
            id=_id("attack-pattern", tid),
            name=technique_name(tid),
            external_references=[
                {"source_name": "mitre-attack", "external_id": tid, "url": technique_url(tid)}
            ],
            created=_STABLE,
            modified=_STABLE,
            **common,
        )
    objects.extend(patterns.values())
    for seen in seen_list:
        kind = "ipv4-addr" if seen.address.version == 4 else "ipv6-addr"
        value = str(seen.address)
        indicator = stix2.Indicator(
            id=_id("indicator", incident.id, value),
            name=f"Attacker address {value}",
            description=redact(f"Seen in incident {incident.id}: {incident.title}", allow),
            pattern=f"[{kind}:value = {_literal(value)}]",
            pattern_type="stix",
            valid_from=seen.first,
            valid_until=seen.last + valid_for,
            indicator_types=["malicious-activity"],
            labels=["citywatch", incident.category],
            created=created,
            modified=modified,
            **common,
        )
        objects.append(indicator)
        objects.append(
            stix2.Sighting(
                id=_id("sighting", incident.id, value),
                sighting_of_ref=indicator.id,
                count=max(1, min(seen.hits, 999_999_999)),
                first_seen=seen.first,
                last_seen=seen.last,
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
            for tid in seen.techniques
        )
    bundle = stix2.Bundle(
        id=_id("bundle", incident.id, modified.isoformat()), objects=objects, allow_custom=False
    )
    return str(bundle.serialize(pretty=True))


def export_sightings(matches: Iterable[Match], *, city: str = "City of Aldmere") -> str:
    """A bundle of sightings of imported indicators, sighted by the city."""
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


def _values(pattern: str) -> list[tuple[IndicatorType, str]] | None:
    text = pattern.strip()
    if len(text) > 100_000 or not (text.startswith("[") and text.endswith("]")):
        return None
    out: list[tuple[IndicatorType, str]] = []
    for part in re.split(r"\s+OR\s+", text[1:-1]):
        match = _COMPARISON.fullmatch(part)
        if match is None:
            return None
        value = re.sub(r"\\(.)", r"\1", match.group(2))
        kind: IndicatorType = _OBJECT[match.group(1)]  # type: ignore[assignment]
        if kind in ("ipv4", "ipv6"):
            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError:
                return None
            value = str(net.network_address) if net.num_addresses == 1 else str(net)
        elif kind == "domain":
            value = value.lower().rstrip(".")
        out.append((kind, value))
    return out


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def import_indicators(
    bundle_json: str | bytes, *, problems: list[str] | None = None
) -> list[Indicator]:
    """The shareable indicators of a STIX 2.1 bundle (checked by ``stix2``, no custom content).

    Indicators whose pattern is not a plain ``OR`` of value equalities on
    ``ipv4-addr``, ``ipv6-addr``, ``domain-name`` or ``url``, and revoked
    ones, are skipped; each skip is appended to ``problems`` when given.
    """
    if len(bundle_json) > MAX_BUNDLE_BYTES:
        raise IntelError(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        bundle = stix2.parse(bundle_json, allow_custom=False)
    except (STIXError, ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        raise IntelError(f"not a valid STIX 2.1 bundle: {exc}") from exc
    if getattr(bundle, "type", None) != "bundle":
        raise IntelError("expected a STIX bundle")
    out: list[Indicator] = []
    for obj in getattr(bundle, "objects", None) or []:
        if obj.type != "indicator":
            continue
        values = _values(obj.pattern) if obj.pattern_type == "stix" else None
        if obj.get("revoked", False) or values is None:
            if problems is not None:
                reason = "revoked" if obj.get("revoked", False) else "unsupported pattern"
                problems.append(f"{obj.id}: {reason}: {str(obj.pattern)[:120]}")
            continue
        for kind, value in values:
            out.append(
                Indicator(
                    type=kind,
                    value=value,
                    id=obj.id,
                    valid_from=_when(obj.get("valid_from")),
                    valid_until=_when(obj.get("valid_until")),
                    name=obj.get("name"),
                )
            )
    return out


class IndicatorMatcher:
    """Which imported indicators an observed address, domain or URL hits."""

    def __init__(self, indicators: Iterable[Indicator]) -> None:
        self._exact: dict[tuple[str, str], list[Indicator]] = {}
        self._nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Indicator]] = []
        for ind in indicators:
            if ind.type in ("ipv4", "ipv6") and "/" in ind.value:
                self._nets.append((ipaddress.ip_network(ind.value), ind))
            else:
                kind = "ip" if ind.type in ("ipv4", "ipv6") else ind.type
                self._exact.setdefault((kind, ind.value), []).append(ind)

    def match_ip(self, value: str, at: datetime) -> list[Indicator]:
        """Indicators in force at ``at`` that name this address or a network holding it."""
        try:
            ip = ipaddress.ip_address(value.strip())
        except ValueError:
            return []
        hits = list(self._exact.get(("ip", str(ip)), []))
        hits.extend(ind for net, ind in self._nets if ip.version == net.version and ip in net)
        return [i for i in hits if i.valid_at(at)]

    def match_domain(self, value: str, at: datetime) -> list[Indicator]:
        """Indicators in force at ``at`` for exactly this domain name."""
        key = ("domain", value.strip().lower().rstrip("."))
        return [i for i in self._exact.get(key, []) if i.valid_at(at)]

    def match_url(self, value: str, at: datetime) -> list[Indicator]:
        """Indicators in force at ``at`` for exactly this URL."""
        return [i for i in self._exact.get(("url", value.strip()), []) if i.valid_at(at)]
