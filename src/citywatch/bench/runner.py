"""Running the real ``citywatch`` command as a child and measuring it exactly.

``os.wait4`` gives the child's own CPU time, so the figures are those of the
command a user runs, not of the benchmark around it. Its peak RSS is read
from ``/proc/PID/status`` (``VmHWM``) while it runs: Linux's ``ru_maxrss``
of a child starts from the parent's own peak at the fork, so a benchmark that
has loaded a large model would be counted in every child after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_POLL_S = 0.02
"""How often the child's peak RSS is read while it runs."""


def _hwm_kb(pid: int) -> int:
    """The process's peak resident set (``VmHWM``) in KiB, or 0 where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


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
        peak_kb = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak_kb = max(peak_kb, _hwm_kb(child.pid))
            time.sleep(_POLL_S)
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
        peak_rss_mb=(peak_kb or usage.ru_maxrss) / 1024,
        stdout=stdout,
    )
