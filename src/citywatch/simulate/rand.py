"""Reproducible randomness for the simulation, and fast draws for its hot paths.

Every part of the simulation draws from its own ``random.Random`` stream,
derived from the seed and the part's name, so changing one part (say, more
residents) does not reshuffle another (the attack campaign). Never the global
``random`` module, never the clock.

>>> substream(1, "city").random() == substream(1, "city").random()
True
"""

from __future__ import annotations

import itertools
from bisect import bisect
from collections.abc import Sequence
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")


def substream(seed: int, name: str) -> Random:
    """An independent, reproducible random stream for one part of the simulation."""
    return Random(f"citywatch:{seed}:{name}")


def below(rng: Random, n: int) -> int:
    """A uniform integer in ``[0, n)``; several times faster than ``randrange``."""
    return int(rng.random() * n)


def pick(rng: Random, items: Sequence[T]) -> T:
    """A uniform choice from ``items``, like ``rng.choice`` but faster."""
    return items[int(rng.random() * len(items))]


def between(rng: Random, low: int, high: int) -> int:
    """A uniform integer in ``[low, high)``, like ``randrange(low, high)`` but faster."""
    return low + int(rng.random() * (high - low))


class Weighted(Generic[T]):
    """Items with relative weights, drawn by bisection (no per-draw set-up)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cum = list(itertools.accumulate(weights))
        self._total = self._cum[-1]

    def draw(self, rng: Random) -> T:
        return self._items[bisect(self._cum, rng.random() * self._total)]
