"""What the sharing and blocking modules take from an incident: attacker addresses, the outside
addresses and names compromised devices reached, and techniques.

Addresses come from the ``source.ip`` entity of the incident and of its
detections (pseudonyms are not addresses and are ignored). An address inside
an allow-list network (the city's own ranges) is never returned, nor a
loopback, unspecified, link-local or multicast one: blocking or reporting
those would hurt the city, not the attacker. What is shared with partners
(:func:`attackers` with ``shared``, :func:`remotes`) leaves out internal
addresses too (RFC 1918, shared address space, unique local): a city device
that attacks is a victim, and its address means nothing, or someone else's
device, on a partner's network. Nor is one blocked when the incident names
city devices (``device.id``): its internal addresses are then the devices'
own, which quarantine cuts off, and a block would cut the city off from its
own devices. IPv4-mapped IPv6 addresses count as their
IPv4 address. ATT&CK technique ids come from detection tags such as
``attack.T1110.004`` (any case).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Final, NamedTuple

from citywatch.detect.portal.crawlers import CrawlerRanges, crawler_spared, spared_why
from citywatch.detect.portal.links import Crowds, followed
from citywatch.errors import ConfigError
from citywatch.model import SPARED, Detection, Incident

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_TECHNIQUE: Final = re.compile(r"attack\.(t\d{4}(?:\.\d{3})?)", re.I)
_ADDRESS_LIKE: Final = re.compile(r"\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?|[0-9A-Fa-f:.]{2,45}")
DOMAIN: Final = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
"""A host name as resolvers look it up (lower case; a top-level label of letters)."""

# Names of the ATT&CK (Enterprise) techniques citywatch's detectors tag.
TECHNIQUES: Final[dict[str, str]] = {
    "T1021": "Remote Services",
    "T1046": "Network Service Discovery",
    "T1059": "Command and Scripting Interpreter",
    "T1071": "Application Layer Protocol",
    "T1078": "Valid Accounts",
    "T1078.001": "Default Accounts",
    "T1083": "File and Directory Discovery",
    "T1102": "Web Service",
    "T1105": "Ingress Tool Transfer",
    "T1110": "Brute Force",
    "T1110.001": "Password Guessing",
    "T1110.002": "Password Cracking",
    "T1110.003": "Password Spraying",
    "T1110.004": "Credential Stuffing",
    "T1133": "External Remote Services",
    "T1189": "Drive-by Compromise",
    "T1190": "Exploit Public-Facing Application",
    "T1200": "Hardware Additions",
    "T1213": "Data from Information Repositories",
    "T1498": "Network Denial of Service",
    "T1498.001": "Direct Network Flood",
    "T1498.002": "Reflection Amplification",
    "T1499": "Endpoint Denial of Service",
    "T1499.001": "OS Exhaustion Flood",
    "T1499.002": "Service Exhaustion Flood",
    "T1499.003": "Application Exhaustion Flood",
    "T1499.004": "Application or System Exploitation",
    "T1505.003": "Web Shell",
    "T1565": "Data Manipulation",
    "T1565.001": "Stored Data Manipulation",
    "T1568": "Dynamic Resolution",
    "T1568.002": "Domain Generation Algorithms",
    "T1571": "Non-Standard Port",
    "T1595": "Active Scanning",
    "T1595.001": "Scanning IP Blocks",
    "T1595.002": "Vulnerability Scanning",
    "T1595.003": "Wordlist Scanning",
}


_INTERNAL: Final = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
"""Networks no partner can reach the city's hosts in: private, shared and unique-local."""

_ROLES: Final = {
    "iot.c2": "Command and control server",
    "iot.download": "Malware download host",
    "iot.dns": "Generated (DGA) domain and its addresses",
}
"""What a rule's outside addresses and names are, as a partner reads it."""
_REACHED: Final = "Outside host reached by compromised devices"
_RANKED: Final = (*_ROLES.values(), _REACHED)
"""The roles, the most telling first: a value several rules name takes the first of them."""


class Seen(NamedTuple):
    """One attacker address: when and how often it was seen, and doing what."""

    address: IPAddress
    first: datetime
    last: datetime
    hits: int
    techniques: list[str]
    detections: list[str]


