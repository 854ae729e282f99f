"""Earthquakes from connected citizens: phone triggers, felt reports and the city's exposure.

Detection follows MyShake's server side: triggers are clustered in space and
time, and a cluster is an earthquake only if it is wide and its trigger
times fit a P wave spreading from one hypocentre. Everyday shaking, a few
faulty or forged phones and a crowd jumping in the arena do not make one:
each device counts once, each 1 km cell at most ``cell_cap`` times (a dozen
forged triggers in one street, or a stadium of phones, weigh like two), the
cluster must span ``min_extent_km`` and its arrivals must fit within
``max_residual_s`` on average.

Once fired, later triggers and felt reports join the quake; its location,
origin time and magnitude (:mod:`.locate`: P arrivals, amplitudes, and the
populated cells that have not triggered yet) are updated as evidence doubles,
and each version carries the intensity map and the ranked impact list
(:mod:`.intensity`) in ``attributes.quake`` (FORMATS.md). A quake that
follows an earlier one within ``aftershock_s`` and ``aftershock_km`` is an
aftershock: a detection of its own with the main shock's ``entity["quake.id"]``,
so a correlator joining on ``quake.id`` keeps the sequence one incident.

The whole city is one state (key ``city``): a quake spans every district,
and the exposure (areas with postcodes, facilities) lives there too.
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

import msgspec
import numpy as np
from pydantic import BaseModel

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.quake.cells import distance_km, h3_cell, utm_cell, utm_cell_centre
from citywatch.detect.quake.intensity import Item, Report, cells, cells_of, priorities
from citywatch.detect.quake.locate import locate
from citywatch.detect.quake.relations import CWS_WEIGHTS, ipe
from citywatch.detect.quake.solve import solve
from citywatch.detect.quake.state import MainShock, Quake, QuakeConfig, QuakeState, Trigger
from citywatch.model import Detection, Event, Exposure, FeltReport, GeoPoint, SensorTrigger
from citywatch.model.timeutil import from_epoch

KEY = "city"
_MEASURES = [
    "Send inspection teams to the top-ranked facilities and cells first",
    "Check hospitals, care homes and bridges for damage before reopening them",
    "Advise residents: drop, cover and hold on during aftershocks; stay out of damaged buildings",
]


class QuakeDetector(Detector[QuakeState]):
    """Earthquakes from phone triggers; intensity map and priorities from felt reports."""

    name: ClassVar[str] = "quake"
    description: ClassVar[str] = "earthquakes from phone triggers, felt reports and exposure"
    config_model: ClassVar[type[BaseModel]] = QuakeConfig
    state_type: ClassVar[type[msgspec.Struct]] = QuakeState
    datasets: ClassVar[frozenset[str]] = frozenset(
        {"quake.trigger", "quake.felt", "quake.exposure"}
    )

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, QuakeConfig)
        self.cfg: QuakeConfig = self.config

    def keys(self, event: Event) -> tuple[str, ...]:
        return (KEY,)

    def new_state(self, key: str) -> QuakeState:
        return QuakeState()

    def update(self, key: str, state: QuakeState, event: Event, out: list[Detection]) -> None:
        payload = event.payload
        if isinstance(payload, SensorTrigger) and event.geo is not None:
            self._trigger(state, event, payload, out)
        elif isinstance(payload, FeltReport):
            self._report(state, event, payload, out)
        elif isinstance(payload, Exposure) and event.geo is not None:
            item = Item(
                cells=cells_of(event.geo.lat, event.geo.lon),
                kind=payload.kind,
                id=payload.item_id,
                name=payload.name,
                lat=event.geo.lat,
                lon=event.geo.lon,
                population=payload.population,
                vulnerability=payload.vulnerability,
                postcode=payload.postcode,
            )
            state.items = [i for i in state.items if i.id != item.id] + [item]
            if item.postcode is not None:
                state.postcodes[item.postcode] = (item.lat, item.lon)

    def _trigger(
        self, state: QuakeState, event: Event, payload: SensorTrigger, out: list[Detection]
    ) -> None:
        geo = event.geo
        assert geo is not None
        ts = event.timestamp
        trig = Trigger(
            event.id,
            ts,
            geo.lat,
            geo.lon,
            payload.pga_g,
            event.device_id,
            utm_cell(geo.lat, geo.lon, 1),
        )
        for quake in reversed(state.quakes):
            if 0 <= ts - quake.origin <= self.cfg.associate_s and (
                distance_km(geo.lat, geo.lon, quake.lat, quake.lon) <= self.cfg.associate_km
            ):
                quake.triggers.append(trig)
                if quake.episode.add(event.id, ts):
                    out.append(self._emit(state, quake))
                return
        cut = ts - self.cfg.window_s
        state.recent = [t for t in state.recent if t.ts >= cut]
        state.recent.append(trig)
        self._cluster(state, ts, out)

    def _candidates(self, recent: list[Trigger]) -> list[Trigger]:
        """The recent triggers that count: each device once, each 1 km cell at most ``cell_cap``."""
        devices: set[str] = set()
        per_cell: dict[str, int] = {}
        chosen: list[Trigger] = []
        for t in recent:
            if t.device is not None:
                if t.device in devices:
                    continue
                devices.add(t.device)
            n = per_cell.get(t.cell, 0)
            if n < self.cfg.cell_cap:
                per_cell[t.cell] = n + 1
                chosen.append(t)
        return chosen

    def _cluster(self, state: QuakeState, ts: float, out: list[Detection]) -> None:
        cfg = self.cfg
        cand = self._candidates(state.recent)
        if len(cand) < cfg.min_triggers:
            return
        lats = [t.lat for t in cand]
        lons = [t.lon for t in cand]
        extent = distance_km(min(lats), min(lons), max(lats), max(lons))
        if extent < cfg.min_extent_km:
            return
        fit = locate(
            np.array(lats),
            np.array(lons),
            np.array([t.ts for t in cand]),
            np.array([t.pga_g for t in cand]),
            vp_km_s=cfg.vp_km_s,
            span_km=cfg.search_km,
        )
        if len(fit.used) < cfg.min_triggers or fit.residual_s > cfg.max_residual_s:
            return
        qid = detection_id(self.name, "quake", KEY, ts)
        main_id = qid
        earlier = [(m.id, m.origin, m.lat, m.lon) for m in state.mains]
        earlier += [(q.main_id, q.origin, q.lat, q.lon) for q in state.quakes]
        for eid, origin, lat, lon in earlier:
            close = distance_km(fit.lat, fit.lon, lat, lon) <= cfg.aftershock_km
            if close and 0 < fit.origin - origin <= cfg.aftershock_s:
                main_id = eid
                break
        quake = Quake(
            id=qid,
            main_id=main_id,
            episode=Episode(
                id=qid, fired=ts, first=min(t.ts for t in state.recent), last=ts, evidence=[]
            ),
            triggers=list(state.recent),
            lat=fit.lat,
            lon=fit.lon,
            origin=fit.origin,
        )
        quake.episode.evidence = [t.id for t in state.recent]
        state.recent = []
        state.quakes.append(quake)
        out.append(self._emit(state, quake))

    def _report(
        self, state: QuakeState, event: Event, payload: FeltReport, out: list[Detection]
    ) -> None:
        ts = event.timestamp
        quake = next(
            (
                q
                for q in reversed(state.quakes)
                if q.origin <= ts <= q.origin + self.cfg.report_window_s
            ),
            None,
        )
        if quake is None:
            return
        if event.geo is not None:
            place: tuple[float, float] | None = (event.geo.lat, event.geo.lon)
        else:
            place = state.postcodes.get(payload.postcode or "")
        if place is None:
            quake.unlocated += 1
            return
        answers = {name: getattr(payload, name) for name in CWS_WEIGHTS}
        quake.reports.append(
            Report(
                id=event.id,
                lat=place[0],
                lon=place[1],
                cells=cells_of(*place),
                answers=answers,
            )
        )
        if quake.episode.add(event.id, ts):
            out.append(self._emit(state, quake))

    def expire(self, key: str, state: QuakeState, watermark: float, out: list[Detection]) -> bool:
        cfg = self.cfg
        cut = watermark - cfg.window_s
        state.recent = [t for t in state.recent if t.ts >= cut]
        for quake in list(state.quakes):
            ended = watermark > quake.origin + cfg.report_window_s
            if ended and watermark - quake.episode.last > cfg.gap_s:
                out.append(self._emit(state, quake))
                state.quakes.remove(quake)
                if quake.id == quake.main_id:
                    state.mains.append(
                        MainShock(quake.id, quake.origin, quake.lat, quake.lon, quake.magnitude)
                    )
        state.mains = [m for m in state.mains if watermark - m.origin <= cfg.aftershock_s]
        return not (state.recent or state.quakes or state.mains or state.items)

    def _emit(self, state: QuakeState, quake: Quake) -> Detection:
        solve(quake, state.items, self.cfg)
        solution = (quake.lat, quake.lon, quake.depth_km, quake.magnitude)
        ranked = priorities(
            quake.reports,
            state.items,
            solution,
            min_reports=self.cfg.min_reports,
            limit=self.cfg.priorities,
        )
        layer = cells(quake.reports, state.items, solution)
        strongest = max(
            [float(p["mmi"]) for p in ranked]  # type: ignore[arg-type]
            + [
                float(c["cdi"])  # type: ignore[arg-type]
                for c in layer
                if c["predicted"] or int(c["reports"]) >= self.cfg.min_reports  # type: ignore[call-overload]
            ],
            default=1.0,
        )
        after = quake.id != quake.main_id
        severity = shaking_severity(strongest)
        when = from_epoch(quake.origin).strftime("%H:%M:%S UTC")
        summary = (
            f"{'Aftershock' if after else 'Earthquake'} M{quake.magnitude:.1f} "
            f"(±{quake.magnitude_error:.2f}) at {quake.lat:.3f} N {quake.lon:.3f} E "
            f"(±{quake.location_error_km:.1f} km), depth {quake.depth_km:.0f} km, {when}; "
            f"strongest shaking MMI {strongest:.1f}; {len(quake.triggers)} phone triggers, "
            f"{len(quake.reports)} felt reports"
        )
        if ranked:
            summary += f"; first priority: {ranked[0]['name'] or ranked[0]['id']}"
        detection = self.detection(
            quake.episode,
            rule_id="quake.aftershock" if after else "quake.detected",
            rule_name="Earthquake aftershock" if after else "Earthquake",
            severity=severity,
            confidence=min(0.99, 1 - math.exp(-len(quake.triggers) / 15)),
            category="public_safety",
            summary=summary,
            entity={"quake.id": quake.main_id},
            tags=["quake", "public_safety.earthquake"],
            attributes={
                "quake": {
                    "origin_time": from_epoch(quake.origin).isoformat(),
                    "lat": round(quake.lat, 4),
                    "lon": round(quake.lon, 4),
                    "depth_km": quake.depth_km,
                    "magnitude": round(quake.magnitude, 2),
                    "location_error_km": round(quake.location_error_km, 2),
                    "magnitude_error": round(quake.magnitude_error, 2),
                    "triggers": len(quake.triggers),
                    "reports": len(quake.reports),
                    "unlocated_reports": quake.unlocated,
                    "cells": layer,
                    "priorities": ranked,
                    "circle": felt_circle(quake, layer, self.cfg.min_reports),
                    # people where the shaking is felt by nearly all (MMI V+), among the areas
                    # ranked: what the incident's exposure counts
                    "people": sum(
                        int(p.get("population") or 0)  # type: ignore[call-overload]
                        for p in ranked
                        if p.get("kind") == "area" and float(p.get("mmi") or 0) >= FELT_BY_ALL  # type: ignore[arg-type]
                    ),
                    "measures": _MEASURES,
                }
            },
        )
        return msgspec.structs.replace(
            detection, geo=GeoPoint(lat=quake.lat, lon=quake.lon, h3=h3_cell(quake.lat, quake.lon))
        )


def felt_circle(quake: Quake, layer: list[dict[str, object]], min_reports: int) -> dict[str, float]:
    """The area a public warning covers: a circle round the epicentre out to where the shaking
    is felt by nearly all (MMI V), by the intensity relation or by the reports of a cell (with
    ``min_reports`` at least: one odd report far away does not widen it) that felt it farther,
    widened by the location's uncertainty."""
    reach = felt_distance_km(quake.magnitude, quake.depth_km)
    for cell in layer:
        grid = next((g for g in ("utm_1km", "utm_10km") if g in cell), None)
        if grid is None or cell["predicted"] or float(cell["cdi"]) < FELT_BY_ALL:  # type: ignore[arg-type]
            continue
        if int(cell["reports"]) < min_reports:  # type: ignore[call-overload]
            continue
        lat, lon = utm_cell_centre(str(cell[grid]), 1 if grid == "utm_1km" else 10)
        reach = max(reach, distance_km(lat, lon, quake.lat, quake.lon))
    return {
        "lat": round(quake.lat, 4),
        "lon": round(quake.lon, 4),
        "radius_km": round(reach + quake.location_error_km, 1),
    }


