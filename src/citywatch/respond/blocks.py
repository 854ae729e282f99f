"""Block lists from an incident's attacker addresses, and from the outside hosts its
compromised devices reached, with expiry.

:func:`block_entries` picks the addresses (never one from the allow-list of
the city's own ranges, nor a loopback, link-local, multicast or unspecified
one) and gives each an expiry and a direction: traffic *from* an attacker,
traffic *to* a C2 server or download host that city devices reached (their
detections' ``attributes.<detector>.remote``). The renderers write them as

- nftables: ``add element`` commands for a running ruleset, or a whole
  ``table inet citywatch`` file with timeout sets per address family and
  direction (the kernel drops each element when its timeout runs out): an
  attacker is dropped coming in or through, a device's outside host going out
  or through (the city's gateway forwards the devices' traffic);
- nginx ``deny`` rules and ModSecurity ``SecRule REMOTE_ADDR "@ipMatch …"``
  rules (phase 1, 403), for the attackers (the portal sees no device's traffic); and
- a DNS response policy zone (RPZ, :func:`rpz_zone`) for the outside host *names*
  the devices looked up, for the city's resolvers to answer NXDOMAIN.

nginx and ModSecurity have no expiry of their own: regenerate their files
(expired entries are left out) at least as often as the shortest lifetime.
Every renderer checks each address again against the allow-list, so a list
built elsewhere cannot slip one of the city's own addresses through. Behind a
reverse proxy, ModSecurity and nginx must see the client address
(``real_ip``/``X-Forwarded-For`` configured), or they block the proxy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

from citywatch.model import Detection, Incident
from citywatch.respond.evidence import (
    DOMAIN,
    IPAddress,
    IPNetwork,
    address,
    address_order,
    attackers,
    blockable,
    remotes,
)
from citywatch.respond.evidence import networks as _networks

_SAFE: Final = re.compile(r"[^A-Za-z0-9._:-]")
_ZONE: Final = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")
_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


class BlockEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One address to block until ``expires``, and the incident that asked for it."""

    address: str
    expires: datetime
    incident: str
    direction: Literal["from", "to"] = "from"
    """``from``: drop what comes from the address (an attacker); ``to``: drop what goes to it
    (an outside host the incident's devices reached: a C2 server, a download host)."""


class BlockedName(msgspec.Struct, frozen=True, kw_only=True):
    """One outside host name that the incident's devices looked up, to block until ``expires``."""

    name: str
    expires: datetime
    incident: str


def block_entries(
    incident: Incident,
    detections: Iterable[Detection] = (),
    *,
    now: datetime,
    ttl: timedelta = timedelta(hours=1),
    allow: Iterable[str] = (),
    spare: Mapping[IPAddress, str] | None = None,
) -> list[BlockEntry]:
    """One entry per attacker address of the incident (none ``spare``: the incident's
    :func:`~citywatch.respond.evidence.spared` when None), then one per outside address its
    devices reached, each expiring ``ttl`` after ``now``."""
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    detections = list(detections)
    until = now + ttl
    entries = [
        BlockEntry(address=str(seen.address), expires=until, incident=incident.id)
        for seen in attackers(incident, detections, allow=allow, spare=spare)
    ]
    # remotes() gives addresses in their normal form, none of the city's own nor special
    entries += [
        BlockEntry(address=r.value, expires=until, incident=incident.id, direction="to")
        for r in remotes(detections, allow=allow)
        if r.kind != "domain-name"
    ]
    return entries


def blocked_names(
    incident: Incident,
    detections: Iterable[Detection] = (),
    *,
    now: datetime,
    ttl: timedelta = timedelta(hours=1),
) -> list[BlockedName]:
    """The outside host names the incident's devices looked up (their detections' ``remote``),
    each expiring ``ttl`` after ``now``."""
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    return [
        BlockedName(name=r.value, expires=now + ttl, incident=incident.id)
        for r in remotes(detections)
        if r.kind == "domain-name"
    ]


