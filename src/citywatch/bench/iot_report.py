"""``make bench`` IoT tables: quality on the botnet scenario beside River and PyOD, and speed."""

from __future__ import annotations

from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from citywatch.bench import iot

_OK = {True: "[green]yes[/]", False: "[red]NO[/]"}


def report(console: Console, out: Path, work: Path, machine: dict[str, str | int]) -> bool:
    """Run the IoT benchmark, print its tables, write ``iot.json``; True when targets are met."""
    with console.status("iot: the botnet scenario, citywatch and its peers…"):
        quality = iot.quality(work)
    with console.status("iot: Zeek conn records per CPU-second…"):
        speeds = iot.speed(work)
    worst = max(quality.ttd_s.values(), default=float("inf"))
    table = Table(title="iot: the iot-botnet scenario (device level)")
    for col in ("infected", "flagged", "precision", "recall", "clean flagged", "worst TTD s", "ok"):
        table.add_column(col, justify="right")
    device_ok = not quality.false_positives and not quality.missed and worst <= iot.TTD_TARGET_S
    table.add_row(
        str(quality.infected), str(quality.flagged), f"{quality.precision:.3f}",
        f"{quality.recall:.3f}", str(len(quality.false_positives)), f"{worst:.1f}",
        _OK[device_ok],
    )  # fmt: skip
    console.print(table)
    ttd = Table(title="iot: time to detect per infected device (event time)")
    ttd.add_column("device")
    ttd.add_column("seconds", justify="right")
    for device, seconds in quality.ttd_s.items():
        ttd.add_row(device, f"{seconds:.1f}")
    console.print(ttd)
    auc = Table(
        title=f"iot: record-level ROC AUC on {quality.connections:,} connections, same features"
    )
    for col in ("scorer", "AUC", "CPU s"):
        auc.add_column(col, justify="left" if col == "scorer" else "right")
    for name, value in quality.auc_conn.items():
        auc.add_row(
            name,
            f"{value:.5f}",
            f"{quality.peer_s.get(name, 0.0):.2f}" if name in quality.peer_s else "-",
        )
    console.print(auc)
    console.print(
        f"citywatch AUC over all {quality.records:,} records (conn, dns, telemetry): {quality.auc_all:.5f}"  # noqa: E501
    )
    best_peer = max(v for k, v in quality.auc_conn.items() if k != "citywatch")
    auc_ok = (
        quality.auc_conn["citywatch"] >= iot.AUC_TARGET
        and quality.auc_conn["citywatch"] > best_peer
    )
    speed = Table(title="iot: Zeek conn records per CPU-second")
    for col in ("log", "records", "CPU s", "records/CPU-s", "detector CPU s", "≥50k"):
        speed.add_column(col, justify="left" if col == "log" else "right")
    for s in speeds:
        speed.add_row(
            s.label, f"{s.records:,}", f"{s.cpu_s:.2f}", f"{s.records_per_cpu_s:,.0f}",
            "-" if s.detector_cpu_s is None else f"{s.detector_cpu_s:.2f}", _OK[s.meets_target],
        )  # fmt: skip
    console.print(speed)
    doc = {"benchmark": "iot", "machine": machine, "quality": quality, "speed": speeds}
    path = out / "iot.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
    console.print(f"written: {path}")
    return device_ok and auc_ok and all(s.meets_target for s in speeds)
