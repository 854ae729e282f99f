"""Writing the IoT fleet's day: Zeek conn/dns logs, MQTT telemetry, the portal flood, truth.

:func:`write_iot` is what :func:`citywatch.simulate.simulate` calls after the
portal: it writes the inventory and the inputs into the run's directory,
writes one ``iot-truth.jsonl`` line per record (as ``truth.jsonl``) (``file``, ``line``, label,
technique and the device it concerns as ``actor``), and returns the inputs
for the manifest and the situations for ``situations.json``.
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Final, NamedTuple, TextIO

import msgspec

from citywatch.bench.zeekgen import FIELDS, TYPES
from citywatch.simulate.iot.botnet import ATTACKER, C2, TITLE, botnet, plan
from citywatch.simulate.iot.fleet import Device, build_fleet, write_inventory
from citywatch.simulate.iot.records import Conn, Dns, Rec
from citywatch.simulate.iot.traffic import (
    ROGUE_ID,
    ROGUE_IP,
    SITUATION_ROGUE,
    device_traffic,
    maintenance,
    rogue_traffic,
)
from citywatch.simulate.manifest import ManifestFile, Phase, Situation
from citywatch.simulate.rand import substream
from citywatch.simulate.schedule import SITUATION_IOT_BOTNET
from citywatch.simulate.writers import Clock, HttpRecord, TruthRecord

INVENTORY: Final = "iot-inventory.csv"
CONN: Final = "iot-conn.log"
DNS: Final = "iot-dns.log"
TELEMETRY: Final = "iot-telemetry.jsonl"
FLOOD: Final = "iot-flood.http.jsonl"
TRUTH: Final = "iot-truth.jsonl"
VULNERABLE_FIRMWARE: Final = "5.4.0"
"""Patient zero's firmware: listed in the shipped advisory file."""
_DNS_FIELDS: Final = [
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt",
    "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC",
    "RD", "RA", "Z", "answers", "TTLs", "rejected",
]  # fmt: skip


class IotOutput(NamedTuple):
    inputs: list[ManifestFile]
    situations: list[Situation]


def _header(path: str, fields: list[str], types: list[str] | None) -> str:
    head = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
    head += f"#path\t{path}\n#fields\t" + "\t".join(fields) + "\n"
    return head + ("#types\t" + "\t".join(types) + "\n" if types else "")


def _conn_line(ts: str, c: Conn) -> str:
    opk = c.orig_bytes // 500 + (3 if c.state == "SF" else 1)
    rpk = c.resp_bytes // 1400 + (2 if c.state == "SF" else 0)
    return (
        f"{ts}\t{c.uid}\t{c.src}\t{c.sport}\t{c.dst}\t{c.dport}\t{c.proto}\t{c.service}\t"
        f"{c.duration:.6f}\t{c.orig_bytes}\t{c.resp_bytes}\t{c.state}\tT\tF\t0\t{c.history}\t"
        f"{opk}\t{c.orig_bytes + 40 * opk}\t{rpk}\t{c.resp_bytes + 40 * rpk}\t(empty)\n"
    )


def _dns_line(ts: str, d: Dns) -> str:
    answers = ",".join(d.answers) or "-"
    ttls = ",".join("300.000000" for _ in d.answers) or "-"
    return (
        f"{ts}\t{d.uid}\t{d.src}\t{d.sport}\t{d.dst}\t53\tudp\t{sum(map(ord, d.uid)) & 0xFFFF}\t0.012\t"  # noqa: E501
        f"{d.query}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF\n"
    )


class _Files:
    """The open output files, each with its line counter and truth."""

    def __init__(self, out: Path, clock: Clock, truth: TextIO) -> None:
        self.clock, self.truth = clock, truth
        self.fh = {
            "conn": (out / CONN).open("w", encoding="utf-8", newline="\n"),
            "dns": (out / DNS).open("w", encoding="utf-8", newline="\n"),
            "mqtt": (out / TELEMETRY).open("w", encoding="utf-8", newline="\n"),
            "http": (out / FLOOD).open("w", encoding="utf-8", newline="\n"),
        }
        self.names = {"conn": CONN, "dns": DNS, "mqtt": TELEMETRY, "http": FLOOD}
        self.lines = dict.fromkeys(self.fh, 0)
        self.fh["conn"].write(_header("conn", FIELDS, TYPES))
        self.fh["dns"].write(_header("dns", _DNS_FIELDS, None))
        self.lines["conn"] = 7
        self.lines["dns"] = 6
        self._encode = msgspec.json.Encoder().encode

    def write(self, rec: Rec, n: int) -> None:
        kind, row = rec.kind, rec.row
        ts = f"{rec.ms / 1000:.6f}"
        if isinstance(row, Conn):
            text, rid = _conn_line(ts, row), row.uid
        elif isinstance(row, Dns):
            text, rid = _dns_line(ts, row), row.uid
        elif isinstance(row, HttpRecord):
            row = msgspec.structs.replace(row, timestamp=self.clock.iso(rec.ms))
            text, rid = self._encode(row).decode() + "\n", row.id
        else:
            assert isinstance(row, dict)
            rid = f"mqtt-{n:07d}"
            text = self._encode({"id": rid, "time": self.clock.iso(rec.ms), **row}).decode()
            text += "\n"
        self.fh[kind].write(text)
        self.lines[kind] += 1
        label = rec.label
        truth = TruthRecord(
            rid, self.names[kind], self.lines[kind], label.label, label.scenario,
            label.technique, label.actor,
        )  # fmt: skip
        self.truth.write(self._encode(truth).decode() + "\n")

    def close(self) -> None:
        for fh in self.fh.values():
            fh.close()


