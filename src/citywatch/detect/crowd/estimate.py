"""People per zone from counts: calibrating device counts against counts of people.

Device counts (Wi-Fi, BLE, cell) are proportional to people only after
calibration: some people carry no device, MAC randomisation makes one phone
several addresses. Sources that count people (turnstiles, ticket scans,
cameras, manual counts) calibrate them, as REFERENCES.md says:

- per zone and source, where a zone has a camera (or another count of
  people) and a device count in the same interval;
- per source across the venue, from the turnstiles: the people inside
  (net count through the gates) less those counted directly, over the
  device counts of the zones without a count of people;
- else the configured ratio.

Each ratio is an exponentially weighted mean with its variance; an estimate
combines a zone's sources by inverse variance and carries a relative
standard error, from which the detections' density band comes.

>>> r = Ratio()
>>> update(r, 2.0, 0.5); update(r, 2.2, 0.5); round(r.mean, 2), r.n
(2.1, 2)
"""

from __future__ import annotations

import math

import msgspec

from citywatch.detect.crowd.config import CrowdConfig
from citywatch.ingest.venue import Venue

REFERENCE_SOURCES = frozenset({"ticket", "turnstile", "camera", "manual"})
"""Sources that count people, not devices."""
REFERENCE_ERROR = 0.05
"""Relative standard error of a count of people (cameras, ticket scans)."""
_STRUCTURAL = {"zone": 0.03, "venue": 0.08, "configured": 0.3}
"""Relative error a ratio carries by how local it is (zones differ in coverage)."""
_MIN_DEVICES = 10.0


class Ratio(msgspec.Struct, kw_only=True):
    """People per device count: an exponentially weighted mean and variance."""

    mean: float = 0.0
    var: float = 0.0
    n: int = 0


def update(ratio: Ratio, value: float, alpha: float) -> None:
    """Fold one observed ratio in."""
    if ratio.n == 0:
        ratio.mean, ratio.var = value, 0.0
    else:
        diff = value - ratio.mean
        ratio.mean += alpha * diff
        ratio.var = (1 - alpha) * (ratio.var + alpha * diff * diff)
    ratio.n += 1


def _reference(by_source: dict[str, float]) -> float | None:
    refs = [c for s, c in by_source.items() if s in REFERENCE_SOURCES]
    return sum(refs) / len(refs) if refs else None


def calibrate(
    venue: Venue,
    counts: dict[str, dict[str, float]],
    inside: float,
    ratios: dict[str, Ratio],
    cfg: CrowdConfig,
) -> None:
    """Update the ratios from one interval's counts and the people inside by the turnstiles."""
    alpha = cfg.calibration_alpha
    direct = 0.0
    device_totals: dict[str, float] = {}
    uncovered = 0
    for zone in venue.zones:
        by_source = counts.get(zone.id, {})
        ref = _reference(by_source)
        if ref is not None:
            if zone.inside:
                direct += ref
            if ref >= cfg.min_reference / 4:
                for source, count in by_source.items():
                    if source not in REFERENCE_SOURCES and count >= _MIN_DEVICES:
                        update(
                            ratios.setdefault(f"{zone.id}/{source}", Ratio()), ref / count, alpha
                        )
        elif zone.inside:
            uncovered += 1
            for source, count in by_source.items():
                if source not in REFERENCE_SOURCES:
                    device_totals[source] = device_totals.get(source, 0.0) + count
    rest = inside - direct
    if uncovered and rest >= cfg.min_reference:
        for source, total in device_totals.items():
            if total >= _MIN_DEVICES:
                update(ratios.setdefault(source, Ratio()), rest / total, alpha)


def estimate(
    zone: str, by_source: dict[str, float], ratios: dict[str, Ratio], cfg: CrowdConfig
) -> tuple[float, float] | None:
    """(people, relative standard error) in a zone from its counts, or None without counts."""
    parts: list[tuple[float, float]] = []
    for source, count in by_source.items():
        if source in REFERENCE_SOURCES:
            parts.append((count, max(REFERENCE_ERROR, 1 / math.sqrt(max(count, 1.0)))))
            continue
        ratio, where = ratios.get(f"{zone}/{source}"), "zone"
        if ratio is None or ratio.n < 3:
            ratio, where = ratios.get(source), "venue"
        if ratio is None or ratio.n < 3:
            configured = cfg.ratios.get(source)
            if configured is None:
                continue
            ratio, where = Ratio(mean=configured, n=1), "configured"
        spread = math.sqrt(ratio.var) / ratio.mean if ratio.mean > 0 else 1.0
        error = math.sqrt(spread**2 + _STRUCTURAL[where] ** 2 + 1 / max(count, 1.0))
        parts.append((count * ratio.mean, error))
    if not parts:
        return None
    weights = [1 / (e * e) for _, e in parts]
    people = sum(w * p for w, (p, _) in zip(weights, parts, strict=True)) / sum(weights)
    return people, 1 / math.sqrt(sum(weights))
