"""`python -m citywatch.bench --only crowd` runs, writes its JSON and meets the targets."""

from __future__ import annotations

import json
from pathlib import Path

from citywatch.bench.__main__ import main


def test_crowd_bench_meets_its_targets(tmp_path: Path) -> None:
    assert main(["--only", "crowd", "--out", str(tmp_path), "--work", str(tmp_path / "w")]) == 0
    doc = json.loads((tmp_path / "crowd.json").read_text())
    assert doc["meets_targets"] is True
    result = doc["result"]
    assert {s["scenario"] for s in result["scenarios"]} == {
        "normal", "crush", "blocked-exit", "evacuation",
    }  # fmt: skip
    assert all(z["median_ape"] <= 0.15 for z in result["zones"]) and len(result["zones"]) == 10
    assert result["venue_egress_full_min"] <= 8.0
