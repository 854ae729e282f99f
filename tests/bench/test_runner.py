"""The benchmark runner measures the child, not the benchmark around it."""

from __future__ import annotations

from pathlib import Path

from citywatch.bench.runner import run_cli


def test_a_large_parent_does_not_inflate_the_childs_peak_memory(tmp_path: Path) -> None:
    ballast = bytearray(600 * 1024 * 1024)  # the parent holds 600 MB, touched
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    measured = run_cli(["version"], cwd=tmp_path)
    del ballast
    assert measured.stdout.strip()
    assert 5 < measured.peak_rss_mb < 300, measured.peak_rss_mb
    assert measured.cpu_s > 0
