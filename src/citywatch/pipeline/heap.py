"""The heap of a process that runs one job: what is alive once it has started lives on.

A full collection of the cyclic garbage collector walks every tracked
object; a job's code, rules, learned models and restored states are many
objects, alive as long as the process, and walked again at every full
collection (the portal detectors spent about a tenth of their time there).
:func:`settle`, called once a job has started (learned, restored), collects
what is garbage then and moves the rest out of the collector's reach
(``gc.freeze``). Only in a process that said, with :func:`own`, that it runs
one job (the command line, the benchmarks): in a library that builds many
jobs, frozen objects that later become cyclic garbage would never be freed.

Such a process also collects its youngest generation less often
(:data:`YOUNG`): a request's analysis makes thousands of short-lived
containers, freed by reference counting, and a collection every 700 of them
(Python's default) mostly finds nothing (about 4 % of the portal job's time, timed
alone in alternating runs; within the noise of the benchmark's figures).
"""

from __future__ import annotations

import gc
from typing import Final

_owned = False

YOUNG: Final = 10_000
"""Allocations between two collections of the youngest generation in an owned process."""


def own() -> None:
    """Declare that this process runs one job at a time and lives as long as it."""
    global _owned  # noqa: PLW0603 - one flag for the process, set by its entry point
    _owned = True
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)


def settle() -> None:
    """In an owned process: collect the garbage there is, then keep the collector off what
    is alive now."""
    if _owned:
        gc.collect()
        gc.freeze()
