"""What connected citizens record when the ground shakes, and when it does not.

Phones with the app (``uptake`` of the residents, MyShake's 0.1% by default)
sit in the districts. An earthquake reaches each phone with its P wave at
``R / vp`` (the region's true P velocity, drawn around 6 km/s for each
quake); a phone that lies still (``ready``) triggers if its peak acceleration, drawn from Atkinson
& Wald's (2007) intensity at its hypocentral distance through Worden et
al.'s (2012) PGA relation with per-phone scatter, exceeds ``threshold_g``;
the on-phone picker adds a delay (exponential, mean 0.3 s) and the phone's
clock a small error (0.05 s). The phone reports its peak with the
trigger (MyShake sends amplitudes a few seconds later: a simplification).

Everyday life triggers phones too (a few times a day each, at random), a
crowd jumping in the arena triggers dozens of phones in one place, and a
forger can send a dozen triggers from one street: the noise a detector must
shrug off. Felt reports come from the residents, more where shaking was
stronger, each answering DYFI's questions for the intensity they felt
(the IPE's with scatter), so the CWS of their answers gives that intensity.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from citywatch.detect.quake.relations import (
    G_CM_S2,
    Array,
    ipe_array,
    pga_from_mmi_array,
)
from citywatch.simulate.city import City, District

KM_PER_DEG: Final = 111.195
DAMAGE_CODES: Final = (0.0, 0.5, 0.75, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Quake:
    """A simulated earthquake: the ground truth a detector is scored against."""

    id: str
    origin: float
    lat: float
    lon: float
    depth_km: float
    magnitude: float


@dataclass(frozen=True)
class Phones:
    """The phones running the app: pseudonymous ids and rounded-to-nothing true places."""

    ids: list[str]
    lat: Array
    lon: Array


def _in_ring(lon: Array, lat: Array, ring: tuple[tuple[float, float], ...]) -> Array:
    """Ray casting: which points lie inside the closed ring of (lon, lat)."""
    inside = np.zeros(len(lon), dtype=bool)
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        crosses = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (lon < x_at)
    result: Array = inside
    return result


def points_in(district: District, n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """``n`` uniform random points (lat, lon) inside a district."""
    lons = np.array([p[0] for p in district.ring])
    lats = np.array([p[1] for p in district.ring])
    got_lat: list[Array] = []
    got_lon: list[Array] = []
    have = 0
    while have < n:
        lo = rng.uniform(lons.min(), lons.max(), 4 * (n - have) + 8)
        la = rng.uniform(lats.min(), lats.max(), 4 * (n - have) + 8)
        keep = _in_ring(lo, la, district.ring)
        got_lat.append(la[keep])
        got_lon.append(lo[keep])
        have += int(keep.sum())
    return np.concatenate(got_lat)[:n], np.concatenate(got_lon)[:n]


def place_phones(city: City, rng: np.random.Generator, uptake: float = 0.001) -> Phones:
    """The phones with the app, in each district in proportion to its residents."""
    lats: list[Array] = []
    lons: list[Array] = []
    for district in city.districts:
        la, lo = points_in(district, int(rng.poisson(district.population * uptake)), rng)
        lats.append(la)
        lons.append(lo)
    lat, lon = np.concatenate(lats), np.concatenate(lons)
    ids = [f"ph-{v:012x}" for v in rng.integers(0, 1 << 48, len(lat))]
    return Phones(ids=ids, lat=lat, lon=lon)


def epicentral_km(lat: Array, lon: Array, qlat: float, qlon: float) -> Array:
    """Distances in km from (qlat, qlon) (equirectangular: fine for a city and its region)."""
    x = (lon - qlon) * KM_PER_DEG * math.cos(math.radians(qlat))
    y = (lat - qlat) * KM_PER_DEG
    result: Array = np.hypot(x, y)
    return result


def _record(
    rid: str, ts: float, lat: float, lon: float, pga: float, device: str
) -> dict[str, object]:
    return {
        "id": rid,
        "time": round(ts, 3),
        "lat": round(lat, 3),  # the app rounds to ~100 m
        "lon": round(lon, 3),
        "pga_g": round(pga, 5),
        "device": device,
        "device_class": "phone",
    }


def quake_triggers(
    quake: Quake,
    phones: Phones,
    rng: np.random.Generator,
    *,
    ready: float = 0.6,
    threshold_g: float = 0.005,
) -> list[dict[str, object]]:
    """The triggers one earthquake makes, in time order."""
    hypo = np.hypot(epicentral_km(phones.lat, phones.lon, quake.lat, quake.lon), quake.depth_km)
    mmi = ipe_array(np.full_like(hypo, quake.magnitude), hypo)
    pga = pga_from_mmi_array(mmi) / G_CM_S2 * 10 ** rng.normal(0.0, 0.25, len(hypo))
    fires = (rng.random(len(hypo)) < ready) & (pga >= threshold_g)
    vp = float(rng.normal(6.0, 0.15))  # the crust's true speed, unknown to the detector
    delay = rng.exponential(0.3, len(hypo)) + rng.normal(0.0, 0.05, len(hypo))
    times = quake.origin + hypo / vp + delay
    order = [int(i) for i in np.argsort(times) if fires[i]]
    return [
        _record(
            f"{quake.id}-t{i}",
            float(times[i]),
            float(phones.lat[i]),
            float(phones.lon[i]),
            float(pga[i]),
            phones.ids[i],
        )
        for i in order
    ]


def noise_triggers(
    phones: Phones, rng: np.random.Generator, start: float, end: float, per_phone_day: float
) -> list[dict[str, object]]:
    """Everyday triggers (a phone dropped, a bus going by): Poisson in time, random phones."""
    n = int(rng.poisson(len(phones.ids) * per_phone_day * (end - start) / 86400))
    times = np.sort(rng.uniform(start, end, n))
    who = rng.integers(0, len(phones.ids), n)
    pga = 10 ** rng.normal(math.log10(0.01), 0.3, n)
    return [
        _record(
            f"noise-{start:.0f}-{k}",
            float(times[k]),
            float(phones.lat[who[k]]),
            float(phones.lon[who[k]]),
            float(pga[k]),
            phones.ids[who[k]],
        )
        for k in range(n)
    ]


def crowd_triggers(
    rng: np.random.Generator, t0: float, lat: float, lon: float, n: int, span_s: float, tag: str
) -> list[dict[str, object]]:
    """A crowd jumping (a goal, a rush): ``n`` phones within ~150 m shaken over ``span_s``."""
    times = np.sort(t0 + rng.uniform(0, span_s, n))
    dlat = rng.normal(0, 0.0010, n)
    dlon = rng.normal(0, 0.0014, n)
    pga = 10 ** rng.normal(math.log10(0.05), 0.25, n)
    return [
        _record(
            f"{tag}-{k}",
            float(times[k]),
            lat + float(dlat[k]),
            lon + float(dlon[k]),
            float(pga[k]),
            f"ph-{tag}-{k}",
        )
        for k in range(n)
    ]


def forged_triggers(
    rng: np.random.Generator, t0: float, lat: float, lon: float, n: int, tag: str
) -> list[dict[str, object]]:
    """A forger's ``n`` triggers from one 200 m street within 3 s, each under a fresh id."""
    along = rng.uniform(-0.001, 0.001, n)
    times = np.sort(t0 + rng.uniform(0, 3, n))
    return [
        _record(f"{tag}-{k}", float(times[k]), lat, lon + float(along[k]), 0.08, f"fake-{tag}-{k}")
        for k in range(n)
    ]


