"""The IoT benchmark's speed part on a small log (the full run is ``make bench``)."""

from __future__ import annotations

from pathlib import Path

from citywatch.bench import iot


def test_speed_measures_both_logs_and_the_scanner_is_present(tmp_path: Path) -> None:
    plain, scanning = iot.speed(tmp_path, records=5000)
    assert plain.records == scanning.records == 5000
    assert plain.cpu_s > 0 and plain.records_per_cpu_s > 0
    text = (tmp_path / "iot-conn-5000-scan.log").read_text()
    assert text.count("10.20.0.7\t") > 1000
