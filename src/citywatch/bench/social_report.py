"""Showing the social benchmark: rich tables, and ``bench/results/social.json``."""

from __future__ import annotations

from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench.social import (
    TARGET_F1,
    TARGET_LATENCY_S,
    TARGET_POSTS_PER_CPU_S,
    SocialReport,
    run,
)


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]NO[/]"


def report(console: Console, out: Path, work: Path, machine: dict[str, str | int]) -> bool:
    """Run, print and write the social benchmark; True when every target is met."""
    with console.status("social: corpus, simulated events and a long stream of posts…"):
        result: SocialReport = run(work)
    c = result.classification
    table = Table(title=f"social: high-risk classification, {c.posts:,} held-out posts")
    for col in ("", "precision", "recall", "F1", f"F1 ≥ {TARGET_F1}"):
        table.add_column(col, justify="right")
    for name, s in (("fast model (linear, n-grams)", c.model), ("keyword baseline", c.keywords)):
        table.add_row(
            name, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", _mark(s.f1 >= TARGET_F1)
        )
    console.print(table)
    kinds = Table(title="social: false-positive rate per kind of negative (held out)")
    kinds.add_column("kind")
    kinds.add_column("fast model", justify="right")
    kinds.add_column("keywords", justify="right")
    for kind, rate in c.fp_rate_by_kind.items():
        kinds.add_row(kind, f"{100 * rate:.1f}%", f"{100 * c.keyword_fp_rate_by_kind[kind]:.1f}%")
    console.print(kinds)
    console.print(
        f"category accuracy on held-out high-risk posts: {100 * c.category_accuracy:.1f}%"
    )
    ev = Table(title="social: simulated events (first post → detection)")
    for col in ("seed", "event", "found", "latency", "district", "placed", "ok"):
        ev.add_column(col)
    for e in result.events:
        latency = f"{e.latency_s:.0f} s" if e.latency_s is not None else "-"
        ok = e.found and e.district_ok and (e.latency_s or 0) <= TARGET_LATENCY_S
        ev.add_row(
            str(e.seed), e.id, "yes" if e.found else "missed", latency,
            ", ".join(e.districts), e.placed or "-", _mark(ok),
        )  # fmt: skip
    console.print(ev)
    found = sum(e.found for e in result.events)
    on_time = all(
        e.found and e.district_ok and (e.latency_s or 0) <= TARGET_LATENCY_S for e in result.events
    )
    console.print(
        f"events found {found}/{len(result.events)}, detections matching no event "
        f"{result.false_events}"
    )
    fast = result.posts_per_cpu_s >= TARGET_POSTS_PER_CPU_S
    console.print(
        f"speed: {result.posts:,} posts in {result.cpu_s:.2f} CPU-s ({result.wall_s:.2f} s wall): "
        f"{result.posts_per_cpu_s:,.0f} posts/CPU-s, target ≥ {TARGET_POSTS_PER_CPU_S:,.0f} "
        f"{_mark(fast)}"
    )
    doc = {"benchmark": "social", "machine": machine, "result": result}
    path = out / "social.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return c.model.f1 >= TARGET_F1 and on_time and fast
