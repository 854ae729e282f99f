"""Writing a match day's feeds and its ground truth: the demo's venue inputs, the bench's runs.

Files: ``arena-zone-counts.csv`` (``zone-counts``), ``arena-gate-counts.csv``
(``gate-counts``) and ``arena-truth.csv`` (true people per zone per minute,
beside the feeds, never inside them). The venue layout they refer to is the
packaged :data:`~citywatch.ingest.venue.ARENA_YAML`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from citywatch.ingest.venue import ARENA_YAML, load_venue
from citywatch.simulate.crowd.feeds import Sensors
from citywatch.simulate.crowd.match import MatchDay, Minute, Scenario
from citywatch.simulate.manifest import ManifestFile, Situation
from citywatch.simulate.rand import substream
from citywatch.simulate.schedule import ARENA_ID, ARENA_NAME, SITUATION_STADIUM

ZONE_COUNTS: Final = "arena-zone-counts.csv"
GATE_COUNTS: Final = "arena-gate-counts.csv"
CROWD_TRUTH: Final = "arena-truth.csv"


def iso(t: float) -> str:
    """Epoch seconds as ISO 8601 UTC.

    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Written:
    """What one match day wrote: the inputs, the truth minute by minute, the day itself."""

    inputs: list[ManifestFile]
    minutes: list[Minute]
    day: MatchDay
    records: int


def write_match_day(
    out: Path,
    seed: int,
    *,
    kickoff_s: float,
    start_s: float,
    end_s: float,
    scenario: Scenario = "normal",
    alarm_s: float | None = None,
) -> Written:
    """Write the arena's feeds for the part of a match day inside ``[start_s, end_s)``."""
    venue = load_venue(ARENA_YAML)
    day = MatchDay(kickoff_s=kickoff_s, scenario=scenario, alarm_s=alarm_s, venue=venue)
    sensors = Sensors(substream(seed, "crowd"), {z.id: z.kind for z in venue.zones}, kickoff_s)
    minutes = list(day.run(start_s, end_s))
    records = 0
    with (
        (out / ZONE_COUNTS).open("w", encoding="utf-8", newline="\n") as zones,
        (out / GATE_COUNTS).open("w", encoding="utf-8", newline="\n") as gates,
        (out / CROWD_TRUTH).open("w", encoding="utf-8", newline="\n") as truth,
    ):
        zones.write("time,venue,zone,source,count,interval_s\n")
        gates.write("time,venue,gate,in,out,interval_s\n")
        truth.write("time,venue,zone,people\n")
        for minute in minutes:
            when = iso(minute.t)
            for _, zone, source, count in sensors.zone_rows(minute):
                zones.write(f"{when},{venue.id},{zone},{source},{count},60\n")
                records += 1
            for _, gate, entered, left in sensors.gate_rows(minute):
                gates.write(f"{when},{venue.id},{gate},{entered},{left},60\n")
                records += 1
            for zone, people in minute.people.items():
                truth.write(f"{when},{venue.id},{zone},{people:.1f}\n")
    inputs = [ManifestFile("zone-counts", ZONE_COUNTS), ManifestFile("gate-counts", GATE_COUNTS)]
    return Written(inputs, minutes, day, records)


def stadium_situation(written: Written) -> Situation | None:
    """The ``stadium-emergency`` situation of a day with an alarm inside the written span."""
    alarm = written.day.alarm_s
    if alarm is None or not written.minutes or not written.minutes[0].t <= alarm:
        return None
    after = [m for m in written.minutes if m.t >= alarm]
    if not after:
        return None
    inside = [m for m in after if sum(v for z, v in m.people.items() if "forecourt" not in z) > 50]
    end = (inside[-1] if inside else after[0]).t + 60
    return Situation(
        id=SITUATION_STADIUM,
        title=f"Sudden evacuation of {ARENA_NAME} after an alarm",
        silo="crowd",
        start=iso(alarm),
        end=iso(end),
        entities={"venue.id": [ARENA_ID]},
        techniques=["sudden-exodus"],
        records=sum(1 for m in written.minutes if alarm <= m.t < end)
        * written.records
        // len(written.minutes),
    )
