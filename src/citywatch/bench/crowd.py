"""Venue crowd safety against the simulator's truth: density error, time-to-detect, lead time.

Runs a normal match day at Aldmere Arena and the three scenarios (a crush at
the South gates, Gate 3 blocked at full time, an evacuation after an alarm)
through the real adapters (``zone-counts``, ``gate-counts``) and the
``crowd-safety`` detector in event time, and scores them:

- density error per zone on the normal day: median and mean absolute
  percentage error of the estimated people against the true mean of each
  minute, over the minutes where the zone holds at least 10 % of its capacity
  ("match-day crowd levels"); beside it the same for an uncalibrated peer
  (Wi-Fi count times the configured ratio);
- per scenario: time-to-detect (the first detection of the scenario's rule
  minus the truth: the minute the true density first crosses the critical
  line for the crush, else the onset), false alarms (detections before the
  onset or more than 45 minutes after it; every detection on the normal
  day), and for the crush the lead time of the first time-to-critical
  warning before the truth crosses the critical line.
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from citywatch.detect import DetectorRunner
from citywatch.detect.crowd import CrowdConfig, CrowdSafety
from citywatch.ingest import GateCountsAdapter, ZoneCountsAdapter
from citywatch.ingest.venue import ARENA_YAML, load_venue
from citywatch.model import Detection, Event, to_epoch
from citywatch.simulate.crowd.match import SCENARIOS, Scenario
from citywatch.simulate.crowd.writer import GATE_COUNTS, ZONE_COUNTS, Written, write_match_day

KICKOFF_S = 1_773_496_800.0
"""2026-03-14 14:00 UTC (15:00 in Aldmere)."""
EXPECTED = {
    "crush": "crowd.crush-risk",
    "blocked-exit": "crowd.blocked-exit",
    "evacuation": "crowd.exodus",
}
AFTER_ONSET_S = 45 * 60
CROWD_LEVEL = 0.10


class ZoneError(msgspec.Struct, kw_only=True):
    """Density error of one zone on the normal day."""

    zone: str
    minutes: int
    median_ape: float
    mean_ape: float
    peer_median_ape: float


class ScenarioScore(msgspec.Struct, kw_only=True):
    """What the detector did in one scenario (times in minutes; None where not applicable)."""

    scenario: str
    rule: str | None
    detections: int
    by_rule: dict[str, int]
    onset_min: float | None
    """Onset relative to kick-off."""
    time_to_detect_min: float | None
    false_alarms: int
    lead_time_min: float | None
    measures: list[str]


class CrowdBench(msgspec.Struct, kw_only=True):
    """The whole benchmark."""

    zones: list[ZoneError]
    scenarios: list[ScenarioScore]
    venue_egress_full_min: float
    wall_s: float


def _events(out: Path) -> Iterator[Event]:
    streams = []
    for adapter, name in ((ZoneCountsAdapter(), ZONE_COUNTS), (GateCountsAdapter(), GATE_COUNTS)):
        lines = (out / name).read_bytes().splitlines()
        streams.append([e for e in adapter.parse(name, lines) if isinstance(e, Event)])
    return heapq.merge(*streams, key=lambda e: e.timestamp)


def _run(out: Path, written: Written) -> tuple[list[Detection], dict[tuple[str, float], float]]:
    """The detections (first version of each: what the officer saw first) and the estimates,
    (zone, interval start) → people."""
    detector = CrowdSafety(CrowdConfig())
    failures: list[Exception] = []
    runner = DetectorRunner(detector, lambda _n, _e, exc: failures.append(exc))
    found: list[Detection] = []
    estimates: dict[tuple[str, float], float] = {}
    for event in _events(out):
        runner.process(event, found)
        state = runner.states.get("venue:arena")
        if state is not None:
            for zone, track in state.zones.items():
                if track.times:
                    estimates[(zone, track.times[-1] - 60)] = track.a[-1]
    runner.flush(found)
    if failures:
        raise RuntimeError(f"crowd-safety failed: {failures[0]!r}")
    first: dict[str, Detection] = {}
    for detection in found:
        first.setdefault(detection.id, detection)
    return sorted(first.values(), key=lambda d: d.timestamp), estimates


def _zone_errors(
    written: Written, estimates: dict[tuple[str, float], float], out: Path
) -> list[ZoneError]:
    venue = load_venue(ARENA_YAML)
    ratio = CrowdConfig().ratios["wifi"]
    wifi: dict[tuple[str, float], float] = {}
    for event in _events(out):
        payload = event.payload
        if payload is not None and getattr(payload, "source", None) == "wifi":
            wifi[(payload.zone, event.timestamp)] = payload.count  # type: ignore[union-attr]
    rows = []
    for zone in venue.zones:
        ours, peer = [], []
        for minute in written.minutes:
            truth = minute.people[zone.id]
            if truth < CROWD_LEVEL * zone.capacity or (zone.id, minute.t) not in estimates:
                continue
            ours.append(abs(estimates[(zone.id, minute.t)] - truth) / truth)
            peer.append(abs(wifi.get((zone.id, minute.t), 0.0) * ratio - truth) / truth)
        if ours:
            rows.append(
                ZoneError(
                    zone=zone.id,
                    minutes=len(ours),
                    median_ape=statistics.median(ours),
                    mean_ape=statistics.fmean(ours),
                    peer_median_ape=statistics.median(peer),
                )
            )
    return rows


def _score(scenario: Scenario, written: Written, detections: list[Detection]) -> ScenarioScore:
    venue = load_venue(ARENA_YAML)
    day, ko = written.day, written.day.kickoff_s
    onset = day.onset_s()
    rule = EXPECTED.get(scenario)
    truth = onset
    if scenario == "crush":
        crossing = [
            m.t
            for m in written.minutes
            for z in venue.zones
            if m.people[z.id] / z.area_m2 >= (5.0 if z.kind in ("standing", "seated") else 4.0)
        ]
        truth = min(crossing) if crossing else None
    fired = {d.id: to_epoch(d.timestamp) for d in detections}
    false_alarms = sum(
        1 for t in fired.values() if onset is None or not onset <= t <= onset + AFTER_ONSET_S
    )
    hits = [d for d in detections if d.rule_id == rule]
    ttd = None
    if hits and truth is not None:
        ttd = (min(to_epoch(d.timestamp) for d in hits) - truth) / 60
    lead = None
    if scenario == "crush" and truth is not None:
        warnings = [to_epoch(d.timestamp) for d in detections if d.rule_id == "crowd.surge"]
        lead = (truth - min(warnings)) / 60 if warnings else 0.0
    by_rule: dict[str, int] = {}
    for d in detections:
        by_rule[d.rule_id] = by_rule.get(d.rule_id, 0) + 1
    first = min(hits, key=lambda d: d.timestamp) if hits else None
    return ScenarioScore(
        scenario=scenario,
        rule=rule,
        detections=len(detections),
        by_rule=by_rule,
        onset_min=None if onset is None else (onset - ko) / 60,
        time_to_detect_min=ttd,
        false_alarms=false_alarms,
        lead_time_min=lead,
        measures=list(first.attributes["crowd"]["measures"]) if first else [],
    )


def run(work: Path, *, seed: int = 1) -> CrowdBench:
    """Simulate the four match days into ``work``, analyse and score them."""
    started = time.perf_counter()
    zones: list[ZoneError] = []
    scores: list[ScenarioScore] = []
    for scenario in SCENARIOS:
        out = work / scenario
        out.mkdir(parents=True, exist_ok=True)
        written = write_match_day(
            out, seed, kickoff_s=KICKOFF_S, start_s=KICKOFF_S - 140 * 60,
            end_s=KICKOFF_S + 150 * 60, scenario=scenario,
        )  # fmt: skip
        detections, estimates = _run(out, written)
        if scenario == "normal":
            zones = _zone_errors(written, estimates, out)
        scores.append(_score(scenario, written, detections))
    venue = load_venue(ARENA_YAML)
    full = {
        z.id: float(z.capacity) if z.kind in ("standing", "seated") else 0.0 for z in venue.zones
    }
    from citywatch.detect.crowd.forecast import venue_egress_min  # noqa: PLC0415

    return CrowdBench(
        zones=zones,
        scenarios=scores,
        venue_egress_full_min=venue_egress_min(venue, full) or 0.0,
        wall_s=time.perf_counter() - started,
    )
