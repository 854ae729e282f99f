"""A restart in the middle of a scenario yields the same incidents as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.app import build_job
from citywatch.bus import LocalBus
from citywatch.config import Settings, load_settings
from citywatch.model import Incident
from citywatch.pipeline import Job
from citywatch.simulate import Manifest, simulate
from citywatch.store import open_store

BATCH = 200


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[str, list[bytes]]]]:
    out = tmp_path_factory.mktemp("city")
    manifest = simulate(3, out, hours=2.0, residents=600)
    inputs = []
    for spec in manifest.inputs:
        inputs.append((spec.format, (out / spec.path).read_bytes().splitlines(keepends=True)))
    assert Manifest.load(out).inputs
    return out, inputs


def _feed(job: Job, inputs: list[tuple[str, list[bytes]]], start: int, stop: int) -> None:
    for fmt, lines in inputs:
        for i in range(start, min(stop, len(lines)), BATCH):
            job.feed(fmt, f"batch-{fmt}-{i}", lines[i : min(i + BATCH, stop)])


def _view(incidents: list[Incident]) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return sorted((i.id, i.title, i.severity, tuple(i.detections)) for i in incidents)


@pytest.mark.parametrize("cut", [0.3, 0.55, 0.8])
def test_restart_gives_the_same_incidents(
    scenario: tuple[Path, list[tuple[str, list[bytes]]]], tmp_path: Path, cut: float
) -> None:
    _, inputs = scenario
    total = max(len(lines) for _, lines in inputs)
    split = int(total * cut)
    settings: Settings = load_settings(data_dir=tmp_path / "data")

    whole = build_job(settings, LocalBus())
    _feed(whole, inputs, 0, total)
    whole.flush()
    expected = _view(whole.correlator.incidents())
    assert expected, "the scenario has incidents"

    with open_store(settings.store) as store:
        before = build_job(settings, LocalBus())
        _feed(before, inputs, 0, split)
        before.save(store)  # the process dies here
        after = build_job(settings, LocalBus())
        assert after.restore(store)
        _feed(after, inputs, split, total)
        after.flush()
    assert _view(after.correlator.incidents()) == expected
