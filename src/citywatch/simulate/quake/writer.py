"""The earthquake silo of the demo city: phone triggers, felt reports, exposure, ground truth.

Over the simulated span: everyday triggers from every phone; the crowd in
the arena jumping at kick-off, at two goals and in the rush after the
stadium alarm; a forger's dozen triggers from one street; and the demo's
earthquake (``schedule.QUAKE_*``) at ``QUAKE_ORIGIN``, with the felt reports
that follow. ``quake-truth.json`` holds the quake and the true intensity
(the IPE's, without scatter) of each 1 km cell that has reports.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import msgspec
import numpy as np

from citywatch.detect.quake.cells import utm_cell, utm_cell_centre
from citywatch.detect.quake.relations import ipe
from citywatch.simulate import schedule
from citywatch.simulate.city import City
from citywatch.simulate.manifest import ManifestFile, Phase, Situation
from citywatch.simulate.quake.exposure import exposure_features
from citywatch.simulate.quake.physics import (
    Quake,
    crowd_triggers,
    epicentral_km,
    felt_reports,
    forged_triggers,
    noise_triggers,
    place_phones,
    quake_triggers,
)
from citywatch.simulate.rand import substream
from citywatch.simulate.writers import Clock

TRIGGERS: Final = "phone-triggers.jsonl"
REPORTS: Final = "felt-reports.jsonl"
EXPOSURE: Final = "exposure.geojsonl"
TRUTH: Final = "quake-truth.json"
FORGED_AT: Final = 0.30
"""When the forger sends a dozen triggers from one street (fraction of the span)."""
_encode = msgspec.json.Encoder().encode


def _lines(path: Path, records: list[dict[str, object]]) -> None:
    path.write_bytes(b"".join(_encode(r) + b"\n" for r in records))


def true_cells(quake: Quake, reports: list[dict[str, object]]) -> dict[str, float]:
    """The IPE intensity at the centre of every 1 km cell holding a located report."""
    truth: dict[str, float] = {}
    for rec in reports:
        if "lat" in rec:
            cell = utm_cell(float(rec["lat"]), float(rec["lon"]), 1)  # type: ignore[arg-type]
            if cell not in truth:
                lat, lon = utm_cell_centre(cell, 1)
                r = float(epicentral_km(np.array([lat]), np.array([lon]), quake.lat, quake.lon)[0])
                truth[cell] = round(ipe(quake.magnitude, math.hypot(r, quake.depth_km)), 2)
    return truth


def write_quake(
    city: City, seed: int, out: Path, start_ms: int, span_ms: int, clock: Clock
) -> tuple[list[ManifestFile], list[Situation]]:
    """Write the silo's inputs into ``out``; the manifest entries and the ground-truth situation."""
    rng = np.random.default_rng(substream(seed, "quake").getrandbits(64))
    start, end = start_ms / 1000, (start_ms + span_ms) / 1000
    phones = place_phones(city, rng)
    quake = Quake(
        id="quake-demo",
        origin=schedule.at(start_ms, span_ms, schedule.QUAKE_ORIGIN) / 1000,
        lat=schedule.QUAKE_LAT,
        lon=schedule.QUAKE_LON,
        depth_km=schedule.QUAKE_DEPTH_KM,
        magnitude=schedule.QUAKE_MAGNITUDE,
    )
    kickoff = schedule.at(start_ms, span_ms, schedule.MATCH_KICKOFF) / 1000
    alarm = schedule.at(start_ms, span_ms, schedule.stadium_alarm(span_ms)) / 1000
    arena = (schedule.ARENA_LAT, schedule.ARENA_LON)
    street = city.districts[3].centroid
    shocks = quake_triggers(quake, phones, rng)
    triggers = noise_triggers(phones, rng, start, end, per_phone_day=3.0)
    for tag, t0 in (("kickoff", kickoff), ("goal1", kickoff + 1200), ("goal2", kickoff + 3900)):
        triggers += crowd_triggers(rng, t0, *arena, n=60, span_s=20.0, tag=tag)
    triggers += crowd_triggers(rng, alarm, *arena, n=120, span_s=90.0, tag="alarm")
    triggers += forged_triggers(
        rng, start + span_ms / 1000 * FORGED_AT, *street, n=12, tag="forged"
    )
    triggers += shocks
    triggers.sort(key=lambda r: float(r["time"]))  # type: ignore[arg-type]
    reports = [r for r in felt_reports(quake, city, rng) if float(r["time"]) < end]  # type: ignore[arg-type]
    _lines(out / TRIGGERS, triggers)
    _lines(out / REPORTS, reports)
    _lines(out / EXPOSURE, exposure_features(city, rng))
    truth = {
        "quake": {
            "id": quake.id,
            "origin": quake.origin,
            "lat": quake.lat,
            "lon": quake.lon,
            "depth_km": quake.depth_km,
            "magnitude": quake.magnitude,
        },
        "triggers": len(shocks),
        "cells_utm_1km": true_cells(quake, reports),
    }
    (out / TRUTH).write_bytes(msgspec.json.format(_encode(truth), indent=2) + b"\n")
    last = float(reports[-1]["time"]) if reports else float(shocks[-1]["time"])  # type: ignore[arg-type]
    first_ms, last_ms = int(quake.origin * 1000), int(last * 1000)
    situation = Situation(
        id=schedule.SITUATION_QUAKE,
        title=f"M{quake.magnitude:.1f} earthquake near {city.name}",
        silo="quake",
        start=clock.iso(first_ms),
        end=clock.iso(last_ms),
        entities={"quake.epicentre": [f"{quake.lat:.4f},{quake.lon:.4f}"]},
        techniques=["earthquake"],
        records=len(shocks) + len(reports),
        phases=[
            Phase(
                technique="phone-triggers",
                actor="earthquake",
                start=clock.iso(first_ms),
                end=clock.iso(int(float(shocks[-1]["time"]) * 1000)),  # type: ignore[arg-type]
                records=len(shocks),
                source_ips=[],
            ),
            Phase(
                technique="felt-reports",
                actor="residents",
                start=clock.iso(first_ms),
                end=clock.iso(last_ms),
                records=len(reports),
                source_ips=[],
            ),
        ],
    )
    inputs = [
        ManifestFile("exposure", EXPOSURE),
        ManifestFile("phone-triggers", TRIGGERS),
        ManifestFile("felt-reports", REPORTS),
    ]
    return inputs, [situation]
