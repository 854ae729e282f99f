"""The earthquake silo of the simulated city: its files, its truth, its physics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citywatch.detect.quake.relations import cdi, mean_answers
from citywatch.simulate import schedule
from citywatch.simulate.quake.physics import answers_for

from .conftest import Run


def test_the_quake_situation_and_its_inputs(run: Run) -> None:
    formats = {i.format: i.path for i in run.manifest.inputs}
    assert {"exposure", "phone-triggers", "felt-reports"} <= set(formats)
    (situation,) = [s for s in run.situations if s["id"] == schedule.SITUATION_QUAKE]
    assert "quake" in situation["silo"].split("+"), "the social silo sees it too"
    truth = json.loads((run.out / "quake-truth.json").read_text())
    assert truth["quake"]["magnitude"] == schedule.QUAKE_MAGNITUDE
    assert (truth["quake"]["lat"], truth["quake"]["lon"]) == (
        schedule.QUAKE_LAT,
        schedule.QUAKE_LON,
    )
    start = run.manifest.start.timestamp()
    span = run.manifest.end.timestamp() - start
    assert truth["quake"]["origin"] == pytest.approx(start + span * schedule.QUAKE_ORIGIN)
    triggers = [
        json.loads(x) for x in (run.out / formats["phone-triggers"]).read_text().splitlines()
    ]
    times = [t["time"] for t in triggers]
    assert times == sorted(times)
    shaken = [t for t in triggers if t["id"].startswith("quake-demo-")]
    assert len(shaken) == truth["triggers"] == situation["phases"][0]["records"]
    assert all(t["time"] > truth["quake"]["origin"] for t in shaken), "no trigger before the P wave"
    assert any(t["id"].startswith("alarm-") for t in triggers), "the stadium crowd is in there"
    assert any(t["id"].startswith("forged-") for t in triggers), "and the forger"
    assert truth["cells_utm_1km"], "true intensity per reported cell"


@pytest.mark.parametrize("intensity", [2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
def test_answers_give_back_the_intensity_through_dyfi(intensity: float) -> None:
    rng = np.random.default_rng(int(intensity * 10))
    reports = [answers_for(intensity, rng) for _ in range(400)]
    assert cdi(mean_answers(reports)) == pytest.approx(intensity, abs=0.35)
