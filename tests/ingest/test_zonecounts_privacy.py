"""No device identifier reaches storage, logs or output.

A Wi-Fi/cell feed that lists the MAC addresses and IMSIs it saw is analysed
by the real ``citywatch analyse`` in a child process, at debug log level,
into a real SQLite store and output files, with malformed records among the
good ones (dead letters keep raw bytes). Every byte written, stored, printed
and logged is then searched for every identifier, in every spelling.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

T0 = 1_773_496_800  # 2026-03-14 14:00 UTC


def _identifiers(rng: random.Random, n: int) -> list[str]:
    macs = [":".join(f"{rng.randrange(256):02x}" for _ in range(6)) for _ in range(n)]
    imsis = [f"26201{rng.randrange(10**10):010d}" for _ in range(n // 4)]
    return macs + imsis


def _spellings(identifier: str) -> set[bytes]:
    bare = identifier.replace(":", "")
    forms = {identifier, identifier.upper(), bare, bare.upper(), identifier.replace(":", "-")}
    return {f.encode() for f in forms}


def test_device_identifiers_never_reach_store_logs_or_output(tmp_path: Path) -> None:
    rng = random.Random(5)
    seen: set[str] = set()
    zone_lines = []
    for minute in range(30):
        for zone in ("north-stand", "concourse-n"):
            ids = _identifiers(rng, 60)
            seen.update(ids)
            rec = {"time": T0 + 60 * minute, "venue": "arena", "zone": zone, "source": "wifi"}
            zone_lines.append(json.dumps({**rec, "devices": ids}))
    bad = _identifiers(rng, 8)
    seen.update(bad)
    base = {"venue": "arena", "zone": "north-stand", "source": "wifi"}
    zone_lines += [
        json.dumps({**base, "time": "not a time", "devices": bad[:2]}),
        json.dumps({**base, "time": T0, "count": 4, "devices": bad[2:4]}),
        json.dumps({**base, "time": T0, "devices": [bad[4], {"nested": bad[5]}]}),
        f'{{"time": {T0}, "mac": "{bad[6]}", "imsi": "{bad[-1]}"',  # broken JSON
        f"{bad[7]},{bad[-2]}",
    ]
    counts = tmp_path / "zone-counts.jsonl"
    counts.write_text("\n".join(zone_lines) + "\n")
    gates = tmp_path / "gate-counts.csv"
    gates.write_text(
        "time,venue,gate,in,out\n"
        + "".join(f"{T0 + 60 * m},arena,g1,{40 + m},0\n" for m in range(30))
    )
    data, out, incidents = tmp_path / "data", tmp_path / "d.jsonl", tmp_path / "i.jsonl"
    child = subprocess.run(
        [
            sys.executable, "-m", "citywatch", "-vv", "analyse",
            "--in", f"zone-counts:{counts}", "--in", f"gate-counts:{gates}",
            "-o", str(out), "--incidents", str(incidents), "--data-dir", str(data),
        ],
        capture_output=True, check=False, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-2000:]
    assert b"bad-json" in child.stdout and b"bad-field" in child.stdout, "dead letters reported"
    written = [child.stdout, child.stderr, out.read_bytes(), incidents.read_bytes()]
    stored = [p.read_bytes() for p in data.rglob("*") if p.is_file()]
    assert any(b"bad-json" in s for s in stored), "the dead letters are stored"
    everything = b"\n".join(written + stored)
    leaked = sorted(i for i in seen if any(s in everything for s in _spellings(i)))
    assert leaked == [], f"device identifiers leaked: {leaked[:5]}"
    assert len(seen) > 3000
