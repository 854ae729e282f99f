"""Recommended measures, in words a safety officer can act on, for the venue's own layout.

Each measure names the venue's real gates, exits and zones, and where it
helps, a predicted clock time (venue local time) or minutes at safe rates:
stop ingress at a gate, open an exit, redirect a zone to another, a staged
evacuation order, and the public-address message to read out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from citywatch.detect.crowd.config import CrowdConfig
from citywatch.detect.crowd.forecast import los, venue_egress_min, zone_egress_min
from citywatch.ingest.venue import Gate, Venue, Zone


@dataclass(frozen=True)
class Picture:
    """The venue at the end of one interval: what the measures are worked out from."""

    venue: Venue
    at: float
    people: dict[str, float]
    density: dict[str, float]
    ttc: dict[str, float | None]
    flows: dict[str, float]
    """People per minute through each gate (in + out)."""
    cfg: CrowdConfig

    def clock(self, minutes: float) -> str:
        """The venue's local clock time ``minutes`` from now, ``HH:MM``."""
        offset = timedelta(minutes=self.venue.utc_offset_min)
        return (
            datetime.fromtimestamp(self.at, UTC) + offset + timedelta(minutes=minutes)
        ).strftime("%H:%M")

    def critical(self, zone: Zone) -> float:
        """The critical density of a zone: standing/seated or moving crowd."""
        if zone.kind in ("standing", "seated"):
            return self.cfg.critical_standing
        return self.cfg.critical_moving


