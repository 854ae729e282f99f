"""Block lists from an incident's attacker addresses, with expiry.

:func:`block_entries` picks the addresses (never one from the allow-list of
the city's own ranges, nor a loopback, link-local, multicast or unspecified
one) and gives each an expiry; the renderers write them as

- nftables: ``add element`` commands for a running ruleset, or a whole
  ``table inet citywatch`` file with a timeout set per address family (the
  kernel drops each element when its timeout runs out);
- nginx ``deny`` rules; and
- ModSecurity ``SecRule REMOTE_ADDR "@ipMatch …"`` rules (phase 1, 403).

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
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from citywatch.model import Detection, Incident
from citywatch.respond.evidence import IPAddress, IPNetwork, address, attackers, blockable
from citywatch.respond.evidence import networks as _networks

_SAFE: Final = re.compile(r"[^A-Za-z0-9._:-]")
_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


class BlockEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One address to block until ``expires``, and the incident that asked for it."""

    address: str
    expires: datetime
    incident: str


def block_entries(
    incident: Incident,
    detections: Iterable[Detection] = (),
    *,
    now: datetime,
    ttl: timedelta = timedelta(hours=1),
    allow: Iterable[str] = (),
) -> list[BlockEntry]:
    """One entry per attacker address of the incident, expiring ``ttl`` after ``now``."""
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    return [
        BlockEntry(address=str(seen.address), expires=now + ttl, incident=incident.id)
        for seen in attackers(incident, detections, allow=allow)
    ]


def _live(
    entries: Iterable[BlockEntry], now: datetime, allow: Iterable[str]
) -> list[tuple[IPAddress, int, BlockEntry]]:
    """Entries still in force and blockable, as (address, seconds left, entry); one per address."""
    nets: Sequence[IPNetwork] = _networks(allow)
    best: dict[IPAddress, tuple[IPAddress, int, BlockEntry]] = {}
    for entry in entries:
        ip = address(entry.address)
        left = math.ceil((entry.expires - now).total_seconds())
        if ip is None or left <= 0 or not blockable(ip, nets):
            continue
        if ip not in best or left > best[ip][1]:
            best[ip] = (ip, left, entry)
    return [best[ip] for ip in sorted(best, key=lambda a: (a.version, int(a)))]


def _tag(entry: BlockEntry) -> str:
    return _SAFE.sub("_", entry.incident)[:64] or "unknown"


def _check_names(*names: str) -> None:
    for name in names:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a safe nftables name: {name!r}")


def nft_elements(
    entries: Iterable[BlockEntry],
    *,
    now: datetime,
    allow: Iterable[str] = (),
    family: str = "inet",
    table: str = "citywatch",
    set4: str = "citywatch_block",
    set6: str = "citywatch_block6",
) -> str:
    """``add element`` commands for sets that already exist (``nft -f`` input).

    >>> from datetime import UTC
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> e = BlockEntry(address="198.51.100.7", expires=t + timedelta(hours=1), incident="inc-1")
    >>> print(nft_elements([e], now=t, table="filter"), end="")
    add element inet filter citywatch_block { 198.51.100.7 timeout 3600s }
    """
    _check_names(family, table, set4, set6)
    live = _live(entries, now, allow)
    lines = []
    for version, name in ((4, set4), (6, set6)):
        items = [f"{ip} timeout {left}s" for ip, left, _ in live if ip.version == version]
        if items:
            lines.append(f"add element {family} {table} {name} {{ {', '.join(items)} }}")
    return "".join(line + "\n" for line in lines)


def nft_ruleset(
    entries: Iterable[BlockEntry],
    *,
    now: datetime,
    allow: Iterable[str] = (),
    table: str = "citywatch",
    set4: str = "citywatch_block",
    set6: str = "citywatch_block6",
) -> str:
    """A whole ``table inet citywatch`` file: two timeout sets and an input chain dropping them.

    Loading it again replaces the table (create-if-missing, delete, define).
    """
    _check_names(table, set4, set6)
    live = _live(entries, now, allow)
    out = [
        "#!/usr/sbin/nft -f",
        f"# citywatch block list, generated {now.replace(microsecond=0).isoformat()}",
        f"table inet {table} {{}}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for version, name, kind in ((4, set4, "ipv4_addr"), (6, set6, "ipv6_addr")):
        out += [f"    set {name} {{", f"        type {kind}", "        flags timeout"]
        items = [f"{ip} timeout {left}s" for ip, left, _ in live if ip.version == version]
        if items:
            out.append("        elements = { " + ", ".join(items) + " }")
        out.append("    }")
    out += [
        "    chain input {",
        "        type filter hook input priority -10; policy accept;",
        f"        ip saddr @{set4} counter drop",
        f"        ip6 saddr @{set6} counter drop",
        "    }",
        "}",
    ]
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
