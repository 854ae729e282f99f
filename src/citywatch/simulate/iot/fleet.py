"""Aldmere's IoT fleet: devices of five classes, each class with its own rhythm.

Devices live in ``10.20.0.0/16`` (one /24 per class); the servers they talk
to (MQTT broker, NTP, DNS, the camera recorder, the meters' head-end, the
traffic centre) in ``10.30.0.0/24``; vendors' clouds outside. Every device
of a class follows the same flows at its own phase, with jitter, so each
device has a steady rhythm the detector can learn.

>>> fleet = build_fleet(1)
>>> len(fleet), sorted({d.device_class for d in fleet})[0]
(240, 'camera')
"""

from __future__ import annotations

import csv
from pathlib import Path
from random import Random
from typing import Final, NamedTuple

from citywatch.simulate.city import LAT, LON
from citywatch.simulate.rand import substream

MQTT_BROKER: Final = "10.30.0.10"
NTP: Final = "10.30.0.2"
RESOLVER: Final = "10.30.0.3"
NVR: Final = "10.30.0.20"
HEADEND: Final = "10.30.0.30"
TRAFFIC_CENTRE: Final = "10.30.0.40"
PORTAL_IP: Final = "193.198.40.10"
"""The citizen portal's public address (what the flood's connections go to)."""
FLEET_NETWORK: Final = "10.20.0.0/16"


class Flow(NamedTuple):
    """A recurring connection of a class: to whom, how often, how big."""

    peer: str
    port: int
    proto: str
    service: str
    period_s: float
    orig_bytes: tuple[int, int]
    resp_bytes: tuple[int, int]
    inbound: bool = False
    """The peer opens the connection (a server polling the device)."""


class DeviceClass(NamedTuple):
    name: str
    size: int
    vendor: str
    model: str
    firmware: str
    flows: tuple[Flow, ...]
    domains: tuple[str, ...]
    heartbeat_s: float
    metrics_s: float


def _cloud(octet: int) -> str:
    return f"52.29.{octet}.{octet * 3 % 250 + 1}"


_MQTT = (MQTT_BROKER, 8883, "tcp", "ssl")
CLASSES: Final = (
    DeviceClass("camera", 60, "Hikvision", "DS-2CD2043G2", "5.7.3",
                (Flow(*_MQTT, 120, (300, 900), (200, 400)),
                 Flow(NVR, 554, "tcp", "rtsp", 300, (400, 900), (900_000, 2_500_000)),
                 Flow(_cloud(11), 443, "tcp", "ssl", 900, (1500, 4000), (3000, 9000)),
                 Flow(NTP, 123, "udp", "ntp", 3600, (48, 48), (48, 48))),
                ("hik-connect.com", "pool.ntp.org"), 300, 900),
    DeviceClass("env-sensor", 60, "Libelium", "Smart Environment PRO", "2.4.1",
                (Flow(*_MQTT, 300, (200, 600), (100, 200)),
                 Flow(NTP, 123, "udp", "ntp", 3600, (48, 48), (48, 48))),
                ("pool.ntp.org",), 300, 900),
    DeviceClass("smart-meter", 60, "Landis+Gyr", "E450", "8.1.0",
                (Flow(HEADEND, 443, "tcp", "ssl", 900, (800, 2500), (300, 900)),
                 Flow(*_MQTT, 600, (200, 500), (100, 200))),
                ("headend.aldmere.city",), 600, 1800),
    DeviceClass("traffic-controller", 24, "Siemens", "sX", "4.2.0",
                (Flow(TRAFFIC_CENTRE, 502, "tcp", "modbus", 60, (60, 120), (80, 260), True),
                 Flow(*_MQTT, 180, (300, 700), (100, 200)),
                 Flow(NTP, 123, "udp", "ntp", 3600, (48, 48), (48, 48))),
                ("pool.ntp.org",), 300, 900),
    DeviceClass("street-light", 36, "Schreder", "Owlet IV", "3.0.2",
                (Flow(*_MQTT, 600, (150, 400), (100, 200)),
                 Flow(_cloud(23), 443, "tcp", "ssl", 1800, (900, 2000), (1500, 3000))),
                ("owlet.schreder.com",), 600, 1800),
)  # fmt: skip
CLASS_BY_NAME: Final = {c.name: c for c in CLASSES}


class Device(NamedTuple):
    id: str
    device_class: str
    ip: str
    mac: str
    firmware: str
    lat: float
    lon: float
    window: str
    phase: float
    """Where in each period this device's flows start (a fraction of the period)."""
    telnet: bool
    """Telnet left open with the factory password (what the botnet looks for)."""


def build_fleet(seed: int) -> list[Device]:
    """The fleet, deterministic from ``seed``; a few cameras and lights keep telnet open."""
    rng = substream(seed, "iot-fleet")
    devices: list[Device] = []
    for c_index, cls in enumerate(CLASSES):
        for n in range(cls.size):
            octets = [rng.randrange(256) for _ in range(3)]
            mac = "00:1a:2b:" + ":".join(f"{o:02x}" for o in octets)
            hour = 9 + n % 3  # UTC: inside the default demo day (08:00-14:00 UTC+1)
            devices.append(
                Device(
                    id=f"{cls.name[:3]}-{n + 1:04d}",
                    device_class=cls.name,
                    ip=f"10.20.{c_index + 1}.{n + 10}",
                    mac=mac,
                    firmware=cls.firmware,
                    lat=round(LAT + rng.uniform(-0.04, 0.04), 5),
                    lon=round(LON + rng.uniform(-0.06, 0.06), 5),
                    window=f"{hour:02d}:00-{hour:02d}:30",
                    phase=rng.random(),
                    telnet=cls.name in ("camera", "street-light") and n % 12 == 5,
                )
            )
    return devices


def write_inventory(path: Path, devices: list[Device], vulnerable: dict[str, str]) -> None:
    """The fleet as the city's inventory CSV (FORMATS.md); ``vulnerable`` overrides firmware."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(
            ["device_id", "ip", "mac", "class", "vendor", "model", "firmware", "lat", "lon",
             "owner", "maintenance_window"]
        )  # fmt: skip
        for d in devices:
            cls = CLASS_BY_NAME[d.device_class]
            firmware = vulnerable.get(d.id, d.firmware)
            out.writerow(
                [d.id, d.ip, d.mac, d.device_class, cls.vendor, cls.model, firmware, d.lat,
                 d.lon, "city-it", d.window]
            )  # fmt: skip


def jitter(rng: Random, period: float) -> float:
    """A period with ±5 % jitter."""
    return period * (0.95 + 0.1 * rng.random())
