"""Threat intelligence at enrichment: indicators imported from STIX 2.1 bundles, matched to events.

:func:`import_indicators` reads the simple, shareable indicator patterns
(IP addresses and networks, domains, URLs, joined by ``OR``) from a bundle
into :class:`Indicator` records; an :class:`IndicatorMatcher` tells which of
them an observed value hits (the ``threat-intel`` detector asks it for every
event). Exporting bundles and sightings is the respond stage's
(:mod:`citywatch.respond.stix`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, Literal

import msgspec

from citywatch.errors import CitywatchError

MAX_BUNDLE_BYTES: Final = 20_000_000


class IntelError(CitywatchError):
    """A threat-intel document (a STIX bundle) cannot be parsed."""


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


def _values(pattern: str) -> list[tuple[IndicatorType, str]] | None:
    text = pattern.strip()
    if len(text) > 100_000 or not (text.startswith("[") and text.endswith("]")):
        return None
    out: list[tuple[IndicatorType, str]] = []
    # one observation ([a = 'x' OR a = 'y']) or several ([a = 'x'] OR [a = 'y']) alike
    for part in re.split(r"\s*\]\s+OR\s+\[\s*|\s+OR\s+", text[1:-1]):
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
    """The shareable indicators of a STIX 2.1 (or 2.0) bundle, checked by ``stix2``.

    Indicators whose pattern is not a plain ``OR`` of value equalities on
    ``ipv4-addr``, ``ipv6-addr``, ``domain-name`` or ``url`` (in one
    observation or several), and revoked ones, are skipped; each skip is
    appended to ``problems`` when given. Custom properties (``x_opencti_score``)
    and custom objects, which platforms add, are ignored.
    """
    import stix2  # noqa: PLC0415 - lazy: importing it costs every command a third of a second
    from stix2.exceptions import STIXError  # noqa: PLC0415

    if len(bundle_json) > MAX_BUNDLE_BYTES:
        raise IntelError(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        bundle = stix2.parse(bundle_json, allow_custom=True)
    except (STIXError, ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        raise IntelError(f"not a valid STIX 2.1 bundle: {exc}") from exc
    if getattr(bundle, "type", None) != "bundle":
        raise IntelError("expected a STIX bundle")
    out: list[Indicator] = []
    for obj in getattr(bundle, "objects", None) or []:
        if obj.get("type") != "indicator":
            continue
        pattern = str(obj.get("pattern", ""))
        # STIX 2.0 has no pattern_type: its patterns are all STIX patterns
        values = _values(pattern) if obj.get("pattern_type", "stix") == "stix" else None
        if obj.get("revoked", False) or values is None:
            if problems is not None:
                reason = "revoked" if obj.get("revoked", False) else "unsupported pattern"
                problems.append(f"{obj.get('id')}: {reason}: {pattern[:120]}")
            continue
        for kind, value in values:
            out.append(
                Indicator(
                    type=kind,
                    value=value,
                    id=str(obj.get("id")),
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
                value = url_key(ind.value) if kind == "url" else ind.value
                self._exact.setdefault((kind, value), []).append(ind)

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
        """Indicators in force at ``at`` for this URL (:func:`url_key`: either scheme, the
        default port or none), or for the same URL without its query."""
        key = url_key(value)
        hits = list(self._exact.get(("url", key), []))
        if "?" in key:
            hits += self._exact.get(("url", key.partition("?")[0]), [])
        return [i for i in hits if i.valid_at(at)]


def url_key(url: str) -> str:
    """A URL as indicators are matched by: no scheme (a portal answers both), the host in
    lower case without its default port, no fragment.

    >>> url_key("HTTP://Portal.Aldmere.City:80/wp-login.php#x")
    '//portal.aldmere.city/wp-login.php'
    >>> url_key("https://portal.aldmere.city:443/a?b=1"), url_key("https://h:8443/")
    ('//portal.aldmere.city/a?b=1', '//h:8443/')
    """
    rest = url.strip().partition("#")[0]
    scheme, sep, after = rest.partition("://")
    if not sep:
        return rest
    host, slash, path = after.partition("/")
    host = host.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme.lower())
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"//{host}{slash}{path}"
