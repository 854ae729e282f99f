"""The IoT benchmark's speed part on a small log (the full run is ``make bench``)."""

from __future__ import annotations

from pathlib import Path

from citywatch.bench import iot


def test_speed_measures_both_logs_and_the_scanner_is_present(tmp_path: Path) -> None:
    rows = iot.speed(tmp_path, records=5000)
    assert len(rows) == 4 and all(r.records == 5000 and r.records_per_cpu_s > 0 for r in rows)
    assert rows[0].detector_cpu_s is not None and rows[2].detector_cpu_s is None
    assert rows[2].label.startswith("citywatch analyse")
    text = (tmp_path / "iot-conn-5000-scan.log").read_text()
    assert text.count("10.20.0.7\t") > 1000