def names(items: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``.

    >>> names(["Gate 1", "Gate 2", "Exit A"])
    'Gate 1, Gate 2 and Exit A'
    """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _exits(venue: Venue, zone: str, without: str = "") -> list[Gate]:
    return [g for g in venue.gates_of(zone) if g.exits and g.zones[0] == zone and g.id != without]


def _stands_into(venue: Venue, zone: str) -> list[Zone]:
    return [
        venue.zone(o)
        for _, o in venue.links_of(zone)
        if venue.zone(o).kind in ("standing", "seated")
    ]


def _concourse_of(venue: Venue, stand: str) -> Zone | None:
    for _, other in venue.links_of(stand):
        if venue.zone(other).kind == "concourse":
            return venue.zone(other)
    return None


def zone_measures(p: Picture, zone_id: str) -> list[str]:
    """A zone approaching or at critical density."""
    venue, zone = p.venue, p.venue.zone(zone_id)
    d, crit, ttc = p.density[zone_id], p.critical(zone), p.ttc.get(zone_id)
    out: list[str] = []
    if d >= crit:
        out.append(
            f"Critical density in the {zone.name} now ({d:.1f} p/m², LOS F): stewards and medical "
            f"teams to the {zone.name} at once; stop all movement towards it."
        )
    elif ttc is not None:
        out.append(
            f"The {zone.name} ({d:.1f} p/m², LOS {los(d)}) reaches the critical {crit:.0f} p/m² "
            f"at about {p.clock(ttc)} (in {ttc:.0f} min) at the present rate: act before then."
        )
    if not zone.inside:
        entries = [g for g in venue.gates if g.zones[-1] == zone_id and g.direction != "exit"]
        others = [z for z in venue.zones if z.kind == "plaza" and z.id != zone_id]
        if others:
            alt = min(others, key=lambda z: p.density.get(z.id, 0.0))
            alt_gates = [
                g.name for g in venue.gates if g.zones[-1] == alt.id and g.direction != "exit"
            ]
            out.append(
                f"Stop further arrivals into the {zone.name}: close its approaches and send "
                f"arriving fans round to the {alt.name} ({names(alt_gates)})."
            )
        stopped = [g for g in entries if p.flows.get(g.id, 0.0) < 1]
        if stopped:
            verb = "admits" if len(stopped) == 1 else "admit"
            out.append(
                f"{names([g.name for g in stopped])} {verb} no one: open every lane there and send "
                "stewards to check the turnstiles and scanners."
            )
        if entries:
            now = [f"{g.name} {p.flows.get(g.id, 0.0):.0f}" for g in entries]
            out.append(f"Entry from the {zone.name} now, people/min: {', '.join(now)}.")
        spare = [g for g in venue.gates if g.zones[-1] == zone_id and g.direction == "exit"]
        if spare:
            out.append(
                f"Open {names([g.name for g in spare])} for entry under steward control to relieve "
                f"the queue (about {sum(g.width_m for g in spare) * 25:.0f} more people/min)."
            )
        out.append(
            f'PA in the {zone.name}: "Please do not push. More entrances are being opened; '
            'stewards will guide you. Please step back and wait for their directions."'
        )
        return out
    entries = [g for g in venue.gates if g.zones[0] == zone_id and g.direction != "exit"]
    if entries:
        out.append(
            f"Stop ingress at {names([g.name for g in entries])} until the {zone.name} clears."
        )
    neighbours = [
        venue.zone(o) for _, o in venue.links_of(zone_id) if venue.zone(o).kind == "concourse"
    ]
    if neighbours:
        best = min(neighbours, key=lambda z: p.density.get(z.id, 0.0))
        out.append(
            f"Redirect people from the {zone.name} to the {best.name} "
            f"({p.density.get(best.id, 0.0):.1f} p/m² there now)."
        )
    egress = zone_egress_min(venue, zone_id, p.people[zone_id])
    exits = _exits(venue, zone_id)
    if exits and egress is not None:
        out.append(
            f"Open {names([g.name for g in exits])} in full: the {zone.name} then empties in "
            f"{egress:.0f} min at safe rates."
        )
    stands = _stands_into(venue, zone_id)
    if stands and zone.kind == "concourse":
        out.append(
            f"Hold the {names([s.name for s in stands])} in place with a PA call until the "
            f"{zone.name} is below {p.cfg.warn_density:.1f} p/m²."
        )
    out.append(
        f'PA in the {zone.name}: "Please keep moving slowly towards the open exits and follow '
        'the stewards. Do not stop on the stairs or in the gangways."'
    )
    return out


def blocked_measures(p: Picture, gate_id: str) -> list[str]:
    """A gate that stopped passing people while its zone fills."""
    venue, gate = p.venue, p.venue.gate(gate_id)
    zone = venue.zone(gate.zones[0])
    others = _exits(venue, zone.id, without=gate_id)
    out = [
        f"{gate.name} has stopped passing people while the {zone.name} fills: send stewards "
        f"to open or clear {gate.name} now."
    ]
    if others:
        out.append(
            f"Redirect the {zone.name} to {names([g.name for g in others])} "
            f"({sum(g.safe_per_min for g in others):.0f} people/min at safe rates)."
        )
    without = zone_egress_min(venue, zone.id, p.people[zone.id], without=gate.name)
    stands = _stands_into(venue, zone.id)
    crowd = p.people[zone.id] + sum(p.people.get(s.id, 0.0) for s in stands)
    whole = zone_egress_min(venue, zone.id, crowd, without=gate.name)
    if without is not None and whole is not None:
        norm = p.cfg.egress_norm_min
        verdict = "within" if whole <= norm else "beyond"
        out.append(
            f"Without {gate.name} the {zone.name} and the stands above it empty in {whole:.0f} "
            f"min at safe rates, {verdict} the {norm:.0f}-minute norm (clear at about "
            f"{p.clock(whole)})."
        )
        if whole > norm and stands:
            out.append(
                f"Ask the {names([s.name for s in stands])} to stay in place (PA) until "
                f"{gate.name} is open again."
            )
    ring = [venue.zone(o) for _, o in venue.links_of(zone.id) if venue.zone(o).kind == "concourse"]
    ring = [z for z in ring if _exits(venue, z.id)]
    if ring:
        neighbour = min(ring, key=lambda z: p.density.get(z.id, 0.0))
        exits = _exits(venue, neighbour.id)
        out.append(
            f"If {gate.name} stays shut, send part of the {zone.name} along to the "
            f"{neighbour.name} ({p.density.get(neighbour.id, 0.0):.1f} p/m² now) and out by "
            f"{names([g.name for g in exits])}."
        )
    instead = names([g.name for g in others]) or "the other exits"
    out.append(
        f'PA in the {zone.name}: "{gate.name} is closed. Please use {instead}; the stewards '
        'will show you the way."'
    )
    return out


def flow_measures(p: Picture, gate_id: str) -> list[str]:
    """A gate passing more than its safe rate."""
    venue, gate = p.venue, p.venue.gate(gate_id)
    rate = p.flows.get(gate_id, 0.0) / gate.width_m
    alts = [g.name for g in venue.gates if g.id != gate_id and set(g.zones) & set(gate.zones)]
    return [
        f"{gate.name} passes {rate:.0f} people per metre per minute, above the safe "
        f"{gate.safe_per_min / gate.width_m:.0f}: hold the crowd back at the approach to "
        f"{gate.safe_per_min:.0f} people/min.",
        f"Open {names(alts)} to share the flow." if alts else "Open every other way out.",
    ]


def exodus_measures(p: Picture) -> list[str]:
    """A sudden exodus: open every exit, stop ingress, a staged evacuation order with times."""
    venue = p.venue
    exits = [g for g in venue.gates if g.exits and venue.zone(g.zones[0]).inside]
    entries = [g for g in venue.gates if g.direction != "exit"]
    out = [
        f"Open every exit now: {names([g.name for g in exits])}.",
        f"Stop all ingress at {names([g.name for g in entries])} and keep the forecourts clear "
        "for the people coming out.",
    ]
    stands = [z for z in venue.zones if z.kind in ("standing", "seated")]
    timed = []
    for stand in stands:
        minutes = zone_egress_min(venue, stand.id, p.people.get(stand.id, 0.0))
        concourse = _concourse_of(venue, stand.id)
        timed.append((minutes or 0.0, stand, concourse))
    timed.sort(key=lambda x: -x[0])
    out.append("Staged evacuation, the stands with the longest way out first:")
    pa_lines = []
    for i, (minutes, stand, concourse) in enumerate(timed, 1):
        route = [g.name for g in _exits(venue, concourse.id)] if concourse else []
        out.append(
            f"Evacuation order {i}: {stand.name} ({p.people.get(stand.id, 0.0):.0f} people) down "
            f"to the {concourse.name if concourse else 'concourse'} and out by {names(route)}: "
            f"about {minutes:.0f} min, clear by {p.clock(minutes)}."
        )
        pa_lines.append(f"{stand.name}: {names(route)}.")
    whole = venue_egress_min(venue, p.people)
    if whole is not None:
        norm = p.cfg.egress_norm_min
        out.append(
            f"Whole venue: about {whole:.0f} min to empty at safe rates (clear by "
            f"{p.clock(whole)}), {'within' if whole <= norm else 'beyond'} the {norm:.0f}-minute "
            "norm."
        )
    out.append(
        'PA, all zones: "Attention please, this is a safety announcement. Please leave the '
        f"{venue.name} calmly by your nearest exit. {' '.join(pa_lines)} Follow the stewards' "
        'directions and do not run."'
    )
    return out
