# ruff: noqa: E501 - data tables, one entry a line
"""Aldmere's gazetteer: districts, streets, venues and landmarks, with aliases and misspellings.

Written beside the demo inputs (``gazetteer.json``) and shipped inside the
package as the social detector's default (``python -m
citywatch.simulate.social.train`` writes both it and the classifier's
weights). The districts' outlines do not depend on the seed. Streets have no
district in the city model, so each is placed here, deterministically, in
one district near its centre.

>>> gaz = gazetteer()
>>> [p["name"] for p in gaz["places"] if p["kind"] == "venue"][0]
'Aldmere Arena'
"""

from __future__ import annotations

import math
from typing import Final, cast

from citywatch.city import inside
from citywatch.detect.social.text import tokens
from citywatch.simulate.city import LAT, build_city
from citywatch.simulate.names import STREETS, ascii_fold
from citywatch.simulate.schedule import ARENA_ID, ARENA_LAT, ARENA_LON, ARENA_NAME

DISTRICT_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "Stari Grad": ("Old Town", "Altstadt", "old town centre", "Stari Grd"),
    "Kaptolje": ("Kaptol hill", "Kaptolie"),
    "Riverside": ("the riverside", "Riverside district", "Riversde"),
    "Gornja Vas": ("Upper Village", "Gornja", "Gorna Vas"),
    "Tvornička": ("Tvornicka", "factory district", "Tvornica"),
    "Sveti Đuro": ("Sveti Djuro", "Sveti Duro", "Sv. Đuro", "Sv Djuro", "St George"),
    "Novo Polje": ("New Field", "Novo Pole"),
    "Brückenfeld": ("Bruckenfeld", "Brueckenfeld", "Brukenfeld"),
    "Jarun-Mlini": ("Jarun", "Mlini", "Jarun Mlini"),
    "Lučko Brdo": ("Lucko Brdo", "Lucko"),
    "Sjeverni Gaj": ("North Grove", "Sjeverni"),
    "Pěší Dvor": ("Pesi Dvor", "Pesi Dvur"),
    "Ołtarzew": ("Oltarzew", "Oltarzev"),
    "Zelena Dolina": ("Green Valley", "Zelena"),
    "Port d'Aldmere": ("the port", "Aldmere port", "Port Aldmere", "the docks", "Hafen"),
}

# (name, kind, district, aliases, offset of the point from the district's centre in km (east, north))
LANDMARKS: Final = (
    ("Aldmere Cathedral", "landmark", "Kaptolje", ("the cathedral", "Dom", "Kathedrale"), (-0.4, 0.2)),
    ("Central Station", "landmark", "Stari Grad", ("main station", "Hauptbahnhof", "train station", "Glavni kolodvor"), (0.1, -0.9)),
    ("City Hospital", "landmark", "Novo Polje", ("the hospital", "Krankenhaus", "Klinikum"), (0.3, 0.4)),
    ("Old Bridge", "landmark", "Riverside", ("the old bridge", "Alte Brücke", "Stari most"), (0.5, -0.3)),
    ("Jarun Lake", "landmark", "Jarun-Mlini", ("the lake", "Jarunsee"), (-0.6, 0.5)),
    ("Aldmere City Library", "venue", "Stari Grad", ("city library", "the library", "Stadtbibliothek"), (-0.3, 0.3)),
    ("University of Aldmere", "venue", "Riverside", ("the university", "campus", "Universität"), (-0.5, 0.6)),
    ("Port Market Hall", "venue", "Port d'Aldmere", ("market hall", "Markthalle", "the market"), (0.4, 0.1)),
    ("Tvornička Power Station", "landmark", "Tvornička", ("power station", "Kraftwerk", "the power plant"), (0.6, -0.4)),
)  # fmt: skip
ARENA_ALIASES: Final = (
    "the arena",
    "Aldmere stadium",
    "the stadium",
    "Aldmere-Arena",
    "Stadion",
    "Aldmre Arena",
    "Aldmere Arna",
)
_KM_LAT: Final = 110.574
_KM_LON: Final = 111.320 * math.cos(math.radians(LAT))


def _key(name: str) -> str:
    return " ".join(tokens(name))


def street_aliases(name: str, taken: set[str]) -> list[str]:
    """A street's name in plain letters, and its short name unless another place has that name.

    ``taken`` holds the folded names and aliases of the city's other places: a
    street "Riverside Walk" is not called "Riverside", the district's name.

    >>> street_aliases("Hafenstraße", {"hafen"}), street_aliases("Hafenstraße", set())
    (['Hafenstrasse'], ['Hafen', 'Hafenstrasse'])
    """
    folded = ascii_fold(name)
    aliases = {folded} if folded != name else set()
    for suffix in (" ulica", " cesta", "strasse", "straße", " Street", " Lane", " Walk"):
        short = name[: -len(suffix)].strip()
        if name.endswith(suffix) and len(short) >= 5 and _key(short) not in taken:
            aliases.add(short)
    return sorted(aliases)


def gazetteer() -> dict[str, object]:
    """Aldmere's gazetteer as the JSON object the detector reads (see its ``gazetteer`` module)."""
    city = build_city(1, residents=50)
    districts = [
        {
            "name": d.name,
            "lat": d.centroid[0],
            "lon": d.centroid[1],
            "aliases": list(DISTRICT_ALIASES.get(d.name, ())),
            "polygon": [list(p) for p in d.ring],
        }
        for d in city.districts
    ]
    centre = {d.name: d.centroid for d in city.districts}
    places: list[dict[str, object]] = []
    arena_district = next(d.name for d in city.districts if inside(ARENA_LON, ARENA_LAT, d.ring))
    places.append(
        {
            "name": ARENA_NAME,
            "id": ARENA_ID,
            "kind": "venue",
            "district": arena_district,
            "lat": ARENA_LAT,
            "lon": ARENA_LON,
            "aliases": list(ARENA_ALIASES),
        }
    )
    for name, kind, district, aliases, (east, north) in LANDMARKS:
        lat, lon = centre[district]
        places.append(
            {
                "name": name,
                "kind": kind,
                "district": district,
                "lat": round(lat + north / _KM_LAT, 6),
                "lon": round(lon + east / _KM_LON, 6),
                "aliases": list(aliases),
            }
        )
    taken = {
        _key(str(name))
        for entry in [*districts, *places]
        for name in [entry["name"], *cast(list[str], entry["aliases"])]
    }
    for i, street in enumerate(STREETS):
        d = city.districts[(i * 7) % len(city.districts)]
        angle = math.radians(i * 47 % 360)
        lat = d.centroid[0] + 0.5 * math.sin(angle) / _KM_LAT
        lon = d.centroid[1] + 0.5 * math.cos(angle) / _KM_LON
        places.append(
            {
                "name": street,
                "kind": "street",
                "district": d.name,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "aliases": street_aliases(street, taken),
            }
        )
    return {"city": city.name, "districts": districts, "places": places}
