"""The API's STIX and MISP exports leave out what the share-intel step leaves out: addresses in
the city's own networks and in networks many people share (``respond.own_networks``,
``respond.shared_networks``). An analyst who downloads an export for the CERT gives partners
what the step would not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import stix2  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from citywatch.config import Settings
from citywatch.detect import DETECTORS
from citywatch.respond.playbook import RespondConfig
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


@pytest.fixture(params=["own", "shared"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The seeded incident's address (203.0.113.9) in the city's own or in a shared network."""
    respond = (
        RespondConfig(own_networks=("203.0.113.0/24",))
        if request.param == "own"
        else RespondConfig(shared_networks={"203.0.113.0/24": "Aldmere Mobile's CGNAT"})
    )
    return Settings(
        data_dir=tmp_path / "data",
        disabled=[n for n in DETECTORS if n != "sigma"],
        respond=respond,
    )


def test_an_export_names_no_address_the_share_intel_step_leaves_out(
    client: TestClient, auth: Auth, seeded: Store
) -> None:
    stix = client.get("/api/v1/incidents/inc-1/stix", headers=auth("analyst"))
    assert stix.status_code == 200, stix.text
    bundle = stix2.parse(stix.content, allow_custom=False)
    patterns = [o.pattern for o in bundle.objects if o.type == "indicator"]
    assert not any("203.0.113.9" in p for p in patterns), patterns
    misp = client.get("/api/v1/incidents/inc-1/misp", headers=auth("analyst"))
    assert misp.status_code == 200, misp.text
    values = [a["value"] for a in misp.json()["Event"]["Attribute"]]
    assert "203.0.113.9" not in values, values
