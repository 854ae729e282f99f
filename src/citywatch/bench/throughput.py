"""Throughput of parse + normalise + enrich + detect + store, per input format.

Each format runs through the real ``citywatch analyse`` (with its SQLite
store and every registered detector, as users run it) in a child process;
figures: records/s, records per CPU-second, peak RSS. The spine's target,
checked on the default row: a 1,000,000-line combined access log at
≥ 50,000 lines/s with peak RSS under 500 MB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from citywatch.bench.runner import run_cli
from citywatch.bench.zeekgen import write_conn_log
from citywatch.detect import DETECTORS
from citywatch.simulate import simulate, write_access_log
from citywatch.simulate.generate import HTTP_JSONL

TARGETS = {"access-log": {"records_per_s": 50_000.0, "peak_rss_mb": 500.0}}


class FormatResult(msgspec.Struct, kw_only=True):
    """One format's figures."""

    format: str
    records: int
    wall_s: float
    cpu_s: float
    records_per_s: float
    records_per_cpu_s: float
    peak_rss_mb: float
    target_records_per_s: float | None = None
    target_peak_rss_mb: float | None = None
    meets_target: bool | None = None


def _prepare(work: Path, fmt: str, lines: int) -> tuple[Path, int]:
    work.mkdir(parents=True, exist_ok=True)
    if fmt == "access-log":
        path = work / f"access-{lines}.log"
        writer: Callable[[Path, int], int] = write_access_log
    elif fmt == "zeek-conn":
        path = work / f"conn-{lines}.log"
        writer = write_conn_log
    else:
        city = work / "city-http"
        manifest = simulate(7, city, hours=24.0, residents=12000)
        (spec,) = [i for i in manifest.inputs if i.path == HTTP_JSONL]  # the portal's own traffic
        path = city / spec.path
        return path, sum(1 for _ in path.open("rb"))
    if not path.exists():
        partial = path.with_suffix(".partial")
        writer(partial, lines)
        partial.rename(path)
    return path, lines


SPINE_ONLY = "login-abuse"
"""The spine's own detector: the ``+spine`` row measures the pipeline without the portal family."""


def run(work: Path, *, lines: int = 1_000_000) -> list[FormatResult]:
    """Measure every format with every detector (the default), access logs at ``lines`` lines.

    One more access-log row runs the spine's pipeline alone (its login detector), to
    show what the portal family's detectors cost on top of it.
    """
    spine = work / "spine.toml"
    spine.write_text(f"disabled = {sorted(n for n in DETECTORS if n != SPINE_ONLY)!r}\n")
    plans = [
        ("access-log", "access-log", lines, []),
        ("access-log", "access-log (spine detector only)", lines, ["--config", str(spine)]),
        ("http-jsonl", "http-jsonl", 0, []),
        ("zeek-conn", "zeek-conn", lines // 4, []),
    ]
    results = []
    for fmt, label, n, extra in plans:
        path, records = _prepare(work, fmt, n)
        data = work / f"data-{fmt}"
        m = run_cli(
            [
                "analyse",
                "--in",
                f"{fmt}:{path}",
                "--data-dir",
                str(data),
                "-o",
                str(work / f"{fmt}.detections.jsonl"),
                *extra,
            ],
            cwd=work,
        )
        target = TARGETS.get(label, {})
        rate = records / m.wall_s
        result = FormatResult(
            format=label,
            records=records,
            wall_s=round(m.wall_s, 2),
            cpu_s=round(m.cpu_s, 2),
            records_per_s=round(rate),
            records_per_cpu_s=round(records / m.cpu_s),
            peak_rss_mb=round(m.peak_rss_mb, 1),
        )
        if target:
            result.target_records_per_s = target["records_per_s"]
            result.target_peak_rss_mb = target["peak_rss_mb"]
            result.meets_target = (
                rate >= target["records_per_s"] and m.peak_rss_mb < target["peak_rss_mb"]
            )
        results.append(result)
    return results
