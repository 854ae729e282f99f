"""The city model of Aldmere: districts, residents and their portal accounts.

Aldmere is fictional, centred on 45.8150 N, 15.9819 E (UTC+01:00). Its 15
districts tile a disc of about 9.5 km: a centre, an inner ring of six sectors
and an outer ring of eight, sharing their boundary vertices exactly. Everything
is drawn from ``random.Random`` streams derived from the seed.

>>> city = build_city(7, residents=50)
>>> len(city.districts), len(city.residents)
(15, 50)
"""

from __future__ import annotations

import itertools
import math
from random import Random
from typing import Final

import msgspec

from citywatch.simulate import agents
from citywatch.simulate.names import (
    CULTURES,
    DISTRICT_NAMES,
    MAIL_DOMAINS,
    PASSWORD_WORDS,
    STREETS,
    handle,
)
from citywatch.simulate.net import Allocator, iban
from citywatch.simulate.rand import Weighted, below, substream
from citywatch.simulate.records import Agent

NAME: Final = "Aldmere"
LAT: Final = 45.8150
LON: Final = 15.9819
UTC_OFFSET_MIN: Final = 60
_KM_LAT: Final = 110.574
_KM_LON: Final = 111.320 * math.cos(math.radians(LAT))
_HOUSE: Final = ("", "", "", "", "a", "b")
_STEP: Final = 7.5  # degrees between arc vertices; every sector boundary lies on this grid
# (inner radius km, outer radius km, sectors, first boundary angle in degrees)
_RINGS: Final = ((1.6, 4.6, 6, 15.0), (4.6, 9.5, 8, 0.0))


class District(msgspec.Struct, frozen=True, gc=False):
    id: int
    name: str
    population: int
    postcode: str
    ring: tuple[tuple[float, float], ...]  # closed, counter-clockwise, (lon, lat)
    centroid: tuple[float, float]  # (lat, lon)


class Site(msgspec.Struct, frozen=True, gc=False):
    """A place where many residents share one public IP (NAT)."""

    id: str
    name: str
    ip: str
    district: int


class Resident(msgspec.Struct, frozen=True, gc=False):
    id: int
    name: str
    username: str
    email: str
    password: str
    district: int
    street: str
    postcode: str
    lat: float
    lon: float
    device: str  # desktop | mobile | app
    agent: Agent
    ip: str
    site: str | None
    iban: str
    iban_country: str


class City(msgspec.Struct, frozen=True, gc=False):
    name: str
    lat: float
    lon: float
    utc_offset_min: int
    districts: tuple[District, ...]
    residents: tuple[Resident, ...]
    sites: tuple[Site, ...]
    mobile_pool: tuple[str, ...]  # carrier-grade NAT addresses shared by phones


def _wobble(boundary: int, deg: float) -> float:
    """Radial scale of ring boundary ``boundary`` at angle ``deg``: irregular, not a circle."""
    t = math.radians(deg)
    return 1.0 + 0.05 * math.sin(3 * t + 1.3 * boundary) + 0.03 * math.cos(5 * t + boundary)


def _point(boundary: int, km: float, deg: float) -> tuple[float, float]:
    r = km * _wobble(boundary, deg)
    t = math.radians(deg)
    return (
        round(LON + r * math.cos(t) / _KM_LON, 6),
        round(LAT + r * math.sin(t) / _KM_LAT, 6),
    )


def _arc(boundary: int, km: float, a0: float, a1: float) -> list[tuple[float, float]]:
    n = round(abs(a1 - a0) / _STEP)
    step = (a1 - a0) / n
    return [_point(boundary, km, a0 + i * step) for i in range(n + 1)]


