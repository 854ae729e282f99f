"""The arena's match day: people are conserved, ways pass no more than they can, the demo
gets the stadium alarm with its ground truth."""

from __future__ import annotations

from datetime import datetime

import pytest

from citywatch.ingest import GateCountsAdapter, ZoneCountsAdapter
from citywatch.ingest.venue import ARENA_YAML, SAFE_RATE_PPMM, load_venue
from citywatch.model import DeadLetter
from citywatch.simulate.crowd.match import SCENARIOS, MatchDay, Scenario
from citywatch.simulate.schedule import SITUATION_STADIUM, STADIUM_ALARM, at

from .conftest import Run  # type: ignore[import-not-found]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_people_are_conserved_and_ways_pass_at_most_their_rate(scenario: Scenario) -> None:
    venue = load_venue(ARENA_YAML)
    day = MatchDay(kickoff_s=0.0, scenario=scenario)
    minutes = list(day.run(-130 * 60, 160 * 60))
    tickets = sum(c.tickets for c in day.cohorts)
    assert sum(c.arrived for c in day.cohorts) == pytest.approx(tickets, rel=0.01)
    assert all(sum(m.people.values()) <= tickets * 1.001 for m in minutes)
    assert sum(minutes[-1].people.values()) < 0.01 * tickets, "everyone has gone home"
    for minute in minutes:
        for gate_id, (entered, left) in minute.gates.items():
            gate = venue.gate(gate_id)
            assert entered + left <= gate.width_m * SAFE_RATE_PPMM[gate.kind] + 1e-6
    stands = [z.id for z in venue.zones if z.kind in ("standing", "seated")]
    full = max(sum(m.people[s] for s in stands) for m in minutes)
    assert 0.8 * tickets < full <= tickets * 1.001


def test_the_alarm_empties_the_stands_within_the_egress_norm() -> None:
    day = MatchDay(kickoff_s=0.0, scenario="evacuation")
    alarm = day.onset_s()
    assert alarm == 61 * 60
    stands = ("north-stand", "south-stand", "east-stand", "west-stand")
    after = [m for m in day.run(alarm, alarm + 15 * 60)]
    emptied = next(m.t for m in after if sum(m.people[s] for s in stands) < 100)
    assert emptied - alarm <= 9 * 60


def test_the_demo_holds_the_stadium_emergency(run: Run) -> None:
    formats = [i.format for i in run.manifest.inputs]
    assert "zone-counts" in formats and "gate-counts" in formats
    (stadium,) = [s for s in run.situations if s["id"] == SITUATION_STADIUM]
    start_ms = int(run.manifest.start.timestamp() * 1000)
    span_ms = int((run.manifest.end - run.manifest.start).total_seconds() * 1000)
    alarm = datetime.fromisoformat(stadium["start"]).timestamp()
    assert alarm == pytest.approx(at(start_ms, span_ms, STADIUM_ALARM) / 1000, abs=1)
    assert stadium["entities"]["venue.id"] == ["arena"] and "crowd" in stadium["silo"].split("+")
    for adapter, name in ((ZoneCountsAdapter(), "arena-zone-counts.csv"),
                          (GateCountsAdapter(), "arena-gate-counts.csv")):  # fmt: skip
        items = list(adapter.parse(name, (run.out / name).read_bytes().splitlines()))
        assert items and not any(isinstance(i, DeadLetter) for i in items)