def felt_distance_km(magnitude: float, depth_km: float) -> float:
    """How far from the epicentre the intensity relation still gives MMI V (0 if nowhere).

    >>> round(felt_distance_km(4.8, 10.0)), felt_distance_km(2.0, 10.0)
    (21, 0.0)
    """
    if ipe(magnitude, depth_km) < FELT_BY_ALL:
        return 0.0
    low, high = 0.0, 1000.0
    for _ in range(40):  # bisection: the relation falls with distance
        mid = (low + high) / 2
        if ipe(magnitude, math.hypot(mid, depth_km)) >= FELT_BY_ALL:
            low = mid
        else:
            high = mid
    return low


FELT_BY_ALL: Final = 5.0
"""MMI V: felt by nearly everyone, some dishes and windows broken (where people count)."""


def shaking_severity(mmi: float) -> int:
    """An incident severity (1-100) for the strongest shaking in the city, on the scale the
    other silos use: felt by all with slight damage (MMI VI) ranks with a crowd emergency,
    damage (VII and up) above everything.

    >>> [shaking_severity(m) for m in (2.0, 4.0, 5.0, 6.0, 7.0, 8.5)]
    [5, 45, 65, 85, 100, 100]
    """
    return max(1, min(100, round(20 * mmi - 35)))