def answers_for(intensity: float, rng: np.random.Generator) -> dict[str, float]:
    """DYFI answers whose community weighted sum gives ``intensity`` (about; answers are coded).

    The CWS the intensity stands for (the inverse of DYFI's CDI) is spent on
    the questions in the order shaking brings them: felt, motion, reaction,
    picture, stand, shelf, furniture, damage; each takes the largest code that
    fits, and the first that cannot take the rest whole takes it at random in
    proportion (and ends the allocation), so the expected CWS is the target.
    About one answer in ten (felt aside) is left blank.
    """
    if intensity < 2.0:
        return {"felt": float(rng.random() < max(0.0, intensity - 1.0))}
    remaining = math.exp((intensity + 4.3781) / 3.3996)
    questions: list[tuple[str, float, tuple[float, ...]]] = [
        ("felt", 5.0, (0.0, 1.0)),
        ("motion", 1.0, tuple(float(c) for c in range(min(5, max(1, round(intensity - 1))) + 1))),
        ("reaction", 1.0, tuple(float(c) for c in range(min(5, max(0, round(intensity - 2))) + 1))),
        ("picture", 2.0, (0.0, 1.0)),
        ("stand", 2.0, (0.0, 1.0)),
        ("shelf", 5.0, (0.0, 1.0, 2.0, 3.0)),
        ("furniture", 3.0, (0.0, 1.0)),
        ("damage", 5.0, DAMAGE_CODES),
    ]
    answers: dict[str, float] = {}
    for name, weight, codes in questions:
        fit = [c for c in codes if weight * c <= remaining]
        code = fit[-1] if fit else 0.0
        higher = [c for c in codes if c > code]
        if higher and remaining > weight * code:  # the fraction is spent here, once
            step = higher[0] - code
            if rng.random() < (remaining - weight * code) / (weight * step):
                code = higher[0]
            remaining = 0.0
        remaining -= weight * code
        if name == "felt" or rng.random() >= 0.1:
            answers[name] = code
    return answers


def felt_reports(
    quake: Quake, city: City, rng: np.random.Generator, *, rate: float = 0.002
) -> list[dict[str, object]]:
    """The felt reports residents send after a quake, in time order.

    A district sends ``population × rate × response(intensity)`` reports (more
    where it shook harder); each reporter felt the IPE's intensity at home
    with a scatter of 0.4 units. One report in five gives a postcode, not
    coordinates.
    """
    records: list[tuple[float, dict[str, object]]] = []
    for district in city.districts:
        clat, clon = district.centroid
        centre = ipe_array(
            np.array(quake.magnitude),
            np.hypot(
                epicentral_km(np.array([clat]), np.array([clon]), quake.lat, quake.lon),
                quake.depth_km,
            ),
        )
        response = float(np.clip((centre[0] - 1.5) / 3.0, 0.0, 2.0))
        n = int(rng.poisson(district.population * rate * response))
        if n == 0:
            continue
        lat, lon = points_in(district, n, rng)
        hypo = np.hypot(epicentral_km(lat, lon, quake.lat, quake.lon), quake.depth_km)
        felt = ipe_array(np.full(n, quake.magnitude), hypo) + rng.normal(0.0, 0.4, n)
        times = quake.origin + 30 + rng.exponential(900.0, n)
        for k in range(n):
            rec: dict[str, object] = {
                "id": f"{quake.id}-r{district.id}-{k}",
                "time": round(float(times[k]), 1),
            }
            if rng.random() < 0.2:
                rec["postcode"] = district.postcode
            else:
                rec["lat"], rec["lon"] = round(float(lat[k]), 4), round(float(lon[k]), 4)
            rec.update(answers_for(float(felt[k]), rng))
            records.append((float(times[k]), rec))
    records.sort(key=lambda r: r[0])
    return [r for _, r in records]
