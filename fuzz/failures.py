"""What both fuzzers look for: a detector that failed, told by the dead letter it left.

A job isolates a failing detector (its event becomes a ``plugin-error`` dead
letter and the run goes on); a fuzzer must stop on it instead.
"""

from __future__ import annotations

from citywatch.bus import DEAD_LETTERS
from citywatch.model import DeadLetter
from citywatch.pipeline import Job

_letters: list[DeadLetter] = []


def watch(job: Job) -> Job:
    """Collect ``job``'s dead letters from now on (for :func:`check`); the job itself."""
    job.bus.subscribe(DEAD_LETTERS, _letters.extend)
    return job


def check() -> None:
    """Raise with the reason and the event if a detector failed since the last call."""
    failed = [letter for letter in _letters if letter.code == "plugin-error"]
    _letters.clear()
    if failed:
        raise RuntimeError(f"{failed[0].reason} on {failed[0].raw!r:.3000}")
