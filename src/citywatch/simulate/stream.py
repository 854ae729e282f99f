"""The portal's request stream: visits arriving over a day, merged into time order.

Residents' visits arrive as a Poisson process whose rate follows the hour of
day (quiet at night, busy late morning); crawlers, feed readers and an uptime
monitor arrive at a steady rate. Visits in progress wait in a heap keyed by
their next request; a request leaves once no later-starting visit can precede
it, so the stream is exactly time-ordered while memory holds only the visits
in progress.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Final

from citywatch.simulate.campaign import Campaign
from citywatch.simulate.city import City
from citywatch.simulate.portal import Portal
from citywatch.simulate.rand import substream
from citywatch.simulate.records import Hit

# Relative rate of residents' visits by local hour, 00:00 to 23:00.
DIURNAL: Final = (
    0.12, 0.08, 0.05, 0.04, 0.04, 0.07, 0.18, 0.42, 0.72, 0.93, 1.0, 0.98,
    0.9, 0.92, 0.95, 0.9, 0.84, 0.8, 0.76, 0.8, 0.83, 0.68, 0.42, 0.22,
)  # fmt: skip
VISITS_PER_RESIDENT_HOUR: Final = 0.12  # at the daily peak
BACKGROUND_PER_HOUR: Final = 60.0  # per 4,000 residents
_HOUR_MS: Final = 3_600_000.0


def _by_minute() -> list[float]:
    """The diurnal curve, interpolated to each minute of the day."""
    out = []
    for minute in range(1440):
        hour, frac = divmod(minute, 60)
        a, b = DIURNAL[hour], DIURNAL[(hour + 1) % 24]
        out.append(a + (b - a) * frac / 60)
    return out


def requests(
    city: City,
    seed: int,
    start_ms: int,
    end_ms: int | None,
    *,
    campaigns: Sequence[Campaign] = (),
    day: str = "portal",
) -> Iterator[Hit]:
    """Every request to the portal from ``start_ms`` on, time-ordered; endless if no ``end_ms``.

    ``day`` names the random stream: another name, another day of the same city's residents.
    """
    rng = substream(seed, day)
    portal = Portal(city, rng)
    curve = _by_minute()
    offset_min = city.utc_offset_min
    residents = len(city.residents)
    peak = VISITS_PER_RESIDENT_HOUR * residents / _HOUR_MS
    background = max(BACKGROUND_PER_HOUR * residents / 4000, 10.0) / _HOUR_MS
    p_background = background / (peak + background)
    mean_gap = 1.0 / (peak + background)
    # One heap entry per visit in progress: (next time, visit number, its hits, next index).
    heap: list[tuple[int, int, list[Hit], int]] = []
    for number, campaign in enumerate(campaigns):  # numbered below every visit
        if campaign.hits:
            heapq.heappush(heap, (campaign.hits[0].ms, number - len(campaigns), campaign.hits, 0))
    seq = 1
    push, pop, replace = heapq.heappush, heapq.heappop, heapq.heapreplace
    expo, rand = rng.expovariate, rng.random
    clock = float(start_ms)
    while True:
        clock += expo(1.0) * mean_gap
        t = int(clock)
        if end_ms is not None and t >= end_ms:
            break
        if rand() < p_background:
            hits = portal.background_visit(t)
        elif rand() < curve[(t // 60_000 + offset_min) % 1440]:
            hits = portal.resident_visit(t)
        else:
            continue
        while heap and heap[0][0] <= t:
            _, visit, pending, i = heap[0]
            yield pending[i]
            i += 1
            if i < len(pending):
                replace(heap, (pending[i].ms, visit, pending, i))
            else:
                pop(heap)
        if hits:
            push(heap, (hits[0].ms, seq, hits, 0))
            seq += 1
    while heap:
        _, visit, pending, i = pop(heap)
        if end_ms is None or pending[i].ms < end_ms:
            yield pending[i]
        if i + 1 < len(pending):
            push(heap, (pending[i + 1].ms, visit, pending, i + 1))
