"""The intensity map and the impact list of one located earthquake.

Cells: felt reports are grouped in UTM 1 km and 10 km cells (as DYFI
geocodes them) and in H3 cells for the map; each cell's CDI comes from its
averaged answers (:func:`relations.cdi`), with its number of reports. Cells
with exposure but no report get the intensity the IPE predicts at their
centre and are marked ``predicted``.

Priorities: every exposed area and facility, scored by
``intensity × population × vulnerability weight`` and ranked, where the
intensity is the observed CDI of its 1 km cell when that cell has at least
``min_reports`` reports, else the IPE prediction. Items below intensity IV
(no damage expected) are left out. Vulnerability follows EMS-98 classes
(A the most vulnerable); areas, whose building stock is mixed, weigh as B.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from citywatch.detect.quake.cells import distance_km, h3_cell, utm_cell
from citywatch.detect.quake.relations import cdi, ipe, mean_answers

VULNERABILITY_WEIGHT: Final = {"A": 1.0, "B": 0.7, "C": 0.45, "D": 0.25}
AREA_CLASS: Final = "B"
MIN_MMI: Final = 4.0
SCHEMES: Final = ("utm_1km", "utm_10km", "h3")
GAZETTEER: Final = "postcode"
"""The exposure kind that only places postcodes (the gazetteer): neither mapped nor ranked."""


class Placed(msgspec.Struct, frozen=True, kw_only=True):
    """Something with a place, and the cells it falls in (computed once, when it comes in)."""

    lat: float
    lon: float
    cells: tuple[str, str, str]
    """Its cells in :data:`SCHEMES` order."""


def cells_of(lat: float, lon: float) -> tuple[str, str, str]:
    """The cells of a point in :data:`SCHEMES` order."""
    return utm_cell(lat, lon, 1), utm_cell(lat, lon, 10), h3_cell(lat, lon)


class Report(Placed, frozen=True, kw_only=True):
    """One located felt report: where, and its answers (None where absent)."""

    id: str
    answers: dict[str, float | None]


class Item(Placed, frozen=True, kw_only=True):
    """One exposed area or facility (from the ``exposure`` input)."""

    kind: str
    id: str
    name: str
    population: int
    vulnerability: str | None = None
    postcode: str | None = None


def predicted_mmi(
    mag: float, lat: float, lon: float, qlat: float, qlon: float, depth: float
) -> float:
    """The IPE intensity at a point, for a quake at (qlat, qlon, depth) of magnitude ``mag``."""
    return ipe(mag, math.hypot(distance_km(lat, lon, qlat, qlon), depth))


def cells(
    reports: Sequence[Report],
    items: Iterable[Item],
    quake: tuple[float, float, float, float],
) -> list[dict[str, object]]:
    """Observed cells of every scheme, then predicted cells where exposure lies unreported.

    ``quake`` is (lat, lon, depth_km, magnitude).
    """
    qlat, qlon, depth, mag = quake
    out: list[dict[str, object]] = []
    for scheme in SCHEMES:
        groups: dict[str, list[Report]] = {}
        k = SCHEMES.index(scheme)
        for r in reports:
            groups.setdefault(r.cells[k], []).append(r)
        for cell_id in sorted(groups):
            members = groups[cell_id]
            out.append(
                {
                    scheme: cell_id,
                    "cdi": cdi(mean_answers(r.answers for r in members)),
                    "reports": len(members),
                    "predicted": False,
                }
            )
        done = set(groups)
        for item in items:
            if item.kind == GAZETTEER:
                continue
            cell_id = item.cells[k]
            if cell_id in done:
                continue
            done.add(cell_id)
            mmi = predicted_mmi(mag, item.lat, item.lon, qlat, qlon, depth)
            out.append(
                {scheme: cell_id, "cdi": round(max(1.0, mmi), 1), "reports": 0, "predicted": True}
            )
    return out


def priorities(
    reports: Sequence[Report],
    items: Iterable[Item],
    quake: tuple[float, float, float, float],
    *,
    min_reports: int,
    limit: int,
) -> list[dict[str, object]]:
    """Areas and facilities ranked by expected impact, most urgent first.

    At most ``limit`` areas and ``limit`` facilities: a cell of thousands
    always outscores a care home, and a responder needs both lists.
    """
    qlat, qlon, depth, mag = quake
    by_cell: dict[str, list[Report]] = {}
    for r in reports:
        by_cell.setdefault(r.cells[0], []).append(r)
    ranked: list[dict[str, object]] = []
    for item in items:
        if item.kind == GAZETTEER:
            continue
        members = by_cell.get(item.cells[0], [])
        if len(members) >= min_reports:
            mmi, basis = cdi(mean_answers(r.answers for r in members)), "reported"
        else:
            mmi, basis = predicted_mmi(mag, item.lat, item.lon, qlat, qlon, depth), "predicted"
        if mmi < MIN_MMI:
            continue
        vclass = AREA_CLASS if item.kind == "area" else (item.vulnerability or AREA_CLASS)
        score = mmi * item.population * VULNERABILITY_WEIGHT[vclass]
        ranked.append(
            {
                "kind": item.kind,
                "id": item.id,
                "name": item.name,
                "score": round(score, 1),
                "mmi": round(mmi, 1),
                "population": item.population,
                "vulnerability": vclass,
                "basis": basis,
            }
        )
    ranked.sort(key=lambda p: (-float(p["score"]), str(p["id"])))  # type: ignore[arg-type]
    areas = [p for p in ranked if p["kind"] == "area"][:limit]
    facilities = [p for p in ranked if p["kind"] != "area"][:limit]
    keep = {id(p) for p in areas + facilities}
    return [p for p in ranked if id(p) in keep]
