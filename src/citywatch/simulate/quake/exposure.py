"""The city's exposure: population per 1 km cell, critical facilities, and the postcodes.

Written as newline-delimited GeoJSON, the ``exposure`` input format: one
``area`` feature per 1 km UTM cell with its residents (each district's
residents spread evenly over it), one feature per facility, and one
``postcode`` feature per district, the gazetteer that resolves felt
reports' postcodes.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from citywatch.detect.quake.cells import utm_cell_centre, utm_cells
from citywatch.simulate.city import City
from citywatch.simulate.quake.physics import points_in

FACILITIES: Final = (
    # kind, how many, usual occupants, vulnerability classes to draw from (EMS-98, A weakest)
    ("hospital", 4, 600, "BC"),
    ("school", 15, 500, "ABC"),
    ("care_home", 8, 120, "AB"),
    ("fire_station", 5, 40, "CD"),
    ("bridge", 4, 1500, "BC"),
)
_LABEL: Final = {
    "hospital": "Hospital",
    "school": "School",
    "care_home": "Care Home",
    "fire_station": "Fire Station",
    "bridge": "Bridge",
}


_SAMPLES: Final = 4000
"""Points per district that spread its residents over the cells."""


def _cells(city: City, rng: np.random.Generator) -> list[dict[str, object]]:
    """One ``area`` feature per 1 km UTM cell, with the residents living in it."""
    people: dict[str, float] = {}
    where: dict[str, str] = {}
    for d in city.districts:
        for cell in utm_cells(*points_in(d, _SAMPLES, rng), 1):
            people[cell] = people.get(cell, 0.0) + d.population / _SAMPLES
            where.setdefault(cell, d.name)
    features: list[dict[str, object]] = []
    for cell in sorted(people):
        clat, clon = utm_cell_centre(cell, 1)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "area",
                    "id": cell,
                    "name": f"{where[cell]} ({cell})",
                    "population": round(people[cell]),
                },
                "geometry": {"type": "Point", "coordinates": [round(clon, 5), round(clat, 5)]},
            }
        )
    return features


def exposure_features(city: City, rng: np.random.Generator) -> list[dict[str, object]]:
    """The exposure's features: cells, the districts' postcodes, then the facilities."""
    features = _cells(city, rng)
    for d in city.districts:
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "postcode",
                    "id": f"district-{d.id}",
                    "name": d.name,
                    "population": d.population,
                    "postcode": d.postcode,
                    "centroid": {"lat": d.centroid[0], "lon": d.centroid[1]},
                },
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in d.ring]]},
            }
        )
    for kind, count, occupants, classes in FACILITIES:
        for k in range(count):
            d = city.districts[int(rng.integers(0, len(city.districts)))]
            lat, lon = points_in(d, 1, rng)
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "kind": kind,
                        "id": f"{kind}-{k + 1}",
                        "name": f"{d.name} {_LABEL[kind]}" + (f" {k + 1}" if k else ""),
                        "population": int(occupants * rng.uniform(0.5, 1.5)),
                        "vulnerability": classes[int(rng.integers(0, len(classes)))],
                    },
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(float(lon[0]), 5), round(float(lat[0]), 5)],
                    },
                }
            )
    return features
