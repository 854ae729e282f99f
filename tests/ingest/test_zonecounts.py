"""``zone-counts`` and ``gate-counts``: CSV or JSON lines, bad records as dead letters,
device identifiers counted per interval and never passed on."""

from __future__ import annotations

from pathlib import Path

import msgspec

from citywatch.ingest import GateCountsAdapter, ZoneCountsAdapter
from citywatch.ingest.zonecounts import DROPPED
from citywatch.model import DeadLetter, Event
from citywatch.model.payloads import GateCount, ZoneCount
from citywatch.pipeline.inputs import read_lines

MACS = ["3c:22:fb:01:02:03", "3C-22-FB-01-02-03", "f2:11:22:33:44:55"]
IMSI = "262011234567890"


def test_a_csv_with_a_byte_order_mark_or_a_wrong_header_is_read_or_said_so(
    tmp_path: Path,
) -> None:
    # Excel's "CSV UTF-8" starts with a byte-order mark: every line was a dead letter
    # saying "invalid JSON", as were the lines under a header naming other columns.
    path = tmp_path / "z.csv"
    path.write_bytes(
        b"\xef\xbb\xbftime,venue,zone,source,count,interval_s\r\n"
        b"2026-03-14T07:00:00Z,arena,north,wifi,798,60\r\n"
    )
    (event,) = ZoneCountsAdapter().parse("z.csv", read_lines(path))
    assert isinstance(event, Event) and isinstance(event.payload, ZoneCount)
    wrong = [b"timestamp,venue,zone,source,count\n", b"2026-03-14T07:00:00Z,arena,n,wifi,7\n"]
    letters = list(ZoneCountsAdapter().parse("z.csv", wrong))
    assert [(x.position, x.code) for x in letters] == [(1, "bad-header"), (2, "bad-header")]  # type: ignore[union-attr]
    assert "a CSV header without the column(s) time (it names timestamp, venue" in (
        letters[0].reason  # type: ignore[union-attr]
    )


def test_csv_rows_become_zone_counts_and_bad_rows_dead_letters() -> None:
    lines = [
        b"time,venue,zone,source,count,interval_s\n",
        b"2026-03-14T10:00:00Z,arena,north-stand,wifi,812,60\n",
        b"\n",
        b"2026-03-14T10:00:00Z,arena,north-stand,camera,1500.5,\n",
        b"2026-03-14T10:00:00Z,arena,north-stand,radar,3,60\n",
        b"2026-03-14T10:00:00Z,arena,north-stand,wifi,-3,60\n",
        b"2026-03-14T10:00:00Z,arena,north-stand\n",
        b",arena,north-stand,wifi,3,60\n",
    ]
    items = list(ZoneCountsAdapter().parse("z.csv", lines))
    first, second = items[0], items[1]
    assert isinstance(first, Event) and isinstance(second, Event)
    assert first.payload == ZoneCount(
        venue="arena", zone="north-stand", source="wifi", count=812.0, interval_s=60.0
    )
    assert first.id == "z.csv:2" and first.dataset == "crowd.zone"
    assert isinstance(second.payload, ZoneCount) and second.payload.interval_s == 60.0
    letters = items[2:]
    assert all(isinstance(x, DeadLetter) for x in letters)
    assert [(x.position, x.code) for x in letters] == [  # type: ignore[union-attr]
        (5, "bad-field"),
        (6, "bad-field"),
        (7, "bad-line"),
        (8, "missing-field"),
    ]
    assert "source" in letters[0].reason  # type: ignore[union-attr]


def test_device_identifiers_are_counted_per_interval_and_dropped() -> None:
    rec = {"time": 1773482400, "venue": "arena", "zone": "z", "source": "wifi", "devices": MACS}
    later = {**rec, "time": 1773482460, "devices": [*MACS, IMSI]}
    lines = [msgspec.json.encode(rec), msgspec.json.encode(later)]
    first, second = list(ZoneCountsAdapter().parse("f", lines))
    assert isinstance(first, Event) and isinstance(second, Event)
    assert isinstance(first.payload, ZoneCount) and first.payload.count == 2  # case and separator
    assert isinstance(second.payload, ZoneCount) and second.payload.count == 3
    wire = msgspec.json.encode(first) + msgspec.json.encode(second)
    assert not any(m.encode().lower() in wire.lower() for m in [*MACS, IMSI])


def test_dead_letters_keep_no_device_identifier() -> None:
    bad_list = {"time": "x", "venue": "arena", "zone": "z", "source": "wifi", "devices": MACS}
    both = {"time": 0, "venue": "a", "zone": "z", "source": "wifi", "count": 3, "devices": MACS}
    lines = [
        msgspec.json.encode(bad_list),
        msgspec.json.encode(both),
        b'{"time": 0, "mac": "' + MACS[0].encode() + b'", "imsi": ' + IMSI.encode(),
    ]
    letters = list(ZoneCountsAdapter().parse("f", lines))
    assert [x.code for x in letters if isinstance(x, DeadLetter)] == [
        "bad-field",
        "bad-field",
        "bad-json",
    ]
    assert letters[0].raw == DROPPED and letters[1].raw == DROPPED  # type: ignore[union-attr]
    kept = b"".join(msgspec.json.encode(x) for x in letters)
    assert not any(m.encode().lower() in kept.lower() for m in [*MACS, IMSI])
    assert b"<id>" in letters[2].raw  # type: ignore[union-attr]


def test_gate_counts_csv_and_jsonl() -> None:
    csv_lines = [b"time,venue,gate,in,out\n", b"0,arena,g1,120,3\n", b"0,arena,g2,1.5,0\n"]
    event, letter = list(GateCountsAdapter().parse("g.csv", csv_lines))
    assert isinstance(event, Event) and event.dataset == "crowd.gate"
    assert event.payload == GateCount(venue="arena", gate="g1", entered=120, left=3, interval_s=60)
    assert isinstance(letter, DeadLetter) and "whole number" in letter.reason
    (jsonl,) = GateCountsAdapter().parse(
        "g.jsonl", [b'{"time": 60, "venue": "arena", "gate": "xa", "in": 0, "out": 410}']
    )
    assert isinstance(jsonl, Event) and isinstance(jsonl.payload, GateCount)
    assert jsonl.payload.left == 410
    assert msgspec.json.decode(msgspec.json.encode(jsonl), type=Event) == jsonl
