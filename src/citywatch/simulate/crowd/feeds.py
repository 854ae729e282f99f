"""What the arena's sensors report about a match day: device counts, cameras, turnstiles.

From the true people per zone and minute (:mod:`.match`), with the errors
real counting has:

- Wi-Fi: a share of people carry a phone whose probes the zone's access
  points hear (about 42 %, varying by zone with coverage, ±12 %); MAC
  randomisation makes one phone show up as more than one address within a
  minute (+25 % on average, and more when phones are idle, during play);
  counted as distinct addresses per minute.
- BLE: fewer devices (about 25 %, ±12 % by zone), no randomisation.
- Cameras: counting cameras over the concourses and forecourts, ±5 %.
- Turnstiles and gate counters: people in and out per gate, missing 0.5 %.

No zone's ratio of people to devices is known in advance: the detector has
to calibrate it (against turnstiles and cameras).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from random import Random

from citywatch.simulate.crowd.match import Minute

WIFI_SHARE = 0.42
BLE_SHARE = 0.25
MAC_EXTRA = 0.25
CAMERA_KINDS = frozenset({"concourse", "plaza"})

ZoneRow = tuple[float, str, str, int]
"""(time s, zone, source, count)."""
GateRow = tuple[float, str, int, int]
"""(time s, gate, in, out)."""


def _binomial(rng: Random, n: float, p: float) -> int:
    """A binomial draw (normal approximation; exact enough for crowds)."""
    n = max(0, round(n))
    if n == 0 or p <= 0:
        return 0
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return max(0, min(n, round(rng.gauss(mean, sd))))


class Sensors:
    """The arena's counting sensors, each with its own fixed coverage (from the seed)."""

    def __init__(self, rng: Random, zones: dict[str, str], kickoff_s: float) -> None:
        self.rng = rng
        self.zones = zones  # zone id -> kind
        self.kickoff_s = kickoff_s
        self.wifi = {z: WIFI_SHARE * rng.uniform(0.88, 1.12) for z in zones}
        self.ble = {z: BLE_SHARE * rng.uniform(0.88, 1.12) for z in zones}

    def zone_rows(self, minute: Minute) -> Iterator[ZoneRow]:
        """Every zone's counts for one minute."""
        rng, t = self.rng, minute.t
        m = (t - self.kickoff_s) / 60
        idle = 0.12 if 0 <= m < 45 or 60 <= m < 95 else 0.0  # phones in pockets during play
        for zone, kind in self.zones.items():
            people = minute.people[zone]
            phones = _binomial(rng, people, self.wifi[zone])
            macs = phones + _binomial(rng, phones, MAC_EXTRA + idle)
            yield t, zone, "wifi", macs
            yield t, zone, "ble", _binomial(rng, people, self.ble[zone])
            if kind in CAMERA_KINDS:
                yield t, zone, "camera", max(0, round(people * rng.gauss(1.0, 0.05)))

    def gate_rows(self, minute: Minute) -> Iterator[GateRow]:
        """Every gate's in/out for one minute."""
        rng = self.rng
        for gate, (entered, left) in minute.gates.items():
            yield (
                minute.t,
                gate,
                round(entered) - _binomial(rng, entered, 0.005),
                round(left) - _binomial(rng, left, 0.005),
            )
