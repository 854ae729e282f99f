"""Running the real ``citywatch`` command as a child and measuring it exactly.

``os.wait4`` gives the child's own CPU time and peak RSS, so the figures
are those of the command a user runs, not of the benchmark around it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One child run: wall and CPU seconds, peak resident memory, what it printed."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str


def run_cli(args: list[str], cwd: Path) -> Measured:
    """Run ``citywatch ARGS`` in a child process and measure it; raises if it fails."""
    cmd = [sys.executable, "-m", "citywatch", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)  # noqa: S603
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode:
        raise RuntimeError(
            f"citywatch {' '.join(args)} failed ({child.returncode}): {stderr[-2000:]}"
        )
    return Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        stdout=stdout,
    )
