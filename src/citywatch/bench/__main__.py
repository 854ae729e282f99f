"""``make bench``: run every benchmark, print the figures, write ``bench/results/*.json``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench import flood, portal_report, social_report, throughput


def _machine() -> dict[str, str | int]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count() or 0,
        "platform": platform.platform(),
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citywatch.bench", description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000, help="access-log lines")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--work", type=Path, default=Path("bench/work"))
    parser.add_argument(
        "--only", choices=("throughput", "portal", "flood", "social"), help="run one benchmark"
    )
    parser.add_argument("--flood", type=int, default=1_000_000, help="attack requests in the flood")
    args = parser.parse_args(argv)
    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "portal"):
        portal_report.report(console, args.out, args.work.resolve() / "portal", _machine())
    if args.only in (None, "flood"):
        _flood(console, args.out, args.work.resolve() / "flood", args.flood)
    if args.only in (None, "social"):
        social_report.report(console, args.out, args.work.resolve() / "social", _machine())
    if args.only not in (None, "throughput"):
        return 0

    with console.status("throughput: generating inputs and analysing them…"):
        results = throughput.run(args.work.resolve(), lines=args.lines)
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
    path = args.out / "throughput.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return 0 if all(r.meets_target is not False for r in results) else 1


def _flood(console: Console, out: Path, work: Path, requests: int) -> None:
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
    doc = {"benchmark": "flood", "machine": _machine(), "result": result}
    path = out / "flood.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")


if __name__ == "__main__":
    sys.exit(main())
