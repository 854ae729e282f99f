"""A match day at Aldmere Arena as a flow model: true people per zone and through each gate.

Each stand's crowd is one cohort on a fixed route: forecourt → its entry
gates → its concourse → up the vomitories into the stand, and back out the
same way through every exit of its concourse. The model steps every 10 s;
every flow is capped by what the way can pass: turnstiles admit
:data:`ENTRY_PPMM` persons per metre per minute, stairs and level ways pass
at most the Green Guide rates (66 and 82 p/m/min), so queues build where
demand is higher, as they do. What happens:

- arrivals: 93 % of the seats, spread around 40 minutes before kick-off
  (gates open two hours before), a short dwell on the concourse;
- half-time (45'–60'): a quarter of each stand go down to the concourse and back;
- full time (95'): a trickle of early leavers, then the stands empty;
- scenarios: ``crush`` (the South gates' turnstiles fail 35 minutes before
  kick-off while a delayed train brings 5,500 South Stand fans at once),
  ``blocked-exit`` (Gate 3 is shut a minute into the egress) and
  ``evacuation`` (an alarm: everyone leaves at once by every exit).

>>> day = MatchDay(kickoff_s=0.0, scenario="normal")
>>> minutes = list(day.run(-130 * 60, 150 * 60))
>>> round(max(m.people["north-stand"] for m in minutes), -1)  # 93 % of its 7,000 seats
6510.0
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from citywatch.ingest.venue import ARENA_YAML, Venue, load_venue

Scenario = Literal["normal", "crush", "blocked-exit", "evacuation"]
SCENARIOS: Final[tuple[Scenario, ...]] = ("normal", "crush", "blocked-exit", "evacuation")

ENTRY_PPMM: Final = 25.0
"""Turnstile admission, persons per metre of gate width per minute."""
ATTENDANCE: Final = 0.93
HALF_TIME_SHARE: Final = 0.25
FULL_TIME_MIN: Final = 95.0
DT: Final = 10.0
CRUSH_AT_MIN: Final = -35.0
CRUSH_SURGE: Final = 5500.0
BLOCKED_GATE: Final = "g3"
BLOCKED_AT_MIN: Final = FULL_TIME_MIN + 1.0
_STREET_PER_MIN: Final = 3000.0  # what the streets around a forecourt take away

_ROUTES: Final = {  # stand: (forecourt, concourse, entry gates)
    "north-stand": ("north-forecourt", "concourse-n", ("g1", "g2")),
    "west-stand": ("north-forecourt", "concourse-w", ("g6",)),
    "south-stand": ("south-forecourt", "concourse-s", ("g3", "g4")),
    "east-stand": ("south-forecourt", "concourse-e", ("g5",)),
}


@dataclass
class _Cohort:
    stand: str
    forecourt: str
    concourse: str
    entry: tuple[str, ...]
    exits: tuple[str, ...]
    tickets: float
    link_per_min: float
    queue: float = 0.0  # in the forecourt, waiting to get in
    going_in: float = 0.0  # on the concourse, on the way to the stand
    seated: float = 0.0
    on_break: float = 0.0  # on the concourse at half-time
    going_out: float = 0.0  # on the concourse, leaving
    outside: float = 0.0  # in the forecourt, leaving
    arrived: float = 0.0
    break_goal: float = 0.0  # how many go down at half-time


@dataclass(frozen=True)
class Minute:
    """One minute of truth: its start (seconds), people per zone, people in/out per gate."""

    t: float
    people: dict[str, float]
    gates: dict[str, tuple[float, float]]


@dataclass
class MatchDay:
    """The flow model of one match day; times are seconds (any epoch), kick-off at ``kickoff_s``."""

    kickoff_s: float
    scenario: Scenario = "normal"
    alarm_s: float | None = None
    venue: Venue = field(default_factory=lambda: load_venue(ARENA_YAML))

    def __post_init__(self) -> None:
        if self.scenario == "evacuation" and self.alarm_s is None:
            self.alarm_s = self.kickoff_s + 61 * 60
        venue = self.venue
        self.cohorts = []
        for stand, (forecourt, concourse, entry) in _ROUTES.items():
            exits = tuple(g.id for g in venue.gates if g.exits and g.zones[0] == concourse)
            link = sum(lk.safe_per_min for lk, _ in venue.links_of(stand))
            tickets = ATTENDANCE * venue.zone(stand).capacity
            self.cohorts.append(_Cohort(stand, forecourt, concourse, entry, exits, tickets, link))

    def onset_s(self) -> float | None:
        """When the scenario's trouble starts (None for a normal day)."""
        ko = self.kickoff_s
        return {
            "normal": None,
            "crush": ko + CRUSH_AT_MIN * 60,
            "blocked-exit": ko + BLOCKED_AT_MIN * 60,
            "evacuation": self.alarm_s,
        }[self.scenario]

    def run(self, start_s: float, end_s: float) -> Iterator[Minute]:
        """Minute by minute from ``start_s`` (rounded down to a minute) to ``end_s``."""
        t = self.kickoff_s - 130 * 60
        first = max(t, math.floor(start_s / 60) * 60)
        while t < end_s:
            people: dict[str, float] = {z.id: 0.0 for z in self.venue.zones}
            gates: dict[str, list[float]] = {g.id: [0.0, 0.0] for g in self.venue.gates}
            for _ in range(int(60 / DT)):
                self._step(t, gates)
                for c in self.cohorts:
                    people[c.forecourt] += (c.queue + c.outside) / (60 / DT)
                    people[c.concourse] += (c.going_in + c.on_break + c.going_out) / (60 / DT)
                    people[c.stand] += c.seated / (60 / DT)
                t += DT
            if t - 60 >= first:
                yield Minute(t - 60, people, {g: (v[0], v[1]) for g, v in gates.items()})

    def _gate_open(self, gate: str, m: float, entering: bool) -> float:
        """The share of a gate's capacity usable at minute ``m`` after kick-off."""
        if self.scenario == "crush" and entering and CRUSH_AT_MIN <= m < 10:
            return {"g3": 0.0, "g4": 0.2}.get(gate, 1.0)
        if self.scenario == "blocked-exit" and gate == BLOCKED_GATE and m >= BLOCKED_AT_MIN:
            return 0.0
        return 1.0

    def _arrivals(self, c: _Cohort, m: float, dt_min: float) -> float:
        """People of a cohort reaching the forecourt in this step."""
        if m < -120 or m > 20:
            return 0.0
        normal = c.tickets
        if self.scenario == "crush" and c.stand == "south-stand":
            normal -= CRUSH_SURGE
            if -30 <= m < -10:
                return CRUSH_SURGE / 20 * dt_min + normal * _pdf(m) * dt_min
        return normal * _pdf(m) * dt_min

    def _step(self, t: float, gates: dict[str, list[float]]) -> None:
        m = (t - self.kickoff_s) / 60
        dt_min = DT / 60
        alarm = self.alarm_s is not None and t >= self.alarm_s
        for c in self.cohorts:
            if alarm:
                c.outside += c.queue  # those still outside turn away
                c.going_out += c.going_in + c.on_break
                c.queue = c.going_in = c.on_break = 0.0
            else:
                arriving = self._arrivals(c, m, dt_min)
                c.queue += arriving
                c.arrived += arriving
                self._admit(c, m, dt_min, gates)
                self._inside(c, m, dt_min)
            self._leave(c, m, dt_min, gates, alarm)

    def _admit(self, c: _Cohort, m: float, dt_min: float, gates: dict[str, list[float]]) -> None:
        caps = {
            g: self.venue.gate(g).width_m * ENTRY_PPMM * dt_min * self._gate_open(g, m, True)
            for g in c.entry
        }
        total = sum(caps.values())
        admitted = min(total, c.queue * 0.15)  # about a minute across the forecourt
        for g, cap in caps.items():
            if total > 0:
                gates[g][0] += admitted * cap / total
        c.queue -= admitted
        c.going_in += admitted

    def _inside(self, c: _Cohort, m: float, dt_min: float) -> None:
        dwell = 6.0 if m < -10 else 1.5
        if 45 <= m < 60 or m >= FULL_TIME_MIN:
            dwell = math.inf if m >= FULL_TIME_MIN else dwell
        up = min(c.going_in * dt_min / dwell, c.link_per_min * dt_min) if dwell < math.inf else 0.0
        c.going_in -= up
        c.seated += up
        if 45 <= m < 50:  # half-time: down to the concourse over five minutes
            if not c.break_goal:
                c.break_goal = c.seated * HALF_TIME_SHARE
            down = min(c.break_goal * dt_min / 5, c.link_per_min * dt_min)
            c.seated -= down
            c.on_break += down
        elif 55 <= m < 62:
            back = min(c.on_break * dt_min / (62 - m), c.link_per_min * dt_min)
            c.on_break -= back
            c.seated += back
        if FULL_TIME_MIN - 10 <= m < FULL_TIME_MIN:  # early leavers
            early = c.seated * 0.004 * dt_min
            c.seated -= early
            c.going_out += early

    def _leave(
        self, c: _Cohort, m: float, dt_min: float, gates: dict[str, list[float]], alarm: bool
    ) -> None:
        if alarm or m >= FULL_TIME_MIN:
            urge = 1.0 if alarm else 0.22  # share of the stand that wants out each minute
            down = min(
                c.seated * min(1.0, urge * dt_min * (6 if alarm else 1)), c.link_per_min * dt_min
            )
            c.seated -= down
            c.going_out += down
        caps = {
            g: self.venue.gate(g).safe_per_min * dt_min * self._gate_open(g, m, False)
            for g in c.exits
            if alarm or m >= FULL_TIME_MIN or self.venue.gate(g).direction == "both"
        }
        total = sum(caps.values())
        through = min(c.going_out, total)
        for g, cap in caps.items():
            if total > 0:
                gates[g][1] += through * cap / total
        c.going_out -= through
        c.outside += through
        away = min(c.outside * 0.25, _STREET_PER_MIN * dt_min)
        c.outside -= away


def _cdf(m: float) -> float:
    return 0.5 * (1 + math.erf((m + 40) / (28 * math.sqrt(2))))


_ARRIVING = _cdf(20) - _cdf(-120)  # the share of the curve between gates opening and 20'


def _pdf(m: float) -> float:
    """Arrivals per minute as a share of the tickets: a normal curve 40' before kick-off, sd 28',
    cut to the two hours before kick-off and the first 20 minutes (every ticket holder comes)."""
    return math.exp(-0.5 * ((m + 40) / 28) ** 2) / (28 * math.sqrt(2 * math.pi)) / _ARRIVING
