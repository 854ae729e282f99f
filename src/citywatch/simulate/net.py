"""Addresses and bank accounts for the synthetic city.

Residents get addresses from plausible residential ISP and mobile-carrier
ranges; crawlers come from their operators' published ranges; attackers from
hosting and residential-proxy ranges that never overlap the residents' ones,
so ground truth cannot collide with a benign client by accident.

>>> iban(Random(1), "HR")[:2]
'HR'
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from random import Random
from typing import Final

from citywatch.simulate.rand import Weighted, below

# Residential broadband (IPv4), with relative sizes.
_HOME_V4: Final = (
    ("78.0.0.0/15", 5),
    ("93.136.0.0/13", 8),
    ("89.164.0.0/14", 4),
    ("46.188.0.0/16", 3),
    ("95.168.96.0/19", 1),
    ("188.252.128.0/17", 2),
    ("176.62.0.0/17", 1),
    ("213.149.32.0/19", 1),
)
_HOME_V6: Final = "2a05:4f40::/32"
_MOBILE: Final = ("37.244.128.0/20", "109.60.0.0/20", "5.43.64.0/20")
_HOSTING: Final = (
    "45.148.10.0/24",
    "194.26.192.0/24",
    "5.188.62.0/24",
    "91.92.240.0/22",
    "103.145.13.0/24",
    "146.70.112.0/22",
)
# Residential proxies rented by the hour: broadband ranges far from Aldmere.
_PROXY: Final = (
    "181.42.0.0/16",
    "190.128.0.0/16",
    "177.54.0.0/16",
    "41.215.0.0/16",
    "102.132.0.0/16",
    "49.228.0.0/16",
    "112.198.0.0/16",
    "187.190.0.0/16",
    "201.141.0.0/16",
    "36.78.0.0/16",
    "14.161.0.0/16",
    "186.0.0.0/16",
)
CRAWLER_NETS: Final = {
    "google": "66.249.68.0/22",  # inside the ranges Google publishes for Googlebot
    "bing": "157.55.39.0/24",
    "other": "5.255.253.0/24",
}
FEED_NETS: Final = ("52.14.0.0/16", "159.69.0.0/16", "193.198.100.0/24")


@lru_cache(maxsize=64)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr)


def _pick(rng: Random, cidr: str) -> str:
    net = _network(cidr)
    base, size = int(net.network_address), net.num_addresses
    while True:
        n = base + 1 + below(rng, size - 2)
        if net.version == 6:
            return str(ipaddress.IPv6Address(n))
        if 0 < n & 255 < 255:  # .0 and .255 hosts look odd in logs
            return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


class Allocator:
    """Hands out unique addresses from the city's ranges."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._home = Weighted([net for net, _ in _HOME_V4], [w for _, w in _HOME_V4])

    def _unique(self, cidrs: tuple[str, ...] | Weighted[str]) -> str:
        while True:
            rng = self._rng
            cidr = cidrs.draw(rng) if isinstance(cidrs, Weighted) else rng.choice(cidrs)
            addr = _pick(self._rng, cidr)
            if addr not in self._used:
                self._used.add(addr)
                return addr

    def fixed(self, addr: str) -> str:
        self._used.add(addr)
        return addr

    def home(self, *, ipv6: bool = False) -> str:
        """A household's broadband address."""
        if ipv6:
            return self._unique((_HOME_V6,))
        return self._unique(self._home)

    def mobile(self) -> str:
        """A mobile carrier's CGNAT address (shared by many phones)."""
        return self._unique(_MOBILE)

    def hosting(self) -> str:
        """A rented server (VPS) address."""
        return self._unique(_HOSTING)

    def proxy(self) -> str:
        """An exit of a residential proxy service, abroad."""
        return self._unique(_PROXY)

    def within(self, cidr: str) -> str:
        return self._unique((cidr,))


_BBAN: Final = {
    "HR": "17n", "DE": "18n", "ES": "20n", "IE": "AIBK14n", "EE": "16n", "TR": "5n 0 16n",
    "PL": "24n", "DK": "14n", "HU": "24n", "CZ": "20n", "IT": "X22n", "FR": "23n",
}  # fmt: skip


_DIGITS: Final = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})


def iban(rng: Random, country: str) -> str:
    """A well-formed IBAN (valid check digits) of ``country``, grouped by four as people type it."""
    bban = ""
    for part in _BBAN[country].split():
        if part.endswith("n"):
            lead = part.rstrip("0123456789n")
            count = int(part[len(lead) : -1])
            bban += f"{lead}{rng.getrandbits(96) % 10**count:0{count}d}"
        else:
            bban += part
    check = 98 - int(f"{bban}{country}00".translate(_DIGITS)) % 97
    text = f"{country}{check:02d}{bban}"
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
