"""The earthquake silo over HTTP: exposure and phone triggers into the live pipeline."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from citywatch.config import Settings
from citywatch.detect import DETECTORS
from citywatch.simulate.city import LAT, LON, build_city
from citywatch.simulate.quake.exposure import exposure_features
from citywatch.simulate.quake.physics import Quake, place_phones, quake_triggers
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Only the quake detector: the silo is under test."""
    return Settings(data_dir=tmp_path / "data", disabled=[n for n in DETECTORS if n != "quake"])


def ndjson(records: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def test_phone_triggers_posted_live_make_a_quake(
    client: TestClient, store: Store, auth: Auth
) -> None:
    rng = np.random.default_rng(3)
    city = build_city(4, residents=60)
    headers = {**auth("ingest"), **NDJSON}
    exposure = client.post(
        "/api/v1/ingest/exposure", content=ndjson(exposure_features(city, rng)), headers=headers
    )
    assert exposure.status_code == 202, exposure.text
    lon = LON + 10 / (111.195 * math.cos(math.radians(LAT)))
    quake = Quake("live", 1_773_489_960.0, LAT - 0.1, lon, 10.0, 5.0)
    triggers = quake_triggers(quake, place_phones(city, rng), rng)
    for start in range(0, len(triggers), 100):  # as a gateway would batch them
        response = client.post(
            "/api/v1/ingest/phone-triggers?source=app-gw",
            content=ndjson(triggers[start : start + 100]),
            headers=headers,
        )
        assert response.status_code == 202, response.text
        assert response.json()["dead_letters"] == 0
    (detection,) = store.detections(detector="quake")
    assert detection.rule_id == "quake.detected"
    assert abs(detection.attributes["quake"]["magnitude"] - 5.0) <= 0.5
    (incident,) = store.incidents()
    assert incident.category == "public_safety"
