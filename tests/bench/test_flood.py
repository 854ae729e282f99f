from __future__ import annotations

from pathlib import Path

from citywatch.app import analyse
from citywatch.bench.flood import CLIENTS, TARGET_PER_CLIENT, write_flood
from citywatch.config import load_settings
from citywatch.pipeline import InputSpec


def test_a_flood_from_a_few_clients_is_a_handful_of_detections(tmp_path: Path) -> None:
    log = tmp_path / "flood.log"
    write_flood(log, 6000)
    result = analyse(
        load_settings(data_dir=tmp_path / "data"),
        [InputSpec.parse(f"access-log:{log}")],
        None,
        command="test",
    )
    detections = result.job.detections()
    assert 0 < len(detections) <= TARGET_PER_CLIENT * len(CLIENTS), "merged per client and class"
    supported = {e for d in detections for e in d.evidence}
    assert supported == {f"{log}:{n}" for n in range(1, 6001)}, "every request is evidence"
    (incident,) = result.job.correlator.incidents()
    assert sorted(incident.entities["source.ip"]) == sorted(CLIENTS)
