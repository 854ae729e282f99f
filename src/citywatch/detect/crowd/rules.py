"""The crowd rules over one closed interval: which zones, gates or the venue fire, and why.

Each rule returns ``{"rule|subject": Detail}`` for what holds in this
interval; the detector turns them into episodes. Subjects are a zone id,
``gate:<id>`` or ``venue``.
"""

from __future__ import annotations

import math

from citywatch.detect.crowd.forecast import los, venue_egress_min, zone_egress_min
from citywatch.detect.crowd.measures import (
    Picture,
    blocked_measures,
    exodus_measures,
    flow_measures,
    zone_measures,
)
from citywatch.detect.crowd.state import CrowdState, Detail

STANDS = ("standing", "seated")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def zone_rules(p: Picture, errors: dict[str, float], slopes: dict[str, float]) -> dict[str, Detail]:
    """Crush risk (critical density) and surge (trend reaching critical soon) per zone."""
    fired: dict[str, Detail] = {}
    for zone_id, d in p.density.items():
        zone = p.venue.zone(zone_id)
        err, ttc = errors[zone_id], p.ttc.get(zone_id)
        band = [round(d * max(0.0, 1 - 2 * err), 2), round(d * (1 + 2 * err), 2)]
        figures: dict[str, str | float | list[float] | None] = {
            "zone": zone_id,
            "density_ppm2": round(d, 2),
            "density_band": band,
            "los": los(d),
            "time_to_critical_min": _round(ttc),
            "egress_min": _round(zone_egress_min(p.venue, zone_id, p.people[zone_id])),
            "people": round(p.people[zone_id]),
        }
        if d >= p.critical(zone):
            summary = f"{zone.name}: critical density {d:.1f} p/m² ({band[0]}–{band[1]})"
            rule = "crowd.crush-risk"
        elif (
            d >= p.cfg.warn_density and (ttc if ttc is not None else math.inf) <= p.cfg.warn_minutes
        ):
            summary = (
                f"{zone.name}: {d:.1f} p/m² (LOS {los(d)}), rising {slopes[zone_id]:.2f} p/m² a "
                f"minute; critical in about {ttc:.0f} min"
            )
            rule = "crowd.surge"
        else:
            continue
        fired[f"{rule}|{zone_id}"] = Detail(
            summary=summary, figures=figures, measures=zone_measures(p, zone_id), weight=d
        )
    return fired


def gate_rules(p: Picture, state: CrowdState) -> dict[str, Detail]:
    """Crush risk (flow beyond the safe rate) and blocked exits (flow stops while filling)."""
    fired: dict[str, Detail] = {}
    for gate_id, flow in p.flows.items():
        gate = p.venue.gate(gate_id)
        inner = p.venue.zone(gate.zones[0])
        rate = flow / gate.width_m
        figures: dict[str, str | float | list[float] | None] = {
            "gate": gate_id,
            "zone": inner.id,
            "flow_ppmm": round(rate, 1),
            "egress_min": _round(zone_egress_min(p.venue, inner.id, p.people.get(inner.id, 0.0))),
        }
        if flow > gate.safe_per_min * p.cfg.flow_margin:
            fired[f"crowd.crush-risk|gate:{gate_id}"] = Detail(
                summary=f"{gate.name}: {rate:.0f} people per metre per minute, above the safe "
                f"{gate.safe_per_min / gate.width_m:.0f}",
                figures=figures,
                measures=flow_measures(p, gate_id),
                weight=rate,
            )
        track, zone_track = state.gates[gate_id], state.zones.get(inner.id)
        ins, outs = track.a[-4:-1], track.b[-4:-1]
        was = sum(ins) + sum(outs)
        was = was / len(ins) if ins else 0.0
        filling = (  # counted this interval: else its track's last figures are old news
            inner.id in p.people
            and zone_track is not None
            and len(zone_track.a) >= 2
            and zone_track.a[-1] > zone_track.a[-2]
        )
        if len(ins) == 3 and was / gate.width_m >= p.cfg.blocked_flow and flow < 1 and filling:
            fired[f"crowd.blocked-exit|gate:{gate_id}"] = Detail(
                summary=f"{gate.name} stopped passing people ({was:.0f} a minute before) while the "
                f"{inner.name} fills",
                figures=figures,
                measures=blocked_measures(p, gate_id),
            )
    return fired


def exodus_rule(p: Picture, state: CrowdState) -> dict[str, Detail]:
    """A sudden exodus: the stands emptying with the exits flowing out, before the planned end."""
    venue, cfg, start = p.venue, p.cfg, state.session_start
    if start is None or p.at >= start + cfg.event_minutes * 60:
        return {}
    tracks = [state.zones.get(z.id) for z in venue.zones if z.kind in STANDS]
    if not tracks or any(t is None or len(t.a) < 3 for t in tracks):
        return {}
    totals = [sum(t.a[-k] for t in tracks if t is not None) for k in (3, 2, 1)]
    before, now = max(totals[:2]), totals[2]
    exits = [g for g in venue.gates if g.exits and g.id in state.gates]
    width = sum(g.width_m for g in exits)
    outflow = sum(state.gates[g.id].b[-1] for g in exits) / width if width else 0.0
    drop = (before - now) / before if before > 0 else 0.0
    if drop < cfg.exodus_drop or outflow < cfg.exodus_outflow:
        return {}
    return {
        "crowd.exodus|venue": Detail(
            summary=f"Sudden exodus from {venue.name}: the stands lost {drop:.0%} in two "
            f"intervals, {outflow:.0f} p/m/min through the exits",
            figures={
                "flow_ppmm": round(outflow, 1),
                "egress_min": _round(venue_egress_min(venue, p.people)),
                "people": round(before),  # in the stands as the exodus began
            },
            measures=exodus_measures(p),
        )
    }
