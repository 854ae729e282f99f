"""The ``iot-botnet`` scenario: a Mirai-style infection of the fleet, then a flood on the portal.

At :data:`~citywatch.simulate.schedule.IOT_INFECTION` an attacker brute-forces
the telnet of a camera that still has its factory password (patient zero),
logs in, and the bot resolves its C2's generated domain, downloads its
payload, rewrites the device's config outside any maintenance window,
beacons to the C2 every minute and scans for more telnet (23, 2323) across
the fleet network and the internet. Every device that kept telnet open with
the factory password is infected in turn, the first ones by patient zero,
the later ones by the second bot. At
:data:`~citywatch.simulate.schedule.IOT_FLOOD` every bot floods the citizen
portal with HTTP requests, seen by Zeek as connections and by the portal as
``http-jsonl`` traffic from the very device addresses.

Every malicious record is labelled with the device it concerns as actor, so
the truth is per record and per device.
"""

from __future__ import annotations

from random import Random
from typing import Final, NamedTuple

from citywatch.simulate.iot.fleet import PORTAL_IP, RESOLVER, Device
from citywatch.simulate.iot.records import Dns, Rec, conn, uid
from citywatch.simulate.iot.traffic import topic
from citywatch.simulate.rand import substream
from citywatch.simulate.records import HOST, Label
from citywatch.simulate.schedule import IOT_FLOOD, IOT_INFECTION, SITUATION_IOT_BOTNET, at
from citywatch.simulate.writers import HttpRecord

ATTACKER: Final = "45.148.10.77"
LOADER: Final = "5.188.62.140"
C2: Final = "91.92.241.17"
TITLE: Final = "IoT botnet: telnet brute force, C2 beaconing, scanning, spread, portal flood"
FLOOD_S: Final = 120
FLOOD_RATE: Final = 15
"""HTTP requests per second from each bot during the flood."""
_FLOOD_UA: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0",
)
_USERS: Final = ("admin", "support", "user", "guest", "root", "service", "supervisor")


class Infection(NamedTuple):
    device: Device
    ms: int
    """When the bot logs in (the first malicious record is earlier for patient zero)."""
    source: str
    """Where the login came from: the attacker or the bot that spread to it."""


def _label(technique: str, device: Device) -> Label:
    return Label("malicious", SITUATION_IOT_BOTNET, technique, device.id)


def plan(devices: list[Device], start: int, span: int) -> list[Infection]:
    """Who is infected, when and from where: every telnet-open device, patient zero first."""
    victims = [d for d in devices if d.telnet]
    if not victims:
        return []
    t0 = at(start, span, IOT_INFECTION)
    out = [Infection(victims[0], t0, ATTACKER)]
    for k, device in enumerate(victims[1:]):
        parent = out[0] if k < 4 else out[1]
        out.append(Infection(device, parent.ms + 180_000 + 120_000 * (k % 4), parent.device.ip))
    return out


def botnet(seed: int, devices: list[Device], start: int, span: int) -> list[Rec]:
    """Every malicious record of the scenario (not sorted)."""
    rng = substream(seed, "iot-botnet")
    infections = plan(devices, start, span)
    end = start + span
    domain = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14))
    domain += ".top"
    recs: list[Rec] = []
    fleet_ips = [d.ip for d in devices]
    for n, inf in enumerate(infections):
        d, t = inf.device, inf.ms
        base = {"topic": topic(d), "device_id": d.id}
        if n == 0:  # the brute force on patient zero
            brute = _label("telnet-bruteforce", d)
            for k in range(30):
                ms = t - 120_000 + k * 4000
                recs.append(conn(rng, ms, ATTACKER, d.ip, 23, service="telnet", orig=60,
                                 resp=120, label=brute))  # fmt: skip
                recs.append(Rec(ms + 300, "mqtt", {**base, "type": "login", "method": "telnet",
                                "user": _USERS[k % len(_USERS)], "result": "failure",
                                "source.ip": ATTACKER}, brute))  # fmt: skip
        entry = _label("telnet-login" if n == 0 else "spread", d)
        recs.append(conn(rng, t, inf.source, d.ip, 23, service="telnet", orig=300, resp=900,
                         label=entry))  # fmt: skip
        recs.append(Rec(t + 300, "mqtt", {**base, "type": "login", "method": "telnet",
                        "user": "root", "result": "success", "source.ip": inf.source}, entry))  # fmt: skip  # noqa: E501
        ms = t + 20_000
        recs.append(Rec(ms, "dns", Dns(uid(rng), d.ip, 41000 + n, RESOLVER, domain, (C2,)),
                        _label("c2-dns", d)))  # fmt: skip
        recs.append(conn(rng, ms + 10_000, d.ip, LOADER, 80, service="http", orig=220,
                         resp=int(rng.uniform(600_000, 900_000)), label=_label("download", d)))  # fmt: skip  # noqa: E501
        recs.append(Rec(ms + 40_000, "mqtt", {**base, "type": "config",
                        "changed": ["telnet", "dns", "ntp_server"]}, _label("config-change", d)))  # fmt: skip  # noqa: E501
        beacon = _label("c2-beacon", d)
        ms = t + 90_000
        while ms < end:
            recs.append(conn(rng, ms, d.ip, C2, 6667, orig=int(rng.uniform(40, 90)),
                             resp=int(rng.uniform(20, 60)), label=beacon))  # fmt: skip
            ms += 60_000 + int(rng.uniform(-800, 800))
        recs += _scan(rng, d, t + 120_000, 600 if n == 0 else 300, fleet_ips, end)
    flood = at(start, span, IOT_FLOOD)
    for inf in infections:
        recs += _flood(rng, inf.device, flood, min(end, flood + FLOOD_S * 1000))
    return recs


def _scan(rng: Random, d: Device, t: int, seconds: int, fleet: list[str], end: int) -> list[Rec]:
    """Telnet probes at three a second: fleet addresses (most refuse) and random internet hosts."""
    label = _label("scan", d)
    out = []
    stop = min(end, t + seconds * 1000)
    while t < stop:
        if rng.random() < 0.4:
            dst = fleet[int(rng.random() * len(fleet))]
            state = "REJ"
        else:
            dst = f"{rng.randint(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"  # noqa: E501
            state = "S0"
        port = 23 if rng.random() < 0.8 else 2323
        if dst != d.ip:
            out.append(conn(rng, t, d.ip, dst, port, state=state, label=label))
        t += int(rng.expovariate(3.0) * 1000) + 1
    return out


def _flood(rng: Random, d: Device, t: int, stop: int) -> list[Rec]:
    """HTTP requests to the portal from the bot's address, seen by Zeek and by the portal."""
    label = _label("http-flood", d)
    out = []
    n = 0
    while t < stop:
        n += 1
        path = f"/?{rng.getrandbits(32):08x}"
        ua = _FLOOD_UA[n % len(_FLOOD_UA)]
        out.append(conn(rng, t, d.ip, PORTAL_IP, 80, service="http", orig=180,
                        resp=int(rng.uniform(4000, 6000)), label=label))  # fmt: skip
        request = HttpRecord(
            id=f"iotflood-{d.id}-{n:06d}",
            timestamp="",  # the writer sets it from ``ms``
            source_ip=d.ip,
            method="GET",
            uri=path,
            version="HTTP/1.1",
            headers=[
                ("Host", HOST),
                ("User-Agent", ua),
                ("Accept", "*/*"),
                ("Connection", "keep-alive"),
            ],
            status=200,
            bytes_out=5120,
        )
        out.append(Rec(t + 1, "http", request, label))
        t += int(rng.expovariate(FLOOD_RATE) * 1000) + 1
    return out
