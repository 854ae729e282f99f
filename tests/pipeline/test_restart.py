"""A restart in the middle of the scenario yields the same incidents as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.app import build_job
from citywatch.bus import LocalBus
from citywatch.config import load_settings
from citywatch.model import Event, Incident
from citywatch.simulate import simulate
from citywatch.store import open_store

BATCH = 500


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    """Every input of the simulated city, parsed and merged in event time (as ``analyse`` does)."""
    out = tmp_path_factory.mktemp("city")
    manifest = simulate(3, out, hours=2.0, residents=600)
    adapters = build_job(load_settings(data_dir=out / "data"), LocalBus()).adapters
    events: list[Event] = []
    for spec in manifest.inputs:
        with (out / spec.path).open("rb") as lines:
            parsed = adapters[spec.format].parse(spec.path, lines)
            events += [e for e in parsed if isinstance(e, Event)]
    assert len({e.dataset for e in events}) > 2, "several silos"
    return sorted(events, key=lambda e: e.timestamp)


def _view(incidents: list[Incident]) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return sorted((i.id, i.title, i.severity, tuple(i.detections)) for i in incidents)


@pytest.mark.parametrize("cut", [0.3, 0.55, 0.8])
def test_restart_gives_the_same_incidents(
    scenario: list[Event], tmp_path: Path, cut: float
) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    split = int(len(scenario) * cut)

    whole = build_job(settings, LocalBus())
    for i in range(0, len(scenario), BATCH):
        whole.process(scenario[i : i + BATCH])
    whole.flush()
    expected = _view(whole.correlator.incidents())
    assert len(expected) >= 2, "the scenario has incidents in several silos"

    with open_store(settings.store) as store:
        before = build_job(settings, LocalBus())
        for i in range(0, split, BATCH):
            before.process(scenario[i : min(i + BATCH, split)])
        before.save(store)  # the process dies here
        after = build_job(settings, LocalBus())
        assert after.restore(store)
        for i in range(split, len(scenario), BATCH):
            after.process(scenario[i : i + BATCH])
        after.flush()
    assert _view(after.correlator.incidents()) == expected