def write_iot(seed: int, out: Path, start: int, span: int, clock: Clock) -> IotOutput:
    """Write the fleet's inputs, inventory and truth (:data:`TRUTH`) into ``out``."""
    devices = build_fleet(seed)
    infections = plan(devices, start, span)
    write_inventory(out / INVENTORY, devices, {infections[0].device.id: VULNERABLE_FIRMWARE})
    rng = substream(seed, "iot-traffic")
    end = start + span
    benign = chain.from_iterable(device_traffic(rng, d, start, end) for d in devices)
    changes = chain.from_iterable(maintenance(d, start, end) for d in devices[120:124])
    recs = [*benign, *changes, *rogue_traffic(rng, start, end), *botnet(seed, devices, start, span)]
    recs.sort(key=lambda r: r.ms)
    truth = (out / TRUTH).open("w", encoding="utf-8", newline="\n")
    files = _Files(out, clock, truth)
    phases: dict[tuple[str, str], list[int]] = {}
    ips: dict[tuple[str, str], dict[str, None]] = {}
    try:
        for n, rec in enumerate(recs, 1):
            files.write(rec, n)
            if rec.label.scenario is not None:
                key = (rec.label.technique or "", rec.label.actor or "")
                row = phases.setdefault(key, [rec.ms, rec.ms, 0])
                row[1], row[2] = rec.ms, row[2] + 1
                ips.setdefault(key, {})[_source(rec)] = None
    finally:
        files.close()
        truth.close()
    inputs = [
        ManifestFile("zeek-conn", CONN),
        ManifestFile("zeek-dns", DNS),
        ManifestFile("mqtt-jsonl", TELEMETRY),
        ManifestFile("http-jsonl", FLOOD),
    ]
    by_device = {d.id: d for d in devices}
    situations = []
    for sid, title in ((SITUATION_IOT_BOTNET, TITLE), (SITUATION_ROGUE, _ROGUE_TITLE)):
        rows = {k: v for k, v in phases.items() if _scenario(k, sid)}
        if rows:
            situations.append(_situation(sid, title, rows, ips, by_device, clock))
    return IotOutput(inputs, situations)


_ROGUE_TITLE: Final = "A device on the fleet network that is not in the inventory"


def _scenario(key: tuple[str, str], sid: str) -> bool:
    return (key[1] == ROGUE_ID) == (sid == SITUATION_ROGUE)


def _source(rec: Rec) -> str:
    row = rec.row
    if isinstance(row, Conn | Dns):
        return row.src
    if isinstance(row, HttpRecord):
        return row.source_ip
    assert isinstance(row, dict)
    return str(row.get("source.ip", ""))


def _situation(
    sid: str,
    title: str,
    rows: dict[tuple[str, str], list[int]],
    ips: dict[tuple[str, str], dict[str, None]],
    devices: dict[str, Device],
    clock: Clock,
) -> Situation:
    phases = [
        Phase(
            technique=technique,
            actor=actor,
            start=clock.iso(first),
            end=clock.iso(last),
            records=count,
            source_ips=[ip for ip in ips[(technique, actor)] if ip],
        )
        for (technique, actor), (first, last, count) in rows.items()
    ]
    actors = list(dict.fromkeys(p.actor for p in phases))
    device_ips = [devices[a].ip if a in devices else ROGUE_IP for a in actors]
    entities = {"device.id": actors, "source.ip": device_ips}
    if sid == SITUATION_IOT_BOTNET:
        entities["destination.ip"] = [C2]
        entities["source.ip"] = [ATTACKER, *device_ips]
    return Situation(
        id=sid,
        title=title,
        silo="iot",
        start=clock.iso(min(r[0] for r in rows.values())),
        end=clock.iso(max(r[1] for r in rows.values())),
        entities=entities,
        techniques=list(dict.fromkeys(p.technique for p in phases)),
        records=sum(p.records for p in phases),
        phases=phases,
    )


def with_inventory(
    detectors: dict[str, dict[str, object]], city: Path
) -> dict[str, dict[str, object]]:
    """Detector configs where ``iot-fleet`` reads the simulated city's inventory (unless set)."""
    iot = dict(detectors.get("iot-fleet", {}))
    iot.setdefault("inventory", str(city / INVENTORY))
    return {**detectors, "iot-fleet": iot}
