"""The iot-fleet detector on the simulated botnet and on hand-made records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from citywatch.detect.iot import IotFleet
from citywatch.detect.iot.config import IotConfig
from citywatch.detect.iot.rules import COMPROMISE
from citywatch.detect.runner import DetectorRunner
from citywatch.model import Connection, Detection, DnsQuery, Event, Telemetry
from citywatch.simulate.iot.fleet import build_fleet, write_inventory

T0 = 1_773_471_600.0


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.csv"
    write_inventory(path, build_fleet(1), {"cam-0006": "5.4.0"})
    return path


def conn(ts: float, src: str, dst: str, port: int, state: str = "SF", resp: int = 100) -> Event:
    uid = f"C{int(ts * 1000):x}{port}"
    return Event(
        id=uid, timestamp=ts, dataset="network.conn", source_ip=src, destination_ip=dst,
        destination_port=port,
        payload=Connection(uid=uid, proto="tcp", conn_state=state, resp_bytes=resp),
    )  # fmt: skip


def tele(ts: float, device: str, kind: str, **fields: object) -> Event:
    payload = Telemetry(topic=f"city/camera/{device}/telemetry", kind=kind, **fields)  # type: ignore[arg-type]
    return Event(
        id=f"m{ts}", timestamp=ts, dataset="iot.telemetry", device_id=device, payload=payload
    )


def run(detector: IotFleet, events: list[Event]) -> dict[str, Detection]:
    errors: list[Exception] = []
    runner = DetectorRunner(detector, lambda _n, _e, exc: errors.append(exc))
    out: list[Detection] = []
    for event in events:
        runner.process(event, out)
        runner.advance(event.timestamp - 60, out)
    runner.flush(out)
    assert not errors
    return {d.id: d for d in out}


def normal(ip: str, until: float) -> list[Event]:
    return [conn(T0 + t, ip, "10.30.0.10", 8883) for t in range(0, int(until - T0), 120)]


def test_scan_after_warm_up_fires_once_per_device_with_uids(inventory: Path) -> None:
    cam = "10.20.1.15"  # cam-0006
    events = normal(cam, T0 + 4000)
    events += [
        conn(T0 + 4000 + i, cam, f"203.0.{i // 250}.{i % 250 + 1}", 23, "S0") for i in range(3000)
    ]
    found = run(IotFleet(IotConfig(inventory=inventory)), events)
    scans = [d for d in found.values() if d.rule_id == "iot.scan"]
    assert len(scans) == 1
    (scan,) = scans
    assert scan.entity == {"device.id": "cam-0006", "source.ip": cam}
    assert "attack.ics.T0846" in scan.tags and scan.attributes["iot"]["class"] == "camera"
    assert scan.attributes["iot"]["uids"][0] in scan.summary
    assert len(scan.evidence) > 2900
    posture = {d.rule_id for d in found.values()}
    assert "iot.posture.vulnerable-firmware" in posture  # 5.4.0 is in the shipped advisories


def test_a_c2_beacon_on_a_remote_access_port_is_not_scanning(inventory: Path) -> None:
    # A beacon to one C2 host on 6667 (IRC, a remote-access port) was taken for scanning: each
    # contact was scan evidence and kept the episode open, five hours of "scanning" for ten
    # minutes of scan, and the C2's flows were in the scan's evidence as well as the C2's.
    cam = "10.20.1.15"
    events = normal(cam, T0 + 4000)
    scan = [conn(T0 + 4000 + i, cam, f"203.0.113.{i + 1}", 23, "S0") for i in range(40)]
    beacons = [conn(T0 + 4100 + 60 * i, cam, "91.92.241.17", 6667) for i in range(60)]
    found = run(IotFleet(IotConfig(inventory=inventory)), events + scan + beacons)
    (detected,) = [d for d in found.values() if d.rule_id == "iot.scan"]
    # the first contact is a new address on a remote-access port like any probe; no more
    assert len(set(detected.evidence) - {e.id for e in scan}) <= 1
    assert detected.last_seen.timestamp() <= T0 + 4100
    (c2,) = [d for d in found.values() if d.rule_id == "iot.c2"]
    assert set(c2.evidence) <= {e.id for e in beacons}


def test_warm_up_is_learned_and_gated_learning_keeps_an_attack_new(inventory: Path) -> None:
    cam = "10.20.1.15"
    beacons = [conn(T0 + 4000 + 60 * i, cam, "91.92.241.17", 6667) for i in range(10)]
    found = run(IotFleet(IotConfig(inventory=inventory)), normal(cam, T0 + 4000) + beacons)
    assert [d.rule_id for d in found.values()] == ["iot.posture.vulnerable-firmware", "iot.c2"]
    # the same beacons inside the trusted warm-up are learned as normal: nothing fires
    early = [conn(T0 + 60 * i, cam, "91.92.241.17", 6667) for i in range(10)]
    found = run(IotFleet(IotConfig(inventory=inventory)), early)
    assert {d.rule_id for d in found.values()} <= {"iot.posture.vulnerable-firmware"}


def test_a_refused_fan_out_fires_in_the_warm_up_but_a_cloud_name_is_learned(
    inventory: Path,
) -> None:
    # A device compromised in its first hour of monitoring had its scan learned as normal.
    # A generated-looking name is still learned then: device clouds have such names.
    cam = "10.20.1.15"

    def lookup(n: int, ts: float, name: str, answer: str) -> Event:
        return Event(
            id=f"D{n}", timestamp=ts, dataset="network.dns", source_ip=cam,
            payload=DnsQuery(uid=f"D{n}", proto="udp", query=name, answers=(answer,)),
        )  # fmt: skip

    cloud = "global.azure-devices-provisioning.net"
    scan = [conn(T0 + 120 + i, cam, f"203.0.113.{i + 1}", 23, "S0") for i in range(30)]
    lookups = [lookup(n, T0 + 60 + 600 * n, cloud, "52.236.189.131") for n in range(12)]
    dga = lookup(99, T0 + 5000, "942cld8m6j9yhj.top", "91.92.241.17")  # after the warm-up
    found = run(IotFleet(IotConfig(inventory=inventory)), [*lookups, *scan, dga])
    by_rule = {d.rule_id: d for d in found.values()}
    assert "iot.scan" in by_rule
    (dns,) = [d for d in found.values() if d.rule_id == "iot.dns"]
    assert dns.attributes["iot"]["remote"] == ["942cld8m6j9yhj.top", "91.92.241.17"]


def test_changes_inside_the_maintenance_window_are_normal(inventory: Path) -> None:
    day = T0 - T0 % 86400
    inside = tele(day + 9 * 3600 + 600, "cam-0001", "config", changed=("ntp",))  # 09:00-09:30 UTC
    outside = tele(day + 15 * 3600, "cam-0001", "config", changed=("dns",))
    found = run(IotFleet(IotConfig(inventory=inventory)), [inside, outside])
    (change,) = found.values()
    assert change.rule_id == "iot.change" and change.evidence == [outside.id]


def test_brute_force_then_default_login_is_an_intrusion(inventory: Path) -> None:
    events = normal("10.20.1.15", T0 + 4000)
    for i in range(6):
        events.append(tele(T0 + 4000 + i, "cam-0006", "login", user="admin", result="failure",
                           method="telnet"))  # fmt: skip
    events.append(
        tele(T0 + 4010, "cam-0006", "login", user="root", result="success", method="telnet")
    )
    rules = {d.rule_id for d in run(IotFleet(IotConfig(inventory=inventory)), events).values()}
    assert {"iot.bruteforce", "iot.intrusion", "iot.posture.default-credentials"} <= rules


def test_unlisted_host_and_a_silent_class(inventory: Path) -> None:
    cams = [f"cam-{n:04d}" for n in range(1, 11)]
    events = [tele(T0 + t, c, "heartbeat", uptime=1.0) for t in range(0, 600, 300) for c in cams]
    events += [
        tele(T0 + t, c, "heartbeat", uptime=1.0) for t in range(600, 4000, 300) for c in cams[:2]
    ]
    events.append(conn(T0 + 100, "10.20.9.99", "10.30.0.10", 8883))
    found = run(IotFleet(IotConfig(inventory=inventory, silent_s=1200)), events)
    rules = {d.rule_id: d for d in found.values()}
    assert rules["iot.unknown"].entity["device.id"] == "unmanaged-10.20.9.99"
    assert len(rules["iot.silent"].attributes["iot"]["devices"]) == 8


def test_records_that_stop_for_every_device_say_nothing_of_the_devices(inventory: Path) -> None:
    # Telemetry ending before the other inputs (its file, or its collector) raised "10 of 10
    # camera devices went silent together" at severity 90, and a day's gap in every record
    # made each device an incident of its own ("no record for 24 h").
    cams = [f"cam-{n:04d}" for n in range(1, 11)]
    events = [tele(T0 + t, c, "heartbeat", uptime=1.0) for t in range(0, 600, 300) for c in cams]
    events += normal("10.20.1.15", T0 + 4000)  # the network's records go on, telemetry does not
    events.sort(key=lambda e: e.timestamp)
    events.append(conn(T0 + 5 * 86400, "198.51.100.7", "10.30.0.10", 443))  # days later
    found = run(IotFleet(IotConfig(inventory=inventory, silent_s=1200, unseen_s=86400)), events)
    rules = {d.rule_id for d in found.values()}
    assert "iot.silent" not in rules and "iot.posture.unseen" not in rules, rules


def test_a_gap_in_the_telemetry_feed_is_one_low_finding_not_silent_classes(
    inventory: Path,
) -> None:
    # 45 min without any telemetry (a broker outage) while the network's records went on raised
    # "camera devices went silent together" at severity 90: the devices last heard a
    # few minutes before the feed's last message crossed silent_s before the feed's own guard
    cams = [f"cam-{n:04d}" for n in range(11, 21)]
    beats = [(t, c) for t in range(0, 7200, 300) for c in cams]
    events = [
        tele(T0 + t + 30 * i, c, "heartbeat", uptime=1.0)
        for t, c in beats
        for i in [cams.index(c)]
        if not 3000 <= t < 5700  # the feed is down from T0+2970 to T0+5700
    ]
    events += normal("10.20.1.15", T0 + 7200)  # cam-0006's flows go on throughout
    events.sort(key=lambda e: e.timestamp)
    found = run(IotFleet(IotConfig(inventory=inventory)), events)
    rules = [d.rule_id for d in found.values()]
    assert "iot.silent" not in rules, rules
    (feed,) = [d for d in found.values() if d.rule_id == "iot.feed"]
    assert feed.severity < 30 and feed.category == "cyber"
    assert feed.summary.startswith("no telemetry from any device for 46 min until it came back")


def test_a_device_still_on_the_network_is_not_silent(inventory: Path) -> None:
    # Cameras whose telemetry stopped while their own flows went on counted as silent
    cams = [f"cam-{n:04d}" for n in range(1, 11)]  # 10.20.1.10 to .19
    events = [tele(T0 + t, c, "heartbeat", uptime=1.0) for t in range(0, 600, 300) for c in cams]
    events += [
        tele(T0 + t, c, "heartbeat", uptime=1.0) for t in range(600, 4000, 300) for c in cams[:2]
    ]
    events += [e for n in range(12, 20) for e in normal(f"10.20.1.{n}", T0 + 4000)]
    events.sort(key=lambda e: e.timestamp)
    found = run(IotFleet(IotConfig(inventory=inventory, silent_s=1200)), events)
    rules = {d.rule_id for d in found.values()}
    assert "iot.silent" not in rules and "iot.feed" not in rules, rules


def test_baselines_survive_a_checkpoint(inventory: Path) -> None:
    cam = "10.20.1.15"
    det = IotFleet(IotConfig(inventory=inventory))
    runner = DetectorRunner(det, lambda *_: None)
    out: list[Detection] = []
    for event in normal(cam, T0 + 4000):
        runner.process(event, out)
    blob, model = runner.snapshot(), det.snapshot_model()
    assert model is not None
    again = IotFleet(IotConfig(inventory=inventory))
    restored = DetectorRunner(again, lambda *_: None)
    restored.restore(blob)
    again.restore_model(model)
    assert "10.30.0.10" in restored.states["dev:cam-0006"].peers
    assert again.snapshot_model() == model
    older = IotFleet(IotConfig(inventory=inventory))  # a checkpoint from before the watch
    older.restore_model(msgspec.msgpack.encode(det.classes))
    assert older.classes == det.classes
    restored.process(conn(T0 + 4100, cam, "10.30.0.10", 8883), out)
    assert not [d for d in out if d.rule_id in COMPROMISE]


def test_trusted_traffic_teaches_the_class_and_a_silent_device_is_unseen(inventory: Path) -> None:
    cam = "10.20.1.15"
    beacons = [conn(T0 + 4000 + 60 * i, cam, "91.92.241.17", 6667) for i in range(10)]
    det = IotFleet(IotConfig(inventory=inventory))
    for event in beacons:  # --learn input: the same flows from a trusted capture
        det.learn(event)
    rules = {d.rule_id for d in run(det, normal(cam, T0 + 4000) + beacons).values()}
    assert "iot.c2" not in rules
    quiet = tele(T0, "cam-0002", "heartbeat", uptime=1.0)
    later = [tele(T0 + 3600 * h, "cam-0003", "heartbeat", uptime=1.0) for h in range(1, 4)]
    found = run(IotFleet(IotConfig(inventory=inventory, unseen_s=7200)), [quiet, *later])
    (unseen,) = [d for d in found.values() if d.rule_id == "iot.posture.unseen"]
    assert unseen.entity["device.id"] == "cam-0002" and unseen.evidence == [quiet.id]


def test_a_finding_repeated_with_new_figures_is_one_reason(inventory: Path) -> None:
    # The device page listed "40+ ... 41+ ... 45+ connections in 10 s" ahead of the C2 lines.
    cam = "10.20.1.15"
    flood = [conn(T0 + 4000 + i * 0.2, cam, "198.51.100.80", 80) for i in range(400)]
    found = run(IotFleet(IotConfig(inventory=inventory)), normal(cam, T0 + 4000) + flood)
    (ddos,) = [d for d in found.values() if d.rule_id == "iot.ddos"]
    reasons = ddos.attributes["iot"]["reasons"]
    assert len(reasons) == 1 and "198.51.100.80:80" in reasons[0]


def _city_day(inventory: Path, cut: set[str], network_too: bool) -> list[Detection]:
    """Every device of the fleet heartbeats and connects every 10 min for 2 h; from 30 min
    the devices in ``cut`` send no more telemetry and, ``network_too``, no records at all."""
    fleet = build_fleet(1)
    events: list[Event] = []
    for t in range(0, 7200, 600):
        for i, d in enumerate(fleet):
            ts = T0 + t + i
            if d.id in cut and t >= 1800:
                if not network_too:
                    events.append(conn(ts, d.ip, "10.30.0.10", 8883))
                continue
            events.append(tele(ts, d.id, "heartbeat"))
            events.append(conn(ts + 0.5, d.ip, "10.30.0.10", 8883))
    errors: list[Exception] = []
    detector = IotFleet(IotConfig(inventory=inventory, unseen_s=3600))
    runner = DetectorRunner(detector, lambda _n, _e, exc: errors.append(exc))
    out: list[Detection] = []
    for event in events:
        runner.process(event, out)
        if event.timestamp % 60 < 1:
            runner.advance(event.timestamp - 60, out)
    runner.advance(T0 + 7200 + 1800, out)  # other records would go on: the area stays dark
    assert not errors
    return list({d.id: d for d in out}.values())


def _district(n: int) -> set[str]:
    """The ``n`` devices nearest the first camera (a district's worth)."""
    fleet = build_fleet(1)
    lat, lon = fleet[0].lat, fleet[0].lon
    near = sorted(fleet, key=lambda d: (d.lat - lat) ** 2 + ((d.lon - lon) * 0.7) ** 2)
    return {d.id for d in near[:n]}


def test_a_district_power_cut_is_one_outage_not_one_finding_per_device(inventory: Path) -> None:
    # A district's 16 devices going dark together raised nothing (class silence needs half a
    # class; a district is a fifteenth of each), then, once unseen, 16 separate incidents.
    cut = _district(16)
    found = _city_day(inventory, cut, network_too=True)
    (outage,) = [d for d in found if d.rule_id == "iot.outage"]
    assert set(outage.attributes["iot"]["devices"]) == cut
    assert outage.attributes["iot"]["classes"] == [
        "camera", "env-sensor", "smart-meter", "street-light", "traffic-controller",
    ]  # fmt: skip
    assert outage.category == "public_safety" and outage.geo is not None
    assert "went offline together" in outage.summary
    assert not [d for d in found if d.rule_id in ("iot.posture.unseen", "iot.silent")]


def test_an_area_whose_telemetry_stops_while_its_network_goes_on_is_no_outage(
    inventory: Path,
) -> None:
    # The guard the outage keeps: devices still on the network are not offline.
    found = _city_day(inventory, _district(16), network_too=False)
    assert not [d for d in found if d.rule_id in ("iot.outage", "iot.silent")]


def _run_restarted(
    make: Callable[[], IotFleet], events: list[Event], at: set[int]
) -> list[Detection]:
    """Run as :func:`run` does, but checkpoint and restart a fresh detector before each
    event index in ``at`` (a restart of ``serve`` or of a scale-out worker)."""
    detector = make()
    runner = DetectorRunner(detector, lambda _n, _e, exc: pytest.fail(str(exc)))
    out: list[Detection] = []
    for i, event in enumerate(events):
        if i in at:
            blob, model = runner.snapshot(), detector.snapshot_model()
            detector = make()
            runner = DetectorRunner(detector, lambda _n, _e, exc: pytest.fail(str(exc)))
            runner.restore(blob)
            if model is not None:
                detector.restore_model(model)
        runner.process(event, out)
        runner.advance(event.timestamp - 60, out)
    runner.flush(out)
    return list({d.id: d for d in out}.values())


def _fleet_day(cut: set[str], gap: tuple[float, float] = (0.0, 0.0)) -> list[Event]:
    """Every device heartbeats and connects every 10 min for 3 h; from 30 min the devices
    in ``cut`` are dark (no records at all); no telemetry at all during ``gap``."""
    events: list[Event] = []
    fleet = build_fleet(1)
    for t in range(0, 10800, 600):
        for i, d in enumerate(fleet):
            ts = T0 + t + i
            if d.id in cut and t >= 1800:
                continue
            if not gap[0] <= t < gap[1]:
                events.append(tele(ts, d.id, "heartbeat"))
            events.append(conn(ts + 0.5, d.ip, "10.30.0.10", 8883))
    return events


@pytest.mark.parametrize(
    ("cut", "gap"), [(_district(16), (0.0, 0.0)), (set(), (3600.0, 6600.0))], ids=["outage", "feed"]
)
def test_an_outage_or_a_feed_gap_survives_a_restart_as_one_finding(
    inventory: Path, cut: set[str], gap: tuple[float, float]
) -> None:
    # The fleet-wide watch (the latest heartbeat, the open feed gap, the open outages and the
    # devices they hold) was not checkpointed: a restart during a district's outage or a
    # broker's gap raised it again as new findings, and lost the one open.
    events = _fleet_day(cut, gap)

    def make() -> IotFleet:
        return IotFleet(IotConfig(inventory=inventory, unseen_s=3600))

    plain = _run_restarted(make, events, set())
    rule = "iot.outage" if cut else "iot.feed"
    assert len([d for d in plain if d.rule_id == rule]) == 1
    restarts = {
        next(i for i, e in enumerate(events) if e.timestamp >= T0 + t) for t in (4200, 5400, 9000)
    }
    restarted = _run_restarted(make, events, restarts)

    def seen(found: list[Detection]) -> list[tuple[str, str, int, str]]:
        return sorted((d.id, d.rule_id, len(d.evidence), d.summary) for d in found)

    assert seen(restarted) == seen(plain)


def test_an_unlisted_device_s_class_is_read_from_its_topic_as_the_adapter_reads_it() -> None:
    # The detector took the second level of any topic as the class: under a root of two
    # levels (region/city/CLASS/ID/telemetry) every unlisted device's class was the city.
    payload = Telemetry(topic="hr/aldmere/air/air-0007/telemetry", kind="heartbeat")
    event = Event(
        id="m1", timestamp=T0, dataset="iot.telemetry", device_id="air-0007", payload=payload
    )
    assert IotFleet().keys(event) == ("dev:air-0007", "cls:air")
    odd = msgspec.structs.replace(payload, topic="hr/aldmere/alarms")
    assert IotFleet().keys(msgspec.structs.replace(event, payload=odd)) == ("dev:air-0007",)
