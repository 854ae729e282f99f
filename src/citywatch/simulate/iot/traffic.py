"""The fleet's everyday traffic: each device's flows, DNS lookups and telemetry on its rhythm.

Benign changes happen too, as they do in a real fleet: a few meters get a
firmware update and a configuration change inside their maintenance window.
One device that is not in the inventory (someone's test board) talks to the
broker like any other: an unmanaged device, itself a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Final

from citywatch.simulate.iot.fleet import (
    CLASS_BY_NAME,
    MQTT_BROKER,
    NTP,
    RESOLVER,
    Device,
    jitter,
)
from citywatch.simulate.iot.records import Dns, Rec, conn, uid
from citywatch.simulate.records import Label

ROGUE_IP: Final = "10.20.9.99"
ROGUE_ID: Final = "unmanaged-10.20.9.99"
SITUATION_ROGUE: Final = "iot-unmanaged-device"
ROGUE: Final = Label("benign", SITUATION_ROGUE, "unmanaged-device", ROGUE_ID)
_ANSWER: Final = {"pool.ntp.org": NTP, "hik-connect.com": "52.29.11.34"}


def topic(device: Device) -> str:
    return f"city/{device.device_class}/{device.id}/telemetry"


def device_traffic(rng: Random, device: Device, start: int, end: int) -> Iterator[Rec]:
    """Every benign record of one device between epoch ms ``start`` and ``end``."""
    cls = CLASS_BY_NAME[device.device_class]
    for flow in cls.flows:
        t = start + int(device.phase * flow.period_s * 1000)
        while t < end:
            src, dst = (flow.peer, device.ip) if flow.inbound else (device.ip, flow.peer)
            orig = int(rng.uniform(*flow.orig_bytes))
            resp = int(rng.uniform(*flow.resp_bytes))
            yield conn(
                rng, t, src, dst, flow.port, proto=flow.proto, service=flow.service,
                orig=orig, resp=resp,
            )  # fmt: skip
            t += int(jitter(rng, flow.period_s) * 1000)
    for n, domain in enumerate(cls.domains):
        t = start + int((device.phase + 0.1 * n) * 1800_000)
        while t < end:
            answer = _ANSWER.get(domain, "10.30.0.30" if "aldmere" in domain else "52.29.23.70")
            yield Rec(t, "dns", Dns(uid(rng), device.ip, 30000 + n, RESOLVER, domain, (answer,)))
            t += int(jitter(rng, 1800) * 1000)
    yield from _telemetry(rng, device, start, end)


def _telemetry(rng: Random, device: Device, start: int, end: int) -> Iterator[Rec]:
    cls = CLASS_BY_NAME[device.device_class]
    base = {"topic": topic(device), "device_id": device.id}
    t = start + int(device.phase * cls.heartbeat_s * 1000)
    while t < end:
        uptime = 86400 * 30 + (t - start) / 1000
        yield Rec(t, "mqtt", {**base, "type": "heartbeat", "uptime": uptime, "rssi": -60})
        t += int(jitter(rng, cls.heartbeat_s) * 1000)
    t = start + int(device.phase * cls.metrics_s * 1000) + 7000
    while t < end:
        metrics = {
            "type": "metrics",
            "cpu": round(rng.uniform(5, 30), 1),
            "mem": round(rng.uniform(30, 50), 1),
            "temperature": round(rng.uniform(25, 45), 1),
            "connections": int(rng.uniform(1, 4)),
        }
        yield Rec(t, "mqtt", {**base, **metrics})
        t += int(jitter(rng, cls.metrics_s) * 1000)


def maintenance(device: Device, start: int, end: int) -> Iterator[Rec]:
    """A firmware update and a config change inside the device's window (UTC), if the span holds it."""  # noqa: E501
    hour = int(device.window[:2])
    day = start // 86_400_000 * 86_400_000
    t = day + hour * 3_600_000 + 300_000
    if not start <= t < end - 60_000:
        return
    base = {"topic": topic(device), "device_id": device.id}
    version = CLASS_BY_NAME[device.device_class].firmware + "-1"
    yield Rec(t, "mqtt", {**base, "type": "firmware", "version": version})
    yield Rec(t + 45_000, "mqtt", {**base, "type": "config", "changed": ["report_interval"]})


def rogue_traffic(rng: Random, start: int, end: int) -> Iterator[Rec]:
    """An unmanaged board on the fleet network that talks to the broker every five minutes."""
    t = start + 200_000
    while t < end:
        yield conn(
            rng, t, ROGUE_IP, MQTT_BROKER, 8883, service="ssl", orig=400, resp=200, label=ROGUE
        )
        t += int(jitter(rng, 300) * 1000)