def _centroid(ring: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return (round(cy / (3 * area), 6), round(cx / (3 * area), 6))


def _districts(rng: Random) -> list[tuple[District, tuple[float, float, float, float, int]]]:
    """Districts with their sector (r0, r1, a0, a1, inner boundary index) for placing homes."""
    out = []
    circle = _arc(0, _RINGS[0][0], 0.0, 360.0)
    shapes = [((*circle[:-1], circle[0]), (0.0, _RINGS[0][0], 0.0, 360.0, -1))]
    for b, (r0, r1, n, first) in enumerate(_RINGS):
        width = 360.0 / n
        for k in range(n):
            a0 = first + k * width
            arcs = _arc(b + 1, r1, a0, a0 + width) + _arc(b, r0, a0 + width, a0)
            shapes.append(((*arcs, arcs[0]), (r0, r1, a0, a0 + width, b)))
    for i, (ring, sector) in enumerate(shapes):
        ring_no = 0 if i == 0 else (1 if i <= _RINGS[0][2] else 2)
        low, high = ((18_000, 26_000), (40_000, 72_000), (28_000, 65_000))[ring_no]
        district = District(
            id=i + 1,
            name=DISTRICT_NAMES[i],
            population=rng.randrange(low, high, 10),
            postcode=str(10000 + 10 * (i + 1)),
            ring=ring,
            centroid=_centroid(ring),
        )
        out.append((district, sector))
    return out


def _home(rng: Random, sector: tuple[float, float, float, float, int]) -> tuple[float, float]:
    r0, r1, a0, a1, b = sector
    deg = rng.uniform(a0, a1)
    lo = r0 * _wobble(b, deg) if b >= 0 else 0.0
    hi = r1 * _wobble(b + 1, deg)
    r = math.sqrt(rng.uniform((lo + 0.05) ** 2, (hi - 0.05) ** 2))
    t = math.radians(deg)
    return round(LAT + r * math.sin(t) / _KM_LAT, 5), round(LON + r * math.cos(t) / _KM_LON, 5)


def _password(rng: Random) -> str:
    word = rng.choice(PASSWORD_WORDS)
    if rng.random() < 0.5:
        word = word.capitalize()
    roll = rng.random()
    digits = (
        str(1950 + below(rng, 62)) if roll < 0.3 else f"{below(rng, 100):02d}" if roll < 0.6 else ""
    )
    return word + digits + rng.choice(("", "", "!", "#", ".", "?", "&", "$"))


def build_city(seed: int, residents: int = 4000) -> City:
    """Aldmere with ``residents`` portal users, reproducibly from ``seed``."""
    rng = substream(seed, "city")
    placed = _districts(rng)
    districts = tuple(d for d, _ in placed)
    alloc = Allocator(rng)
    sites = (
        Site("library", "Aldmere City Library (public Wi-Fi)", alloc.fixed("193.198.212.5"), 1),
        Site("university", "University of Aldmere (campus NAT)", alloc.fixed("161.53.72.10"), 3),
    )
    cultures = Weighted(CULTURES, [c.weight for c in CULTURES])
    homes = Weighted(placed, [d.population for d in districts])
    usernames: set[str] = set()
    people: list[Resident] = []
    for rid in range(1, residents + 1):
        culture = cultures.draw(rng)
        given, family = rng.choice(culture.given), rng.choice(culture.family)
        family_first = culture.accept_language[:2] in ("hu", "vi")
        name = f"{family} {given}" if family_first else f"{given} {family}"
        g, f = handle(given), handle(family)
        base = rng.choice((f"{g}.{f}", f"{g[0]}{f}", f"{g}{f}", f"{f}.{g}", f"{g}_{f}"))
        username = base
        while username in usernames:
            username = f"{base}{1 + below(rng, 99)}"
        usernames.add(username)
        email = f"{username}@{rng.choice(MAIL_DOMAINS)}"
        district, sector = homes.draw(rng)
        lat, lon = _home(rng, sector)
        roll = rng.random()
        device = "desktop" if roll < 0.45 else ("mobile" if roll < 0.75 else "app")
        agent = (
            agents.app(rng, culture.accept_language)
            if device == "app"
            else agents.browser(rng, device == "mobile", culture.accept_language)
        )
        roll = rng.random()
        site = "university" if roll < 0.06 else ("library" if roll < 0.09 else None)
        country = culture.iban_country if rng.random() < 0.3 else "HR"
        people.append(
            Resident(
                id=rid,
                name=name,
                username=username,
                email=email,
                password=_password(rng),
                district=district.id,
                street=f"{rng.choice(STREETS)} {1 + below(rng, 180)}{rng.choice(_HOUSE)}",
                postcode=district.postcode,
                lat=lat,
                lon=lon,
                device=device,
                agent=agent,
                ip=alloc.home(ipv6=device == "desktop" and rng.random() < 0.15),
                site=site,
                iban=iban(rng, country),
                iban_country=country,
            )
        )
    return City(
        name=NAME,
        lat=LAT,
        lon=LON,
        utc_offset_min=UTC_OFFSET_MIN,
        districts=districts,
        residents=tuple(people),
        sites=sites,
        mobile_pool=tuple(alloc.mobile() for _ in range(64)),
    )


def geojson(city: City) -> dict[str, object]:
    """The districts as a GeoJSON FeatureCollection, with the city in top-level ``properties``."""
    offset = f"+{city.utc_offset_min // 60:02d}:{city.utc_offset_min % 60:02d}"
    return {
        "type": "FeatureCollection",
        "properties": {
            "city": city.name,
            "centre": {"lat": city.lat, "lon": city.lon},
            "utc_offset": offset,
            "population": sum(d.population for d in city.districts),
        },
        "features": [
            {
                "type": "Feature",
                "id": d.id,
                "properties": {
                    "id": d.id,
                    "name": d.name,
                    "population": d.population,
                    "postcode": d.postcode,
                    "centroid": {"lat": d.centroid[0], "lon": d.centroid[1]},
                },
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in d.ring]]},
            }
            for d in city.districts
        ],
    }
