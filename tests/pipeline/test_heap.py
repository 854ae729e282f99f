"""A process that runs one job settles its heap once the job has started; a library does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from citywatch.pipeline import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The collector as pytest's process had it, after the test as before."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_library_never_freezes(unfrozen: None) -> None:
    heap.settle()
    assert gc.get_freeze_count() == 0


def test_an_owned_process_freezes_what_is_alive(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heap, "_owned", False)
    heap.own()
    alive = [[i] for i in range(1000)]
    heap.settle()
    assert gc.get_freeze_count() >= len(alive)


def test_an_owned_process_collects_its_young_generation_less_often(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heap, "_owned", False)
    gc.set_threshold(700, 10, 10)
    heap.own()
    assert gc.get_threshold() == (heap.YOUNG, 10, 10)
