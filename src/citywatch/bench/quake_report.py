"""``--only quake``: run the earthquake benchmark, print its table, write ``quake.json``."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench import quake

MYSHAKE = {
    "delay": "~4–6 s",
    "location": "~10 km",
    "magnitude": "~0.5",
}
"""MyShake's published figures at 0.1% uptake (Kong et al. 2016, 2020), for comparison."""


ROWS: list[tuple[str, str, str, str, float | None]] = [
    # figure, summary key, format, MyShake's published figure, target (at most)
    ("origin → first alert, median s", "delay_median_s", ".1f", MYSHAKE["delay"], None),
    ("origin → first alert, max s", "delay_max_s", ".1f", "-", 10.0),
    ("location error at first alert, median km", "alert_location_error_median_km", ".1f",
     MYSHAKE["location"], None),
    ("location error 10 s after origin, median km", "location_error_10s_median_km", ".1f", "-",
     5.0),
    ("location error, all triggers, median km", "location_error_median_km", ".1f", "-", 5.0),
    ("magnitude error at first alert, median", "alert_magnitude_error_median", ".2f",
     MYSHAKE["magnitude"], None),
    ("magnitude error 10 s after origin, median", "magnitude_error_10s_median", ".2f", "-", 0.3),
    ("magnitude error, all triggers, median", "magnitude_error_median", ".2f", "-", 0.3),
    ("CDI error per 1 km cell (≥3 reports), mean", "cdi_abs_error_mean", ".2f", "-", None),
]  # fmt: skip
"""The table's rows after the detection count."""


def _median(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def summary(result: quake.QuakeBench) -> dict[str, float]:
    """The headline figures of a run."""
    found = [c for c in result.cases if c.detected]
    covered = [
        c for c in found if c.location_error_km <= 2 * max(c.reported_location_error_km, 0.5)
    ]
    return {
        "cases": len(result.cases),
        "detected": len(found),
        "delay_median_s": _median([c.delay_s for c in found]),
        "delay_max_s": max((c.delay_s for c in found), default=math.nan),
        "last_trigger_median_s": _median([c.last_trigger_s for c in found]),
        "alert_location_error_median_km": _median([c.alert_location_error_km for c in found]),
        "location_error_10s_median_km": _median([c.location_error_10s_km for c in found]),
        "magnitude_error_10s_median": _median([c.magnitude_error_10s for c in found]),
        "location_error_median_km": _median([c.location_error_km for c in found]),
        "alert_magnitude_error_median": _median([c.alert_magnitude_error for c in found]),
        "magnitude_error_median": _median([c.magnitude_error for c in found]),
        "cdi_abs_error_mean": statistics.fmean(
            [c.cdi_abs_error for c in found if not math.isnan(c.cdi_abs_error)] or [math.nan]
        ),
        "cdi_cells": sum(c.cells for c in found),
        "location_within_2_sigma": len(covered) / len(found) if found else math.nan,
        "false_detections": result.false_detections,
        "naive_false_detections": result.naive_false_detections,
    }


def report(
    console: Console, out: Path, machine: dict[str, str | int], quakes: int, days: int
) -> bool:
    """Run, print and write the benchmark; True when every target is met."""
    with console.status(f"quake: {quakes} simulated quakes, then {days} quiet days…"):
        result = quake.run(quakes=quakes, days=days)
    s = summary(result)
    table = Table(title=f"quake: M4.5–6.0 within 50 km, 0.1% phone uptake ({quakes} quakes)")
    for col in ("figure", "citywatch", "MyShake (published)", "target", "ok"):
        table.add_column(col, justify="left" if col == "figure" else "right")

    def row(name: str, value: float, fmt: str, peer: str, target: float | None) -> bool:
        ok = None if target is None else value <= target
        mark = {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[ok]
        table.add_row(
            name, format(value, fmt), peer, "-" if target is None else f"≤ {target:g}", mark
        )
        return ok is not False

    checks = [s["detected"] == s["cases"]]
    checks += [row(name, s[key], fmt, peer, target) for name, key, fmt, peer, target in ROWS]
    checks.append(row(f"false detections, {days} quiet days", s["false_detections"], ".0f", "-", 0))
    row(f"naive peer: false detections, {days} days", s["naive_false_detections"], ".0f", "-", None)
    console.print(table)
    console.print(
        f"detected {s['detected']:.0f}/{s['cases']:.0f}; last quake trigger "
        f"{s['last_trigger_median_s']:.1f} s after origin (median); true location within 2x "
        f"the reported error in {s['location_within_2_sigma']:.0%} of quakes; "
        f"{s['cdi_cells']:.0f} cells scored; quiet month: {result.noise_triggers:,} everyday, "
        f"{result.crowd_triggers:,} crowd, {result.forged_triggers} forged triggers; "
        f"{result.wall_s:.0f} s"
    )
    doc = {"benchmark": "quake", "machine": machine, "summary": s, "result": result}
    path = out / "quake.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return all(checks)
