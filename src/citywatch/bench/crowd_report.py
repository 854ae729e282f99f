"""Printing and saving the crowd benchmark (``--only crowd``) against the issue's targets."""

from __future__ import annotations

from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench.crowd import CrowdBench, run

TARGET_APE = 0.15
TARGET_DETECT_MIN = 2.0
TARGET_LEAD_MIN = 5.0


def meets(result: CrowdBench) -> bool:
    """Whether every target of the issue is met."""
    zones_ok = all(z.median_ape <= TARGET_APE for z in result.zones)
    scenarios_ok = all(
        s.false_alarms == 0
        and (
            s.rule is None
            or (s.time_to_detect_min is not None and s.time_to_detect_min <= TARGET_DETECT_MIN)
        )
        and (s.scenario != "crush" or (s.lead_time_min or 0.0) >= TARGET_LEAD_MIN)
        for s in result.scenarios
    )
    return zones_ok and scenarios_ok


def _by_rule(counts: dict[str, int]) -> str:
    return " ".join(f"{k.removeprefix('crowd.')}:{v}" for k, v in sorted(counts.items())) or "0"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def report(console: Console, out: Path, work: Path, machine: dict[str, str | int]) -> CrowdBench:
    """Run the crowd benchmark, print its tables, write ``crowd.json``."""
    with console.status("crowd: four match days at Aldmere Arena…"):
        result = run(work)
    zones = Table(
        title="crowd: people per zone vs truth, normal match day (minutes at ≥10% capacity); "
        "peer: Wi-Fi count × configured ratio"
    )
    for col in ("zone", "min", "median APE", "mean APE", "peer APE", "≤15%"):
        zones.add_column(col, justify="left" if col == "zone" else "right")
    for z in result.zones:
        ok = "[green]yes[/]" if z.median_ape <= TARGET_APE else "[red]NO[/]"
        zones.add_row(
            z.zone, str(z.minutes), f"{z.median_ape:.1%}", f"{z.mean_ape:.1%}",
            f"{z.peer_median_ape:.1%}", ok,
        )  # fmt: skip
    console.print(zones)
    table = Table(
        title="crowd: scenarios: time to detect and lead time in minutes from the truth "
        "(lead: first time-to-critical warning before truth crosses critical); onset from kick-off"
    )
    for col in ("scenario", "onset", "rule", "detect", "lead", "false", "detections"):
        table.add_column(col, justify="left" if col in ("scenario", "rule") else "right")
    for s in result.scenarios:
        table.add_row(
            s.scenario, _minutes(s.onset_min), (s.rule or "-").removeprefix("crowd."),
            _minutes(s.time_to_detect_min), _minutes(s.lead_time_min), str(s.false_alarms),
            _by_rule(s.by_rule),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"venue egress at capacity, every exit open: {result.venue_egress_full_min:.1f} min"
    )
    for s in result.scenarios:
        if s.measures:
            console.print(f"[bold]{s.scenario}[/]: first measures of {s.rule}")
            for measure in s.measures:
                console.print(f"  - {measure}", markup=False, highlight=False)
    verdict = meets(result)
    console.print(f"targets met: {'[green]yes[/]' if verdict else '[red]NO[/]'}")
    doc = {"benchmark": "crowd", "machine": machine, "meets_targets": verdict, "result": result}
    path = out / "crowd.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return result
