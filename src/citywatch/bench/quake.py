"""The earthquake benchmark: detection time, location, magnitude and CDI errors, false alarms.

Quakes of M 4.5–6.0 are drawn uniformly over the 50 km disc around Aldmere
(depth 5–15 km) and felt by the city's phones at MyShake's 0.1% uptake
(:mod:`citywatch.simulate.quake.physics`), among the everyday triggers of the
same minutes; then 30 days of everyday triggers, matches with their jumping
crowd and alarms, and a forger each week, where no quake happens at all.
Every record goes through the real adapter and :class:`QuakeDetector`.

The peer is a naive space-time clustering (``naive``): at least
``min_triggers`` triggers within 20 s and 30 km, as a count-only DBSCAN
would fire, without the per-cell caps and the wavefront fit.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
import numpy as np

from citywatch.detect import DetectorRunner
from citywatch.detect.quake import QuakeConfig, QuakeDetector
from citywatch.detect.quake.cells import distance_km
from citywatch.ingest import ExposureAdapter, FeltReportsAdapter, PhoneTriggersAdapter
from citywatch.model import Detection, Event, to_epoch
from citywatch.simulate import schedule
from citywatch.simulate.city import LAT, LON, City, build_city
from citywatch.simulate.quake.exposure import exposure_features
from citywatch.simulate.quake.physics import (
    Phones,
    Quake,
    crowd_triggers,
    felt_reports,
    forged_triggers,
    noise_triggers,
    place_phones,
    quake_triggers,
)
from citywatch.simulate.quake.writer import true_cells

DAY = 86400.0
START = 1_773_475_200.0  # 2026-03-14T08:00:00Z
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class QuakeCase:
    """One simulated quake and what the detector made of it (first alert and final)."""

    magnitude: float
    distance_km: float
    triggers: int
    last_trigger_s: float
    """When the last of the quake's triggers arrived, seconds after origin."""
    detected: bool
    delay_s: float
    alert_location_error_km: float
    location_error_10s_km: float
    """Error of the solution in force 10 s after the origin."""
    magnitude_error_10s: float
    location_error_km: float
    alert_magnitude_error: float
    magnitude_error: float
    reported_location_error_km: float
    reported_magnitude_error: float
    cells: int
    cdi_abs_error: float


@dataclass(frozen=True)
class QuakeBench:
    """All cases, and the quake-free month."""

    cases: list[QuakeCase]
    days: int
    noise_triggers: int
    crowd_triggers: int
    forged_triggers: int
    false_detections: int
    naive_false_detections: int
    wall_s: float


def _events(adapter: object, records: Iterable[dict[str, object]]) -> list[Event]:
    assert isinstance(adapter, PhoneTriggersAdapter | FeltReportsAdapter | ExposureAdapter)
    items = adapter.parse("bench", (_encode(r) for r in records))
    return [i for i in items if isinstance(i, Event)]


def _run(events: list[Event]) -> list[tuple[float, Detection]]:
    """Every version of every detection, with the event time it was emitted at, in order."""

    def failed(name: str, event: Event | None, exc: Exception) -> None:
        raise exc

    runner = DetectorRunner(QuakeDetector(QuakeConfig()), failed)
    out: list[Detection] = []
    emitted: list[tuple[float, Detection]] = []
    next_sweep = -math.inf
    for event in sorted(events, key=lambda e: e.timestamp):
        runner.process(event, out)
        if event.timestamp >= next_sweep:
            runner.advance(event.timestamp, out)
            next_sweep = event.timestamp + 300
        emitted += [(event.timestamp, d) for d in out]
        out.clear()
    runner.flush(out)
    emitted += [(math.inf, d) for d in out]
    return emitted


def _draw(rng: np.random.Generator, k: int) -> Quake:
    r = 50.0 * math.sqrt(rng.random())
    az = rng.uniform(0, 2 * math.pi)
    lat = LAT + r * math.cos(az) / 111.195
    lon = LON + r * math.sin(az) / (111.195 * math.cos(math.radians(LAT)))
    origin = START + k * DAY
    return Quake(f"q{k}", origin, lat, lon, float(rng.uniform(5, 15)), float(rng.uniform(4.5, 6.0)))


