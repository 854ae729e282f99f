"""Level of service, density trend, time-to-critical and egress time.

Fruin's walkway levels of service (persons/m²): A ≤ 0.31, B ≤ 0.43,
C ≤ 0.72, D ≤ 1.08, E ≤ 2.17, F above. The trend is a least-squares line
through the last few densities; time-to-critical is when that line crosses
the critical density. Egress time is the people over what the ways out pass
at the Green Guide's safe rates (82 p/m/min level, 66 on stairs).

>>> los(0.2), los(1.5), los(3.0)
('A', 'E', 'F')
>>> time_to_critical(2.0, 0.5, 4.0)
4.0
"""

from __future__ import annotations

from citywatch.ingest.venue import Venue

_FRUIN = ((0.31, "A"), (0.43, "B"), (0.72, "C"), (1.08, "D"), (2.17, "E"))


def los(density: float) -> str:
    """Fruin's level of service for a density in persons/m²."""
    for limit, level in _FRUIN:
        if density <= limit:
            return level
    return "F"


def slope_per_min(times: list[float], values: list[float]) -> float:
    """Least-squares slope of ``values`` over ``times`` (seconds), per minute; 0 if undefined.

    >>> slope_per_min([0, 60, 120], [1.0, 1.5, 2.0])
    0.5
    """
    n = len(times)
    if n < 2:
        return 0.0
    mt, mv = sum(times) / n, sum(values) / n
    den = sum((t - mt) ** 2 for t in times)
    if den == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in zip(times, values, strict=True)) / den * 60


def time_to_critical(density: float, slope: float, critical: float) -> float | None:
    """Minutes until the trend crosses ``critical``: 0 if already there, None if not rising."""
    if density >= critical:
        return 0.0
    if slope <= 1e-6:
        return None
    return (critical - density) / slope


def zone_egress_min(venue: Venue, zone: str, people: float, *, without: str = "") -> float | None:
    """Minutes for a zone's people to leave at safe rates (``without`` one gate); None if no way."""
    capacity = sum(cap for name, cap in venue.outward(zone) if name != without)
    if capacity <= 0:
        return None
    return people / capacity


def venue_egress_min(venue: Venue, people: dict[str, float]) -> float | None:
    """Minutes to empty the venue: the slower of its exits together and its slowest stand."""
    exits = sum(g.safe_per_min for g in venue.gates if g.exits and venue.zone(g.zones[0]).inside)
    inside = sum(p for z, p in people.items() if venue.zone(z).inside)
    if exits <= 0:
        return None
    worst = inside / exits
    for zone in venue.zones:
        if zone.kind in ("standing", "seated"):
            minutes = zone_egress_min(venue, zone.id, people.get(zone.id, 0.0))
            if minutes is not None:
                worst = max(worst, minutes)
    return worst
