"""Crowd or DoS: what a portal-wide flood's requests say about who sends them.

A public alert pushed to the city's app, or the evening of the tax deadline,
brings thousands of people to the portal within minutes: the rate is a
flood's, but each client sends a human number of requests, the requests
spread over the usual pages, and nearly all are answered. A denial of
service shows the opposite signs: few sources sending most of it, many
sources hammering one endpoint, or the portal failing (5xx, 429) or
answering misses. The portal-wide flood keeps firing on the rate (capacity
matters either way) but says which it most likely is, from a :class:`Tally`
of its requests (bounded: sources as a capped set of hashes, paths and
sources as Misra-Gries counters).

>>> tally = Tally()
>>> for i in range(3000):
...     add(tally, f"client{i // 3}", ("/api/v1/alerts", "/api/v1/config", "/")[i % 3], 200)
>>> verdict(tally)
('crowd', [])
>>> bots = Tally()
>>> for i in range(3000):
...     add(bots, f"bot{i % 40}", "/search", 200)
>>> verdict(bots)
('dos', ['75 requests per client', 'one path takes 100 %'])
"""

from __future__ import annotations

import zlib
from typing import Final

import msgspec

SOURCES_CAP: Final = 16384
"""Distinct sources a tally counts exactly; past it, "at least this many"."""
_COUNTERS: Final = 16
_MIN_REQUESTS: Final = 200
"""Requests before a tally is judged at all."""
PER_SOURCE: Final = 40.0
"""Requests per client over a flood that people send (a page and its assets, a few pages)."""
_HEAVY_SHARE: Final = 0.1
_ONE_CLIENT: Final = 0.5
_PATH_SHARE: Final = 0.6
_ERROR_SHARE: Final = 0.1
_MISS_SHARE: Final = 0.2


class Tally(msgspec.Struct, kw_only=True, gc=False):
    """Who sent a flood's requests, on which paths, and how the portal answered."""

    requests: int = 0
    sources: set[int] = msgspec.field(default_factory=set)
    heavy: dict[str, int] = msgspec.field(default_factory=dict)
    """Misra-Gries counters of the sources (lower bounds of their requests)."""
    paths: dict[str, int] = msgspec.field(default_factory=dict)
    """Misra-Gries counters of the paths."""
    answered: int = 0
    errors: int = 0
    """Answered 5xx or 429: the portal failing or throttling."""
    misses: int = 0
    """Answered 4xx (but 429)."""


def add(tally: Tally, source: str, path: str, status: int | None) -> None:
    """Count one request of ``source`` on ``path`` answered ``status`` (None: not known)."""
    tally.requests += 1
    if len(tally.sources) < SOURCES_CAP:
        tally.sources.add(zlib.crc32(source.encode()))
    misra_gries(tally.heavy, source)
    misra_gries(tally.paths, path[:200])
    if status is not None:
        tally.answered += 1
        if status >= 500 or status == 429:
            tally.errors += 1
        elif status >= 400:
            tally.misses += 1


def merge(a: Tally, b: Tally) -> Tally:
    """Both tallies as one (the two minutes before a flood fired)."""
    out = Tally(
        requests=a.requests + b.requests,
        sources=set(a.sources) | b.sources,
        answered=a.answered + b.answered,
        errors=a.errors + b.errors,
        misses=a.misses + b.misses,
    )
    for counters, target in ((a.heavy, out.heavy), (b.heavy, out.heavy)):
        for key, n in counters.items():
            target[key] = target.get(key, 0) + n
    for counters, target in ((a.paths, out.paths), (b.paths, out.paths)):
        for key, n in counters.items():
            target[key] = target.get(key, 0) + n
    for counters in (out.heavy, out.paths):
        while len(counters) > _COUNTERS:  # keep the heaviest; the rest were lower bounds anyway
            del counters[min(counters, key=counters.__getitem__)]
    return out


def one_client(tally: Tally) -> bool:
    """Whether one client sends most of the tally's requests: a client flood, which the
    per-client rule finds with that client's own requests as its evidence."""
    return bool(tally.heavy) and max(tally.heavy.values()) > _ONE_CLIENT * tally.requests


def verdict(tally: Tally) -> tuple[str, list[str]]:
    """``crowd``, ``dos`` or ``unknown`` (too few requests yet), and the DoS signs seen.

    A crowd is many sources each sending a human number of requests over the
    usual paths, nearly all answered; any DoS sign makes it a DoS.
    """
    n = tally.requests
    if n < _MIN_REQUESTS:
        return "unknown", []
    signs = []
    per_source = n / max(1, len(tally.sources))
    if per_source > PER_SOURCE:
        signs.append(f"{per_source:.0f} requests per client")
    if tally.heavy and max(tally.heavy.values()) > _HEAVY_SHARE * n:
        signs.append("a few clients send most of it")
    if tally.paths and max(tally.paths.values()) > _PATH_SHARE * n:
        share = max(tally.paths.values()) / n
        signs.append(f"one path takes {share:.0%}")
    if tally.answered:
        if tally.errors > _ERROR_SHARE * tally.answered:
            signs.append(f"{tally.errors / tally.answered:.0%} answered 5xx or 429")
        if tally.misses > _MISS_SHARE * tally.answered:
            signs.append(f"{tally.misses / tally.answered:.0%} answered 4xx")
    return ("dos" if signs else "crowd"), [s.replace("%", " %") for s in signs]


def misra_gries(top: dict[str, int], key: str) -> None:
    """Count ``key`` in Misra-Gries counters (16): the heaviest keys, their counts lower bounds."""
    if key in top:
        top[key] += 1
    elif len(top) < _COUNTERS:
        top[key] = 1
    else:
        for other in list(top):
            if top[other] <= 1:
                del top[other]
            else:
                top[other] -= 1