class Remote(NamedTuple):
    """An outside address or name that city devices reached: a C2 server, a download host."""

    value: str
    kind: str
    """``ipv4-addr``, ``ipv6-addr`` or ``domain-name``."""
    role: str
    first: datetime
    last: datetime
    techniques: list[str]
    detections: list[str]


def techniques(tags: Iterable[str]) -> list[str]:
    """ATT&CK technique ids in tags, upper-cased, first-seen order.

    >>> techniques(["attack.T1110.004", "attack.credential_access", "attack.t1190"])
    ['T1110.004', 'T1190']
    """
    out: list[str] = []
    for tag in tags:
        match = _TECHNIQUE.fullmatch(tag.strip())
        if match and (tid := match.group(1).upper()) not in out:
            out.append(tid)
    return out


def technique_name(tid: str) -> str:
    """The technique's ATT&CK name, or a neutral one for ids not in the table."""
    return TECHNIQUES.get(tid, f"ATT&CK technique {tid}")


def technique_url(tid: str) -> str:
    """The technique's page on attack.mitre.org.

    >>> technique_url("T1110.004")
    'https://attack.mitre.org/techniques/T1110/004/'
    """
    return f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}/"


def networks(allow: Iterable[str]) -> list[IPNetwork]:
    """Allow-list networks from CIDR strings; a bad entry is a :class:`ConfigError`."""
    out: list[IPNetwork] = []
    for cidr in allow:
        try:
            out.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ConfigError(f"not a network: {cidr!r}", where="respond.allow") from exc
    return out


def address(value: str) -> IPAddress | None:
    """An IP address from text (IPv4-mapped IPv6 as IPv4), or None if it is not one."""
    try:
        ip = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_order(ip: IPAddress) -> tuple[int, int]:
    """The sort key of addresses: IPv4 first, then by number."""
    return ip.version, int(ip)


