"""``make bench``: run every benchmark, print the figures, write ``bench/results/*.json``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench import (
    crowd_report,
    flood,
    ingest_http,
    iot_report,
    portal_report,
    quake_report,
    social_report,
    throughput,
)
from citywatch.pipeline import heap


def _machine() -> dict[str, str | int]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count() or 0,
        "platform": platform.platform(),
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }


Bench = Callable[[Console, argparse.Namespace], bool]


def _benches() -> dict[str, Bench]:
    """Every benchmark by name, in the order ``make bench`` runs them; each says if it met them."""

    def portal(console: Console, a: argparse.Namespace) -> bool:
        result = portal_report.report(console, a.out, a.work / "portal", _machine())
        return all(result.citywatch_meets.values())

    return {
        "portal": portal,
        "flood": lambda c, a: _flood(c, a.out, a.work / "flood", a.flood),
        "iot": lambda c, a: iot_report.report(c, a.out, a.work / "iot", _machine()),
        "crowd": lambda c, a: crowd_report.meets(
            crowd_report.report(c, a.out, a.work / "crowd", _machine())
        ),
        "quake": lambda c, a: quake_report.report(c, a.out, _machine(), a.quakes, a.quiet_days),
        "social": lambda c, a: social_report.report(c, a.out, a.work / "social", _machine()),
        "ingest-http": lambda c, a: _ingest_http(c, a.out, a.work / "ingest-http", a.ingest_hours),
        "throughput": lambda c, a: _throughput(c, a.out, a.work, a.lines),
    }


def main(argv: list[str] | None = None) -> int:
    benches = _benches()
    parser = argparse.ArgumentParser(prog="python -m citywatch.bench", description=__doc__)
    parser.add_argument("--only", choices=tuple(benches), help="run one benchmark")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--work", type=Path, default=Path("bench/work"))
    parser.add_argument("--lines", type=int, default=1_000_000, help="access-log lines")
    parser.add_argument("--flood", type=int, default=1_000_000, help="attack requests in the flood")
    parser.add_argument("--quakes", type=int, default=40, help="simulated quakes")
    parser.add_argument("--quiet-days", type=int, default=30, help="quake-free days of triggers")
    parser.add_argument(
        "--ingest-hours", type=float, default=24.0, help="hours of portal traffic sent over HTTP"
    )
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console()
    missed = [
        name
        for name, bench in benches.items()
        if args.only in (None, name) and not bench(console, args)
    ]
    if missed:
        console.print(f"[red]targets not met:[/] {', '.join(missed)}")
    return 1 if missed else 0


def _throughput(console: Console, out: Path, work: Path, lines: int) -> bool:
    with console.status("throughput: generating inputs and analysing them…"):
        results = throughput.run(work, lines=lines)
    table = Table(
        title="throughput: parse + normalise + enrich + detect + store (citywatch analyse)"
    )
    for col in ("format", "records", "records/s", "records/CPU-s", "peak RSS MB", "target", "ok"):
        table.add_column(col, justify="left" if col == "format" else "right")
    for r in results:
        target = (
            f"≥{r.target_records_per_s:,.0f}/s, <{r.target_peak_rss_mb:.0f} MB"
            if r.target_records_per_s
            else "-"
        )
        ok = {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[r.meets_target]
        table.add_row(
            r.format,
            f"{r.records:,}",
            f"{r.records_per_s:,.0f}",
            f"{r.records_per_cpu_s:,.0f}",
            f"{r.peak_rss_mb:,.1f}",
            target,
            ok,
        )
    console.print(table)
    doc = {"benchmark": "throughput", "machine": _machine(), "results": results}
    path = out / "throughput.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return all(r.meets_target is not False for r in results)


def _ingest_http(console: Console, out: Path, work: Path, hours: float) -> bool:
    with console.status("ingest-http: NDJSON batches into citywatch serve, pages timed…"):
        r = ingest_http.run(work, hours=hours)
    table = Table(title="ingest-http: NDJSON batches over HTTP into a live citywatch serve")
    for col in ("records", "batches", "accepted", "dead letters", "records/s", "target", "ok"):
        table.add_column(col, justify="right")
    ok = "[green]yes[/]" if r.meets_target else "[red]NO[/]"
    table.add_row(
        f"{r.records:,}",
        f"{r.batches} × {r.batch_records:,}",
        f"{r.accepted:,}",
        f"{r.dead_letters:,}",
        f"{r.records_per_s:,.0f}",
        f"≥{r.target_records_per_s:,}/s",
        ok,
    )
    console.print(table)
    pages = Table(title="dashboard (overview page + stats) answer times, ms")
    for col in ("when", "requests", "p50", "p95", "max", "errors"):
        pages.add_column(col, justify="left" if col == "when" else "right")
    for when, lat in (("idle", r.pages_idle), ("during ingest", r.pages_during_ingest)):
        pages.add_row(
            when,
            str(lat.requests),
            f"{lat.p50_ms}",
            f"{lat.p95_ms}",
            f"{lat.max_ms}",
            str(lat.errors),
        )
    console.print(pages)
    doc = {"benchmark": "ingest-http", "machine": _machine(), "result": r}
    path = out / "ingest-http.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return r.meets_target


def _flood(console: Console, out: Path, work: Path, requests: int) -> bool:
    with console.status(f"flood: {requests:,} attack requests from a few clients…"):
        result = flood.run(work, requests=requests)
    table = Table(title="flood: attack requests from a few clients (citywatch analyse)")
    for col in ("requests", "clients", "detections", "by detector", "incidents", "records/s"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{result.requests:,}",
        str(result.clients),
        str(result.detections),
        ", ".join(f"{k} {v}" for k, v in sorted(result.detections_by_detector.items())),
        str(result.incidents),
        f"{result.requests / result.wall_s:,.0f}",
    )
    console.print(table)
    verdict = flood.meets(result)
    console.print(
        f"targets met (≤ {flood.TARGET_PER_CLIENT} detections per client, every request in "
        f"evidence): {'[green]yes[/]' if verdict else '[red]NO[/]'}"
    )
    doc = {"benchmark": "flood", "machine": _machine(), "meets_targets": verdict, "result": result}
    path = out / "flood.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return verdict


if __name__ == "__main__":
    heap.own()  # as the command line: a job's heap settles once it has learned
    sys.exit(main())