def _case(quake: Quake, city: City, phones: Phones, rng: np.random.Generator) -> QuakeCase:
    shocks = quake_triggers(quake, phones, rng)
    noise = noise_triggers(phones, rng, quake.origin - 600, quake.origin + 600, 3.0)
    reports = felt_reports(quake, city, rng)
    events = _events(ExposureAdapter(), exposure_features(city, rng))
    events += _events(PhoneTriggersAdapter(), shocks + noise)
    events += _events(FeltReportsAdapter(), reports)
    versions = [(t, d) for t, d in _run(events) if d.detector == "quake"]
    found = [d for _, d in versions]
    dist = distance_km(LAT, LON, quake.lat, quake.lon)
    if not found:
        nan = math.nan
        return QuakeCase(
            magnitude=quake.magnitude,
            distance_km=dist,
            triggers=len(shocks),
            last_trigger_s=nan,
            detected=False,
            delay_s=nan,
            alert_location_error_km=nan,
            location_error_10s_km=nan,
            magnitude_error_10s=nan,
            location_error_km=nan,
            alert_magnitude_error=nan,
            magnitude_error=nan,
            reported_location_error_km=nan,
            reported_magnitude_error=nan,
            cells=0,
            cdi_abs_error=nan,
        )
    first, final = found[0], found[-1]
    at_10s = [d for t, d in versions if t <= quake.origin + 10.0][-1]

    def errors(d: Detection) -> tuple[float, float]:
        q = d.attributes["quake"]
        return (
            distance_km(q["lat"], q["lon"], quake.lat, quake.lon),
            abs(q["magnitude"] - quake.magnitude),
        )

    truth = true_cells(quake, reports)
    observed = [
        c
        for c in final.attributes["quake"]["cells"]
        if "utm_1km" in c and not c["predicted"] and c["reports"] >= 3 and c["utm_1km"] in truth
    ]
    cdi_err = (
        statistics.fmean(abs(c["cdi"] - truth[c["utm_1km"]]) for c in observed)
        if observed
        else math.nan
    )
    q = final.attributes["quake"]
    return QuakeCase(
        magnitude=quake.magnitude,
        distance_km=dist,
        triggers=len(shocks),
        last_trigger_s=float(shocks[-1]["time"]) - quake.origin,  # type: ignore[arg-type]
        detected=True,
        delay_s=to_epoch(first.timestamp) - quake.origin,
        alert_location_error_km=errors(first)[0],
        location_error_10s_km=errors(at_10s)[0],
        magnitude_error_10s=errors(at_10s)[1],
        location_error_km=errors(final)[0],
        alert_magnitude_error=errors(first)[1],
        magnitude_error=errors(final)[1],
        reported_location_error_km=q["location_error_km"],
        reported_magnitude_error=q["magnitude_error"],
        cells=len(observed),
        cdi_abs_error=cdi_err,
    )


def naive_detections(triggers: list[dict[str, object]], min_triggers: int) -> int:
    """Bursts a count-only clustering fires on: ``min_triggers`` within 20 s and 30 km."""
    fired, last_fire = 0, -math.inf
    window: list[dict[str, object]] = []
    for t in triggers:
        ts = float(t["time"])  # type: ignore[arg-type]
        window = [w for w in window if ts - float(w["time"]) <= 20.0] + [t]  # type: ignore[arg-type]
        near = [
            w
            for w in window
            if distance_km(float(w["lat"]), float(w["lon"]), float(t["lat"]), float(t["lon"])) <= 30  # type: ignore[arg-type]
        ]
        if len(near) >= min_triggers and ts - last_fire > 120:
            fired += 1
            last_fire = ts
    return fired


def _quiet_month(
    city: City, phones: Phones, rng: np.random.Generator, days: int
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """Everyday triggers; a match every third day (an alarm every other match); a weekly forger."""
    start = START + 1000 * DAY
    noise = noise_triggers(phones, rng, start, start + days * DAY, 3.0)
    crowd: list[dict[str, object]] = []
    forged: list[dict[str, object]] = []
    arena = (schedule.ARENA_LAT, schedule.ARENA_LON)
    for day in range(0, days, 3):
        kickoff = start + day * DAY + 19 * 3600
        for n, t0 in enumerate((kickoff, kickoff + 1200, kickoff + 2900, kickoff + 4400)):
            crowd += crowd_triggers(rng, t0, *arena, n=60, span_s=20.0, tag=f"m{day}-{n}")
        if day % 2 == 0:
            crowd += crowd_triggers(rng, kickoff + 5000, *arena, n=120, span_s=90.0, tag=f"a{day}")
    for week in range(0, days, 7):
        d = city.districts[int(rng.integers(0, len(city.districts)))]
        t0 = start + week * DAY + float(rng.uniform(0, DAY))
        forged += forged_triggers(rng, t0, *d.centroid, n=12, tag=f"f{week}")
    return noise, crowd, forged


def run(*, quakes: int = 40, days: int = 30, seed: int = 1) -> QuakeBench:
    """Run the benchmark: ``quakes`` quake cases, then ``days`` quake-free days."""
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    city = build_city(seed, residents=100)
    phones = place_phones(city, rng)
    cases = [_case(_draw(rng, k), city, phones, rng) for k in range(quakes)]
    noise, crowd, forged = _quiet_month(city, phones, rng, days)
    everything = sorted(noise + crowd + forged, key=lambda r: float(r["time"]))  # type: ignore[arg-type]
    events = _events(ExposureAdapter(), exposure_features(city, rng))
    events += _events(PhoneTriggersAdapter(), everything)
    false = len({d.id for _, d in _run(events)})
    naive = naive_detections(everything, QuakeConfig().min_triggers)
    return QuakeBench(
        cases=cases,
        days=days,
        noise_triggers=len(noise),
        crowd_triggers=len(crowd),
        forged_triggers=len(forged),
        false_detections=false,
        naive_false_detections=naive,
        wall_s=time.perf_counter() - began,
    )