def _within(ip: IPAddress, nets: Sequence[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in nets)


def blockable(ip: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    """True unless the address is the city's own or a special one no list may hold."""
    if ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast:
        return False
    return not _within(ip, allow)


def outside(ip: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    """Whether the address may leave the city: :func:`blockable`, and in no network a
    partner cannot reach (:data:`_INTERNAL`).

    >>> outside(address("10.20.1.15"), []), outside(address("91.92.241.17"), [])
    (False, True)
    """
    return blockable(ip, allow) and not _within(ip, _INTERNAL)


def allowed(incident: Incident, detections: Iterable[Detection], allow: Iterable[str]) -> list[str]:
    """The incident's source addresses inside ``allow`` (the city's own networks, a step's
    allow list), sorted: what a block leaves out for being the city's, said so that the
    responder who approved it knows why.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> i = Incident(id="i", title="t", status="new", severity=50, category="cyber",
    ...     first_seen=t, last_seen=t, detections=[],
    ...     entities={"source.ip": ["10.20.1.5", "198.51.100.7", "10.20.0.9"]})
    >>> allowed(i, [], ["10.20.0.0/16"])
    ['10.20.0.9', '10.20.1.5']
    """
    nets = networks(allow)
    values = _sources(incident, detections)
    found = {ip for v in values if (ip := address(v)) is not None and _within(ip, nets)}
    return [str(ip) for ip in sorted(found, key=address_order)]


def _sources(incident: Incident, detections: Iterable[Detection]) -> list[str]:
    """The source addresses, as text, of ``detections`` then of ``incident``'s entities."""
    return [d.entity.get("source.ip", "") for d in detections] + incident.entities.get(
        "source.ip", []
    )


def shareable(detections: Iterable[Detection], *, allow: Iterable[str] = ()) -> list[Detection]:
    """Detections that may leave the city: none whose source address is the city's own."""
    nets = networks(allow)
    out = []
    for d in detections:
        ip = address(d.entity.get("source.ip", ""))
        if ip is None or blockable(ip, nets):
            out.append(d)
    return out


def redact(text: str, allow: Iterable[str] = (), spare: Container[IPAddress] = frozenset()) -> str:
    """Free text with the city's own, internal and special addresses replaced by
    ``[city address]`` (what leaves the city says nothing of its networks), and the
    ``spare`` ones (:func:`spared`) by ``[spared address]``: no partner reads them as an
    attacker's in a detection's words.

    >>> redact("stuffing from 172.16.2.3 and 198.51.100.7 via 91.0.0.1", ["91.0.0.0/24"])
    'stuffing from [city address] and 198.51.100.7 via [city address]'
    >>> redact("flood to 10.20.1.39:80, login from [fd00::1]:443 and 198.51.100.7:22")
    'flood to [city address]:80, login from [city address]:443 and 198.51.100.7:22'
    >>> redact("injection from 161.53.2.10", spare={address("161.53.2.10")})
    'injection from [spared address]'
    """
    nets = networks(allow)

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        host, port = text, ""
        if text.startswith("["):  # [v6]:port
            host, _, rest = text[1:].partition("]")
            port = rest
        elif text.count(":") == 1:  # v4:port
            host, _, rest = text.partition(":")
            port = f":{rest}"
        ip = address(host.strip(".:"))
        if ip is not None and not outside(ip, nets):
            return f"[city address]{port}"
        if ip is not None and ip in spare:
            return f"[spared address]{port}"
        return text

    return _ADDRESS_LIKE.sub(swap, text)


def attackers(
    incident: Incident,
    detections: Iterable[Detection] = (),
    *,
    allow: Iterable[str] = (),
    shared: bool = False,
    spare: Mapping[IPAddress, str] | None = None,
) -> list[Seen]:
    """The incident's attacker addresses, sorted (IPv4 first), with what was seen of each;
    ``shared``: for partners, without internal addresses, as for an incident of city devices
    (their own addresses are the internal ones). Never a ``spare`` one (the incident's
    :func:`spared`, by the installed crawler lists when None): blocking it, here or at a
    partner, hurts the city more than the attacker."""
    nets = networks(allow)
    detections = list(detections)
    devices = "device.id" in incident.entities or any("device.id" in d.entity for d in detections)
    check = outside if shared or devices else blockable
    if spare is None:
        spare = spared(incident, detections)

    def wanted(ip: IPAddress | None) -> bool:
        return ip is not None and ip not in spare and check(ip, nets)

    rows: dict[IPAddress, Seen] = {}
    records: dict[IPAddress, set[str]] = {}  # the records seen of each, once however many
    # detections name them (a request that a signature and a Sigma rule both flag)
    for d in detections:
        ip = address(d.entity.get("source.ip", ""))
        if ip is None or not wanted(ip):
            continue
        seen = records.setdefault(ip, set())
        seen.update(d.evidence)
        hits = max(len(seen), _counted(d))
        old = rows.get(ip)
        found = techniques(d.tags)
        if old is None:
            rows[ip] = Seen(ip, d.first_seen, d.last_seen, hits, found, [d.id])
            continue
        rows[ip] = Seen(
            ip,
            min(old.first, d.first_seen),
            max(old.last, d.last_seen),
            max(old.hits, hits),
            old.techniques + [t for t in found if t not in old.techniques],
            [*old.detections, d.id],
        )
    for value in incident.entities.get("source.ip", []):
        ip = address(value)
        if ip is not None and ip not in rows and wanted(ip):
            rows[ip] = Seen(ip, incident.first_seen, incident.last_seen, 1, [], [])
    return [rows[ip] for ip in sorted(rows, key=address_order)]


def spared(
    incident: Incident,
    detections: Iterable[Detection],
    crawlers: CrawlerRanges | None = None,
    shared: Sequence[tuple[str, str]] = (),
) -> dict[IPAddress, str]:
    """The incident's addresses no block list or partner intel may take, each with why, in
    order: those its detections declare (``attributes.<silo>.spared``: many people share
    it...); those of people's browsers sent by a planted link (:func:`_linked`); then of its
    addresses those of a search engine's crawler (``crawlers``' ranges; the installed lists
    when None), whatever its requests were: planted links make a crawler fetch attacks, and
    a crawler blocked drops the portal from its search engine; and those in a ``shared``
    network (CIDR, whose: ``respond.shared_networks``), which the city knows many people
    share, though nothing in the incident can tell (one student's injections from a
    carrier's NAT).

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> d = Detection(id="l", timestamp=t, detector="login-abuse", rule_id="r", rule_name="r",
    ...     severity=50, confidence=0.9, category="cyber", summary="s",
    ...     entity={"source.ip": "66.249.66.1"}, evidence=[], first_seen=t, last_seen=t,
    ...     attributes={"portal": {"spared": {"161.53.2.10": "many people log in from it"}}})
    >>> i = Incident(id="i", title="t", status="new", severity=80, category="cyber",
    ...     first_seen=t, last_seen=t, detections=["l"], entities={})
    >>> for a, why in spared(i, [d]).items():
    ...     print(a, why)
    161.53.2.10 many people log in from it
    66.249.66.1 Googlebot, a search engine's crawler (by its operator's published ranges)
    """
    detections = list(detections)
    found: dict[IPAddress, str] = {}
    for _, values in declared(detections, SPARED):
        for value, why in values.items() if isinstance(values, dict) else ():
            ip = address(str(value))
            if ip is not None:
                found.setdefault(ip, str(why))
    for ip, why in _linked(detections).items():
        found.setdefault(ip, why)
    nets = list(zip(networks(c for c, _ in shared), [w for _, w in shared], strict=True))
    for value in _sources(incident, detections):
        ip = address(value)
        if ip is None or ip in found:
            continue
        why = (
            crawler_spared(str(ip))
            if crawlers is None
            else spared_why(crawlers.crawler_at(str(ip)))
        )
        if why is None:
            why = next((_shared_why(w) for n, w in nets if _within(ip, [n])), None)
        if why is not None:
            found[ip] = why
    return found


def _shared_why(whose: str) -> str:
    """Why an address in a network of ``respond.shared_networks`` is spared."""
    return f"in {whose}, which many people share (respond.shared_networks)"


def _linked(detections: list[Detection]) -> dict[IPAddress, str]:
    """The addresses of people's browsers sent to an attack by a link planted on a page, each
    with why (:class:`~citywatch.detect.portal.links.Crowds`: the correlator's incident names
    them by the same rule)."""
    crowds: Crowds[IPAddress] = Crowds()
    for d in detections:
        ip = address(d.entity.get("source.ip", ""))
        if ip is not None:
            crowds.add(ip, followed(d.attributes))
    return crowds.followers()


def _counted(d: Detection) -> int:
    """How many records ``d`` counted: its evidence, or more when it keeps only some ids of a
    flood (``attributes.<silo>.requests``)."""
    counts = [n for _, n in declared((d,), "requests") if isinstance(n, int)]
    return max([len(d.evidence), *counts])


def declared(detections: Iterable[Detection], name: str) -> Iterator[tuple[Detection, object]]:
    """What detections declare as ``attributes.<silo>.<name>`` (a quake's circle, what devices
    reached), each with its detection, in order.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> d = Detection(id="q", timestamp=t, detector="quake", rule_id="r", rule_name="r",
    ...     severity=80, confidence=0.9, category="public_safety", summary="s", entity={},
    ...     evidence=[], first_seen=t, last_seen=t, attributes={"quake": {"depth_km": 10}})
    >>> [value for _, value in declared([d], "depth_km")], list(declared([d], "circle"))
    ([10], [])
    """
    for d in detections:
        for attrs in d.attributes.values():
            if isinstance(attrs, dict) and name in attrs:
                yield d, attrs[name]


def remotes(detections: Iterable[Detection], *, allow: Iterable[str] = ()) -> list[Remote]:
    """The outside addresses and names the detections name as what devices reached
    (``attributes.<detector>.remote``), in first-seen order; none of the city's own."""
    nets = networks(allow)
    rows: dict[str, Remote] = {}
    for d, values in declared(detections, "remote"):
        for value in values if isinstance(values, list) else ():
            ip = address(str(value))
            if ip is not None and not outside(ip, nets):
                continue
            kind = "domain-name" if ip is None else f"ipv{ip.version}-addr"
            text = str(value).lower() if ip is None else str(ip)
            if ip is None and not DOMAIN.fullmatch(text):
                continue
            old = rows.get(text)
            found = techniques(d.tags)
            role = _ROLES.get(d.rule_id, _REACHED)
            if old is None:
                rows[text] = Remote(text, kind, role, d.first_seen, d.last_seen, found, [d.id])
                continue
            rows[text] = old._replace(
                role=min(old.role, role, key=_RANKED.index),  # a C2 server above all
                first=min(old.first, d.first_seen),
                last=max(old.last, d.last_seen),
                techniques=old.techniques + [t for t in found if t not in old.techniques],
                detections=[*old.detections, d.id],
            )
    return list(rows.values())
