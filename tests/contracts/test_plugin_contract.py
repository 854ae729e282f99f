"""The contract every plug-in passes: one suite over every registered adapter and detector."""

from __future__ import annotations

import msgspec
import pytest
from pydantic import BaseModel

from citywatch.detect import Detector, DetectorRunner
from citywatch.ingest import Adapter
from citywatch.model import Connection, DeadLetter, Detection, Event, GeoPoint, HttpRequest
from citywatch.plugins import adapter_classes, detector_classes

ADAPTERS = sorted(adapter_classes().items())
DETECTORS = sorted(detector_classes().items())

SAMPLES = [
    Event(id="h", timestamp=1e9, dataset="portal.http", payload=HttpRequest(method="GET", uri="/")),
    Event(
        id="c",
        timestamp=1e9 + 1,
        dataset="network.conn",
        source_ip="10.0.0.1",
        payload=Connection(uid="C1", proto="tcp"),
    ),
    Event(id="g", timestamp=1e9 + 2, dataset="other", geo=GeoPoint(lat=0.0, lon=0.0)),
]


@pytest.mark.parametrize(("name", "cls"), ADAPTERS, ids=[n for n, _ in ADAPTERS])
def test_adapter_declares_itself(name: str, cls: type[Adapter]) -> None:
    assert cls.name == name
    assert cls.dataset and cls.description
    assert issubclass(cls.config_model, BaseModel)
    cls.config_model.model_json_schema()


@pytest.mark.parametrize(("name", "cls"), ADAPTERS, ids=[n for n, _ in ADAPTERS])
def test_adapter_blank_lines_nothing_garbage_dead_letters(name: str, cls: type[Adapter]) -> None:
    out = list(cls().parse("in", [b"\n", b"   \n", b"\x00\xff garbage \xfe\n", b"{\n"]))
    assert len(out) == 2
    assert all(isinstance(x, DeadLetter) for x in out)
    assert [x.position for x in out] == [3, 4]
    assert all(x.format == name and x.reason and x.code for x in out)  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "cls"), DETECTORS, ids=[n for n, _ in DETECTORS])
def test_detector_declares_itself(name: str, cls: type[Detector]) -> None:  # type: ignore[type-arg]
    assert cls.name == name and cls.description
    assert issubclass(cls.state_type, msgspec.Struct)
    cls.config_model.model_json_schema()
    cls(cls.config_model())


@pytest.mark.parametrize(("name", "cls"), DETECTORS, ids=[n for n, _ in DETECTORS])
def test_detector_survives_any_event_and_round_trips_state(name: str, cls: type[Detector]) -> None:  # type: ignore[type-arg]
    errors: list[Exception] = []
    runner = DetectorRunner(cls(), lambda n, e, x: errors.append(x))
    out: list[Detection] = []
    for event in SAMPLES:
        runner.process(event, out)
        runner.learn(event)
    assert errors == []
    copy = DetectorRunner(cls(), lambda n, e, x: errors.append(x))
    copy.restore(runner.snapshot())
    assert copy.states == runner.states
    runner.flush(out)
    assert runner.states == {}
    for detection in out:
        assert 1 <= detection.severity <= 100 and detection.evidence
