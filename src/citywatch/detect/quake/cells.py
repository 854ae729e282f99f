"""Where things are: distances, and the cells DYFI aggregates in (UTM 1 km and 10 km) and H3.

A UTM cell id is ``ZONE:EASTING_KM:NORTHING_KM`` of its south-west corner in
km (``33T:576:5073`` for 1 km, ``33T:570:5070`` for 10 km), as DYFI names its
geocoded boxes by their UTM corner.

>>> utm_cell(45.8150, 15.9819, 1), utm_cell(45.8150, 15.9819, 10)
('33T:576:5073', '33T:570:5070')
>>> round(distance_km(45.8150, 15.9819, 45.7080, 16.1050), 1)
15.3
"""

from __future__ import annotations

import math
from typing import Final

import h3
import utm  # type: ignore[import-untyped]

from citywatch.detect.quake.relations import Array

EARTH_KM: Final = 6371.0088
H3_RESOLUTION: Final = 7
"""H3 cells of the intensity map layer (about 5 km² each, a district-scale map)."""


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def utm_cell(lat: float, lon: float, size_km: int) -> str:
    """The id of the ``size_km`` UTM cell holding the point."""
    easting, northing, zone, letter = utm.from_latlon(lat, lon)
    e = int(easting // (size_km * 1000)) * size_km
    n = int(northing // (size_km * 1000)) * size_km
    return f"{zone}{letter}:{e}:{n}"


def utm_cells(lat: Array, lon: Array, size_km: int) -> list[str]:
    """:func:`utm_cell` for many points in one UTM zone at once.

    >>> import numpy as np
    >>> utm_cells(np.array([45.8150]), np.array([15.9819]), 1)
    ['33T:576:5073']
    """
    easting, northing, zone, letter = utm.from_latlon(lat, lon)
    e = (easting // (size_km * 1000)).astype(int) * size_km
    n = (northing // (size_km * 1000)).astype(int) * size_km
    return [f"{zone}{letter}:{a}:{b}" for a, b in zip(e.tolist(), n.tolist(), strict=True)]


def utm_cell_centre(cell: str, size_km: int) -> tuple[float, float]:
    """The (lat, lon) of the centre of the ``size_km`` UTM cell ``cell``."""
    zone, e_km, n_km = cell.split(":")
    size = size_km
    lat, lon = utm.to_latlon(
        (int(e_km) + size / 2) * 1000,
        (int(n_km) + size / 2) * 1000,
        int(zone[:-1]),
        zone[-1],
    )
    return float(lat), float(lon)


def utm_cell_ring(cell: str, size_km: int) -> list[tuple[float, float]]:
    """The corners of the ``size_km`` UTM cell ``cell`` as (lat, lon), closed.

    >>> [tuple(round(v, 3) for v in c) for c in utm_cell_ring("33T:576:5073", 1)][:2]
    [(45.806, 15.978), (45.806, 15.991)]
    """
    zone, e_km, n_km = cell.split(":")
    e0, n0 = int(e_km) * 1000, int(n_km) * 1000
    step = size_km * 1000
    corners = [(e0, n0), (e0 + step, n0), (e0 + step, n0 + step), (e0, n0 + step), (e0, n0)]
    out = []
    for e, n in corners:
        lat, lon = utm.to_latlon(e, n, int(zone[:-1]), zone[-1])
        out.append((float(lat), float(lon)))
    return out


def h3_cell(lat: float, lon: float) -> str:
    """The H3 cell of the intensity map layer holding the point."""
    return str(h3.latlng_to_cell(lat, lon, H3_RESOLUTION))


def h3_centre(cell: str) -> tuple[float, float]:
    """The (lat, lon) of an H3 cell's centre."""
    lat, lon = h3.cell_to_latlng(cell)
    return float(lat), float(lon)
