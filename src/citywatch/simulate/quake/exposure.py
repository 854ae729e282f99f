"""The city's exposure: districts (population, postcode) and critical facilities.

Written as newline-delimited GeoJSON, the ``exposure`` input format; the
districts double as the gazetteer that resolves felt reports' postcodes.
"""

from __future__ import annotations

from typing import Final

import numpy as np

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


def exposure_features(city: City, rng: np.random.Generator) -> list[dict[str, object]]:
    """One GeoJSON feature per district (an ``area``) and per facility."""
    features: list[dict[str, object]] = []
    for d in city.districts:
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "area",
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
