"""One quake's solution from its triggers: the call into :mod:`.locate`, with the city listening."""

from __future__ import annotations

import numpy as np

from citywatch.detect.quake.intensity import Item
from citywatch.detect.quake.locate import Listening, locate
from citywatch.detect.quake.state import Quake, QuakeConfig, Trigger


def listening(items: list[Item], triggers: list[Trigger], cfg: QuakeConfig) -> Listening | None:
    """The populated cells as listeners: their expected active phones and trigger counts."""
    areas = [i for i in items if i.kind == "area" and i.population > 0]
    if not areas or cfg.phones_per_resident == 0:
        return None
    counts: dict[str, int] = {}
    for t in triggers:
        counts[t.cell] = counts.get(t.cell, 0) + 1
    return Listening(
        lat=np.array([a.lat for a in areas]),
        lon=np.array([a.lon for a in areas]),
        phones=np.array([a.population * cfg.phones_per_resident for a in areas]),
        triggered=np.array([float(counts.get(a.cells[0], 0)) for a in areas]),
        now=max(t.ts for t in triggers),
        threshold_g=cfg.trigger_threshold_g,
    )


def solve(quake: Quake, items: list[Item], cfg: QuakeConfig) -> None:
    """Locate the quake and size it from its triggers (when they have grown since the last time)."""
    if quake.fitted == len(quake.triggers):
        return
    trig = quake.triggers
    fit = locate(
        np.array([t.lat for t in trig]),
        np.array([t.lon for t in trig]),
        np.array([t.ts for t in trig]),
        np.array([t.pga_g for t in trig]),
        vp_km_s=cfg.vp_km_s,
        span_km=cfg.search_km,
        listening=listening(items, trig, cfg),
    )
    quake.lat, quake.lon, quake.depth_km, quake.origin = fit.lat, fit.lon, fit.depth_km, fit.origin
    quake.magnitude, quake.magnitude_error = fit.magnitude, fit.magnitude_error
    quake.location_error_km = fit.error_km
    quake.fitted = len(trig)