def _live(
    entries: Iterable[BlockEntry], now: datetime, allow: Iterable[str], direction: str = "from"
) -> list[tuple[IPAddress, int, BlockEntry]]:
    """Entries of ``direction`` still in force and blockable, as (address, seconds left, entry);
    one per address."""
    nets: Sequence[IPNetwork] = _networks(allow)
    best: dict[IPAddress, tuple[IPAddress, int, BlockEntry]] = {}
    for entry in entries:
        if entry.direction != direction:
            continue
        ip = address(entry.address)
        left = math.ceil((entry.expires - now).total_seconds())
        if ip is None or left <= 0 or not blockable(ip, nets):
            continue
        if ip not in best or left > best[ip][1]:
            best[ip] = (ip, left, entry)
    return [best[ip] for ip in sorted(best, key=address_order)]


def _tag(entry: BlockEntry | BlockedName) -> str:
    return _SAFE.sub("_", entry.incident)[:64] or "unknown"


def _check_names(*names: str) -> None:
    for name in names:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a safe nftables name: {name!r}")


def _sets(
    entries: Iterable[BlockEntry], now: datetime, allow: Iterable[str], names: tuple[str, ...]
) -> list[tuple[str, str, list[str]]]:
    """(set name, element type, elements) of the four sets: attackers' addresses (IPv4, IPv6),
    then the devices' outside hosts (IPv4, IPv6), in ``names``' order."""
    out = []
    for direction, (n4, n6) in (("from", names[:2]), ("to", names[2:])):
        live = _live(entries, now, allow, direction)
        for version, name, kind in ((4, n4, "ipv4_addr"), (6, n6, "ipv6_addr")):
            items = [f"{ip} timeout {left}s" for ip, left, _ in live if ip.version == version]
            out.append((name, kind, items))
    return out


def nft_elements(
    entries: Iterable[BlockEntry],
    *,
    now: datetime,
    allow: Iterable[str] = (),
    family: str = "inet",
    table: str = "citywatch",
    set4: str = "citywatch_block",
    set6: str = "citywatch_block6",
    egress4: str = "citywatch_egress",
    egress6: str = "citywatch_egress6",
) -> str:
    """``add element`` commands for sets that already exist (``nft -f`` input): attackers
    into ``set4``/``set6``, the devices' outside hosts into ``egress4``/``egress6``.

    >>> from datetime import UTC
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> e = BlockEntry(address="198.51.100.7", expires=t + timedelta(hours=1), incident="inc-1")
    >>> print(nft_elements([e], now=t, table="filter"), end="")
    add element inet filter citywatch_block { 198.51.100.7 timeout 3600s }
    """
    names = (set4, set6, egress4, egress6)
    _check_names(family, table, *names)
    return "".join(
        f"add element {family} {table} {name} {{ {', '.join(items)} }}\n"
        for name, _, items in _sets(entries, now, allow, names)
        if items
    )


