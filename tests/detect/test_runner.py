from __future__ import annotations

from typing import ClassVar

import msgspec
from pydantic import BaseModel

from citywatch.detect import Detector, DetectorRunner
from citywatch.ingest import NoConfig
from citywatch.model import Detection, Event


class _Count(msgspec.Struct):
    n: int = 0


class _Flaky(Detector[_Count]):
    name: ClassVar[str] = "flaky"
    description: ClassVar[str] = "fails on odd ids"
    config_model: ClassVar[type[BaseModel]] = NoConfig
    state_type: ClassVar[type[msgspec.Struct]] = _Count
    datasets: ClassVar[frozenset[str]] = frozenset({"d"})

    def keys(self, event: Event) -> tuple[str, ...]:
        return ("k",)

    def new_state(self, key: str) -> _Count:
        return _Count()

    def update(self, key: str, state: _Count, event: Event, out: list[Detection]) -> None:
        if int(event.id) % 2:
            raise RuntimeError("boom")
        state.n += 1

    def expire(self, key: str, state: _Count, watermark: float, out: list[Detection]) -> bool:
        if key == "k" and state.n > 100:
            raise ValueError("expire boom")
        return watermark > 1e9


def test_failures_are_isolated_and_reported() -> None:
    errors: list[tuple[str, str | None, str]] = []
    runner = DetectorRunner(
        _Flaky(), lambda name, ev, exc: errors.append((name, ev.id if ev else None, str(exc)))
    )
    out: list[Detection] = []
    for i in range(10):
        runner.process(Event(id=str(i), timestamp=float(i), dataset="d"), out)
    assert runner.states["k"].n == 5
    assert [e[1] for e in errors] == ["1", "3", "5", "7", "9"]
    assert errors[0][0] == "flaky" and errors[0][2] == "boom"


def test_other_datasets_are_not_seen() -> None:
    runner = DetectorRunner(_Flaky(), lambda *a: None)
    runner.process(Event(id="0", timestamp=0.0, dataset="other"), [])
    assert runner.states == {}


def test_failing_expire_drops_the_state_and_reports() -> None:
    errors: list[str] = []
    runner = DetectorRunner(_Flaky(), lambda n, e, x: errors.append(str(x)))
    runner.states["k"] = _Count(n=101)
    runner.advance(0.0, [])
    assert errors == ["expire boom"] and runner.states == {}


def test_idle_states_are_dropped_on_advance() -> None:
    runner = DetectorRunner(_Flaky(), lambda *a: None)
    runner.process(Event(id="0", timestamp=0.0, dataset="d"), [])
    runner.advance(10.0, [])
    assert "k" in runner.states
    runner.advance(2e9, [])
    assert runner.states == {}
