"""Showing the portal benchmark: a rich table side by side, and ``bench/results/portal.json``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench.corpus import CLASSES
from citywatch.bench.portal import (
    PARTS,
    TARGET_DETECTION,
    TARGET_FP_RATE,
    TARGET_RATE,
    PortalReport,
    Rate,
    ToolResult,
    run,
)
from citywatch.bench.portal_abuse import AbuseFigures


def _pct(rate: Rate, *, good: float | None = None, low: bool = False) -> str:
    """A rate as a percentage; coloured when it has a target (``low``: lower is better)."""
    if rate.rate is None:
        return "-"
    # false positives (``low``): hundredths of a percent matter, and so does the count
    text = f"{100 * rate.rate:.2f}% ({rate.flagged})" if low else f"{100 * rate.rate:.1f}%"
    if good is None:
        return text
    ok = rate.rate <= good if low else rate.rate >= good
    return f"[green]{text}[/]" if ok else f"[red]{text}[/]"


def table(report: PortalReport) -> Table:
    """Classes as rows, tools as columns."""
    tools = report.tools
    corpus = report.corpus
    table = Table(
        title=f"portal attack detection: {corpus['test_requests']:,} test requests "
        f"(learned from {corpus['learn_requests']:,} benign)"
    )
    table.add_column("class", no_wrap=True)
    table.add_column("requests", justify="right")
    for tool in tools:
        head = tool.name if tool.status == "ok" else f"{tool.name} ({tool.status})"
        table.add_column(head, justify="right")
    ok = [t for t in tools if t.status == "ok"]
    if not ok:
        return table
    first = ok[0]

    def row(label: str, total: str, cell: Callable[[ToolResult], str], end: bool = False) -> None:
        cells = [cell(t) if t.status == "ok" else "n/a" for t in tools]
        table.add_row(label, total, *cells, end_section=end)

    for cls in CLASSES:
        row(
            cls,
            f"{first.classes[cls].all.total:,}",
            lambda t, c=cls: _pct(t.classes[c].all),  # type: ignore[misc]
            end=cls == CLASSES[-1],
        )
    row(
        "attacks, all",
        f"{first.detection.total:,}",
        lambda t: _pct(t.detection, good=TARGET_DETECTION),
    )
    for part, label in (
        ("hand_written", "  hand-written"),
        ("variants", "  evasive variants"),
        ("red_team", "  red team"),
    ):
        row(
            label,
            f"{_sum(first, part).total:,}",
            lambda t, p=part: _pct(_sum(t, p)),  # type: ignore[misc]
        )
    row("  class mean", "", lambda t: f"{100 * (t.detection_macro or 0):.1f}%", end=True)
    row(
        "false positives",
        f"{first.false_positives.total:,}",
        lambda t: _pct(t.false_positives, good=TARGET_FP_RATE, low=True),
    )
    row(
        "  city traffic",
        f"{first.false_positives_sim.total:,}",
        lambda t: _pct(t.false_positives_sim, low=True),
    )
    row(
        "  look-alikes",
        f"{first.false_positives_lookalikes.total:,}",
        lambda t: _pct(t.false_positives_lookalikes, low=True),
    )
    row(
        "  red-team look-alikes",
        f"{first.false_positives_red_team.total:,}",
        lambda t: _pct(t.false_positives_red_team, low=True),
        end=True,
    )
    row("requests/CPU-s", "in turns", _speed)
    for part in PARTS:
        row(
            f"  {part} only",
            "in turns",
            lambda t, p=part: _rate_cell(t.part_requests_per_cpu_s.get(p), target=False),  # type: ignore[misc]
        )
    row("  timed alone", "", _alone_speed)
    row("  from the file", "", _file_speed)
    return table


def abuse_table(abuse: AbuseFigures) -> Table:
    """The city's portal techniques as rows: found, how soon, how much of it, by what."""
    table = Table(
        title="portal scenarios in the synthetic city (all detectors, the day before learned)"
    )
    table.add_column("technique", no_wrap=True)
    table.add_column("requests", justify="right")
    table.add_column("found", justify="center")
    table.add_column("after", justify="right")
    table.add_column("evidence", justify="right")
    table.add_column("detectors")
    scenario = ""
    for t in abuse.techniques:
        if t.scenario != scenario:
            scenario = t.scenario
            table.add_row(f"[bold]{scenario}[/]", "", "", "", "", "")
        after = "-" if t.first_after_s is None else f"{t.first_after_s / 60:,.1f} min"
        table.add_row(
            f"  {t.technique}",
            f"{t.requests:,}",
            "[green]yes[/]" if t.found else "[red]no[/]",
            after,
            f"{100 * t.evidence_share:.0f}%",
            ", ".join(t.detectors),
        )
    return table


def _sum(tool: ToolResult, part: str) -> Rate:
    rates = [getattr(f, part) for f in tool.classes.values()]
    total = sum(r.total for r in rates)
    flagged = sum(r.flagged for r in rates)
    return Rate(total=total, flagged=flagged, rate=flagged / total if total else None)


def _speed(tool: ToolResult) -> str:
    """Requests per CPU-second from the same parsed requests, the tools taking turns."""
    return _rate_cell(tool.requests_per_cpu_s, target=False)


def _alone_speed(tool: ToolResult) -> str:
    """The same, each tool timed alone (the target is judged on citywatch's)."""
    return _rate_cell(tool.alone_requests_per_cpu_s, tool.name == "citywatch")


def _file_speed(tool: ToolResult) -> str:
    """citywatch's requests per CPU-second end to end from the file (its own parsing too)."""
    return _rate_cell(tool.file_requests_per_cpu_s, target=False)


def _rate_cell(rate: float | None, target: bool) -> str:
    if rate is None:
        return "-"
    text = f"{rate:,.0f}"
    if not target:
        return text
    return f"[{'green' if rate >= TARGET_RATE else 'red'}]{text}[/]"


def report(console: Console, out: Path, work: Path, machine: dict[str, str | int]) -> PortalReport:
    """Run the portal benchmark, print it, write ``OUT/portal.json``."""
    with console.status("portal: building the corpus and inspecting it with every tool…"):
        result = run(work)
    console.print(table(result))
    for tool in result.tools:
        if tool.status != "ok":
            console.print(f"[yellow]{tool.name} {tool.status}:[/] {tool.error}")
        else:
            console.print(f"  {tool.name}: {tool.version}")
            if errors := tool.details.get("request_errors"):
                first = tool.details.get("first_request_error")
                console.print(f"[yellow]  {tool.name} raised on {errors} requests:[/] {first}")
    detectors = result.tools[0].details.get("detectors", [])
    console.print(f"  citywatch detectors: {', '.join(detectors) or 'none'}")  # type: ignore[arg-type]
    for name, ratio in result.ratios.items():
        console.print(
            f"  speed {name} (same parsed requests, in turns): "
            f"{'-' if ratio is None else f'{ratio:,.1f}×'}"
        )
    missed = [name for name, met in result.citywatch_meets.items() if not met]
    console.print(
        "  targets: all met"
        if not missed
        else f"  [red]targets not met:[/] {', '.join(missed)} (targets: "
        + ", ".join(f"{k} {v:g}" for k, v in result.targets.items())
        + ")"
    )
    console.print(abuse_table(result.abuse))
    abuse = result.abuse
    console.print(
        f"  benign: {abuse.benign_flagged:,} of {abuse.benign_requests:,} requests in evidence "
        f"({abuse.benign_sources_flagged} client addresses); {abuse.detections} detections"
    )
    doc = {"benchmark": "portal", "machine": machine, **msgspec.to_builtins(result)}
    path = out / "portal.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return result
