"""Showing the social benchmark: rich tables, and ``bench/results/social.json``.

``python -m citywatch.bench.social_report --seeds 20`` shows the simulated
events of more seeds than the benchmark's five, alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench.social import (
    TARGET_F1,
    TARGET_LATENCY_S,
    TARGET_POSTS_PER_CPU_S,
    EventResult,
    SocialReport,
    events,
    run,
)


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]NO[/]"


def _classification(console: Console, result: SocialReport) -> None:
    rows = result.classification
    table = Table(
        title=f"social: high-risk classification, {rows[0].posts:,} held-out posts "
        f"(German: {result.german.posts} hand-written posts)"
    )
    for col in ("classifier", "precision", "recall", "F1", f"F1 ≥ {TARGET_F1}", "category",
                "ECE", "MiniLM calls", "CPU-s"):  # fmt: skip
        table.add_column(col, justify="left" if col == "classifier" else "right")
    for c in [*rows, result.german]:
        s = c.scores
        table.add_row(
            c.name, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}",
            _mark(s.f1 >= TARGET_F1),
            f"{100 * c.category_accuracy:.1f}%" if c.category_accuracy else "-",
            f"{c.ece:.3f}" if c.ece is not None else "-", f"{c.strong_calls:,}", f"{c.cpu_s:.2f}",
        )  # fmt: skip
    console.print(table)
    kinds = Table(title="social: false-positive rate per kind of negative post (held out)")
    kinds.add_column("kind")
    for c in rows:
        kinds.add_column(c.name, justify="right")
    for kind in rows[0].fp_rate_by_kind:
        kinds.add_row(kind, *(f"{100 * c.fp_rate_by_kind[kind]:.1f}%" for c in rows))
    console.print(kinds)
    found = Table(title="social: recall per kind of high-risk post (held out)")
    found.add_column("kind")
    for c in rows:
        found.add_column(c.name, justify="right")
    for kind in rows[0].recall_by_kind:
        found.add_row(kind, *(f"{100 * c.recall_by_kind[kind]:.1f}%" for c in rows))
    console.print(found)


def _events(console: Console, results: list[EventResult], false_events: int) -> bool:
    table = Table(title="social: simulated events (first post → detection)")
    for col in ("seed", "event", "category", "found", "latency", "placed", "right district",
                "news joined", "ok"):  # fmt: skip
        table.add_column(col)
    for e in results:
        latency = f"{e.latency_s:.0f} s" if e.latency_s is not None else "-"
        table.add_row(
            str(e.seed), e.id, e.category, "yes" if e.found else "missed",
            latency + (" (slow wave)" if e.slow else ""),
            e.placed or ("the city" if e.found else "-"),
            "yes" if e.district_ok else "no", "yes" if e.news else "no", _mark(e.ok),
        )  # fmt: skip
    console.print(table)
    n = len(results)
    found = sum(e.found for e in results)
    on_time = sum(e.on_time for e in results)
    placed = sum(e.district_ok for e in results)
    news = sum(e.news for e in results)
    console.print(
        f"events found {found}/{n} (missed {n - found}), in the right district {placed}/{n}, "
        f"within {TARGET_LATENCY_S:.0f} s of their first post {on_time}/{n}, "
        f"joined by the outlet's report {news}/{n}, detections matching no event {false_events}"
    )
    return all(e.ok for e in results) and false_events == 0


def report(console: Console, out: Path, work: Path, machine: dict[str, str | int]) -> bool:
    """Run, print and write the social benchmark; True when every target is met."""
    with console.status("social: corpus, simulated events and a long stream of posts…"):
        result = run(work)
    _classification(console, result)
    events_ok = _events(console, result.events, result.false_events)
    table = Table(title="social: end to end (citywatch analyse --in posts-jsonl:FILE)")
    for col in ("configuration", "posts", "CPU-s", "wall s", "posts/CPU-s", "target", "ok"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for s in result.speed:
        table.add_row(
            s.name + (" (MiniLM on)" if s.strong else ""), f"{s.posts:,}", f"{s.cpu_s:.2f}",
            f"{s.wall_s:.2f}", f"{s.posts_per_cpu_s:,.0f}", f"≥ {TARGET_POSTS_PER_CPU_S:,.0f}",
            _mark(s.posts_per_cpu_s >= TARGET_POSTS_PER_CPU_S),
        )  # fmt: skip
    console.print(table)
    doc = {
        "benchmark": "social",
        "machine": machine,
        "result": result,
        "posts_per_cpu_s": {s.name: s.posts_per_cpu_s for s in result.speed},
    }
    path = out / "social.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    best = max(c.scores.f1 for c in result.classification)
    return (
        best >= TARGET_F1
        and events_ok
        and result.speed[0].posts_per_cpu_s >= TARGET_POSTS_PER_CPU_S
    )


def main(argv: list[str] | None = None) -> int:
    """The simulated events of seeds 1 to ``--seeds``; 0 when every one is met, else 1."""
    parser = argparse.ArgumentParser(prog="python -m citywatch.bench.social_report")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 1 to N")
    parser.add_argument("--hours", type=float, default=6.0, help="hours of posts per seed")
    parser.add_argument("--work", type=Path, default=Path("bench/work/social"))
    args = parser.parse_args(argv)
    console = Console()
    with console.status(f"social: simulated events of {args.seeds} seeds…"):
        results, false_events = events(
            args.work.resolve(), list(range(1, args.seeds + 1)), args.hours
        )
    return 0 if _events(console, results, false_events) else 1


if __name__ == "__main__":
    raise SystemExit(main())