def nft_ruleset(
    entries: Iterable[BlockEntry],
    *,
    now: datetime,
    allow: Iterable[str] = (),
    table: str = "citywatch",
    set4: str = "citywatch_block",
    set6: str = "citywatch_block6",
    egress4: str = "citywatch_egress",
    egress6: str = "citywatch_egress6",
) -> str:
    """A whole ``table inet citywatch`` file: four timeout sets; attackers dropped coming in
    (input) or through (forward), the devices' outside hosts going out (output) or through.

    Loading it again replaces the table (create-if-missing, delete, define).
    """
    names = (set4, set6, egress4, egress6)
    _check_names(table, *names)
    out = [
        "#!/usr/sbin/nft -f",
        f"# citywatch block list, generated {now.replace(microsecond=0).isoformat()}",
        f"table inet {table} {{}}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for name, kind, items in _sets(entries, now, allow, names):
        out += [f"    set {name} {{", f"        type {kind}", "        flags timeout"]
        if items:
            out.append("        elements = { " + ", ".join(items) + " }")
        out.append("    }")
    sources = [f"        ip saddr @{set4} counter drop", f"        ip6 saddr @{set6} counter drop"]
    outside = [
        f"        ip daddr @{egress4} counter drop",
        f"        ip6 daddr @{egress6} counter drop",
    ]
    for chain, rules in (("input", sources), ("forward", sources + outside), ("output", outside)):
        out += [
            f"    chain {chain} {{",
            f"        type filter hook {chain} priority -10; policy accept;",
            *rules,
            "    }",
        ]
    out.append("}")
    return "\n".join(out) + "\n"


def rpz_zone(names: Iterable[BlockedName], *, now: datetime, origin: str = "rpz.citywatch") -> str:
    """A DNS response policy zone (RPZ; BIND, Unbound, PowerDNS, Knot) answering NXDOMAIN for
    each name still in force and its subdomains. RPZ has no expiry of its own: regenerate it.

    >>> from datetime import UTC
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> n = BlockedName(name="c2.example", expires=t + timedelta(hours=1), incident="inc-1")
    >>> print(rpz_zone([n], now=t).splitlines()[-1])
    *.c2.example CNAME .  ; inc-1 until 2026-03-14T01:00:00+00:00
    """
    if not _ZONE.fullmatch(origin):
        raise ValueError(f"not a zone name: {origin!r}")
    live: dict[str, BlockedName] = {}
    for entry in names:
        name = entry.name.lower().rstrip(".")
        held = live.get(name)
        if (
            entry.expires > now
            and DOMAIN.fullmatch(name)
            and (held is None or entry.expires > held.expires)
        ):
            live[name] = entry
    serial = int(now.timestamp())
    out = [
        f"; citywatch response policy zone, generated {now.replace(microsecond=0).isoformat()}",
        f"$ORIGIN {origin}.",
        "$TTL 60",
        f"@ SOA localhost. hostmaster.localhost. {serial} 3600 600 86400 60",
        "@ NS localhost.",
    ]
    for name in sorted(live):
        entry = live[name]
        note = f"{_tag(entry)} until {entry.expires.replace(microsecond=0).isoformat()}"
        out += [f"{name} CNAME .  ; {note}", f"*.{name} CNAME .  ; {note}"]
    return "\n".join(out) + "\n"


def nginx_deny(entries: Iterable[BlockEntry], *, now: datetime, allow: Iterable[str] = ()) -> str:
    """nginx ``deny`` rules (for an ``include`` in ``http``, ``server`` or ``location``)."""
    out = [f"# citywatch block list, generated {now.replace(microsecond=0).isoformat()}"]
    out += [
        f"deny {ip};  # {_tag(e)} until {e.expires.replace(microsecond=0).isoformat()}"
        for ip, _, e in _live(entries, now, allow)
    ]
    return "\n".join(out) + "\n"


def modsecurity_rules(
    entries: Iterable[BlockEntry],
    *,
    now: datetime,
    allow: Iterable[str] = (),
    first_id: int = 77_000,
    per_rule: int = 100,
) -> str:
    """ModSecurity rules denying the addresses in phase 1 with 403, one rule per incident.

    Rule ids count up from ``first_id`` (1–99,999 is ModSecurity's range for
    local rules); an incident with more than ``per_rule`` addresses gets
    several rules.
    """
    by_incident: dict[str, list[tuple[IPAddress, BlockEntry]]] = {}
    for ip, _, entry in _live(entries, now, allow):
        by_incident.setdefault(_tag(entry), []).append((ip, entry))
    out = [f"# citywatch block list, generated {now.replace(microsecond=0).isoformat()}"]
    rule_id = first_id
    for tag, rows in sorted(by_incident.items()):
        for start in range(0, len(rows), max(1, per_rule)):
            chunk = rows[start : start + max(1, per_rule)]
            until = max(e.expires for _, e in chunk).replace(microsecond=0).isoformat()
            addresses = ",".join(str(ip) for ip, _ in chunk)
            out.append(
                f'SecRule REMOTE_ADDR "@ipMatch {addresses}" '
                f'"id:{rule_id},phase:1,deny,status:403,log,'
                f"msg:'citywatch incident {tag} (block until {until})'\""
            )
            rule_id += 1
    return "\n".join(out) + "\n"
