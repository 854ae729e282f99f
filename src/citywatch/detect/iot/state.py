"""The IoT detector's state: one baseline per device, one per class, all O(1) to update.

Every collection here is bounded (by config), so a device that scans
thousands of addresses costs the same per record as one that talks to three:
unlike per-host peer lists that grow with every address (Kitsune's), a full
set simply stops learning and a window's distinct-address set stops growing
once its rule has fired.
"""

from __future__ import annotations

import math

import msgspec

from citywatch.detect.base import Episode
from citywatch.detect.iot.area import AreaOutage


class Beacon(msgspec.Struct, array_like=True):
    """Contacts to one new peer: when last, how many, mean and spread of the intervals."""

    last: float
    n: int = 1
    mean: float = 0.0
    m2: float = 0.0

    def add(self, ts: float) -> None:
        """Fold one contact in (Welford); contacts under a second apart are one burst."""
        gap = ts - self.last
        if gap < 1.0:
            return
        self.last = ts
        self.n += 1
        k = self.n - 1  # intervals so far
        delta = gap - self.mean
        self.mean += delta / k
        self.m2 += delta * (gap - self.mean)

    def cv(self) -> float:
        """Spread of the intervals relative to their mean (0: perfectly periodic)."""
        k = self.n - 1
        if k < 2 or self.mean <= 0:
            return float("inf")
        return float((self.m2 / (k - 1)) ** 0.5 / self.mean)


class ClassState(msgspec.Struct, kw_only=True):
    """When each device of a class last sent telemetry, and the open silence episode."""

    seen: dict[str, float] = msgspec.field(default_factory=dict)
    ids: dict[str, str] = msgspec.field(default_factory=dict)
    """Each device's last heartbeat record (the evidence of its silence)."""
    episode: Episode | None = None
    silent: list[str] = msgspec.field(default_factory=list)


class DeviceState(msgspec.Struct, kw_only=True):
    """One device's baseline (what it normally does), windows and open episodes."""

    first: float
    last: float
    last_id: str = ""
    device_class: str = ""
    ip: str = ""
    peers: set[str] = msgspec.field(default_factory=set)
    services: set[str] = msgspec.field(default_factory=set)
    """``o443`` (it connects to port 443), ``i502`` (it is reached on 502)."""
    domains: set[str] = msgspec.field(default_factory=set)
    rate: float = 0.0
    """EWMA of connections per 10 s bucket (learned from normal buckets only)."""
    bucket: float = 0.0
    bucket_n: int = 0
    top_peer: str = ""
    top_n: int = 0
    """Misra-Gries counter of one: the peer most connected to in the bucket."""
    scan_start: float = 0.0
    scan_peers: set[str] = msgspec.field(default_factory=set)
    beacons: dict[str, Beacon] = msgspec.field(default_factory=dict)
    brute_start: float = 0.0
    brute_n: int = 0
    episodes: dict[str, Episode] = msgspec.field(default_factory=dict)
    notes: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Why each open episode fired, in plain words (a few lines each)."""
    sources: dict[str, str] = msgspec.field(default_factory=dict)
    """Per open episode, the address the activity came from."""
    scores: dict[str, float] = msgspec.field(default_factory=dict)
    remote: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Per open episode, the outside addresses and names it involves (a C2 server, a download
    host, a generated name and what it resolved to): what the city can share and block."""
    posture: set[str] = msgspec.field(default_factory=set)
    """Posture findings already reported for this device."""
    group: ClassState | None = None
    """Set on a class key (``cls:CLASS``) only: the class's telemetry, for silence."""


class ClassModel(msgspec.Struct, kw_only=True):
    """What a class of devices does as a whole: its peers, its services, whom it talks to."""

    peers: set[str] = msgspec.field(default_factory=set)
    services: set[str] = msgspec.field(default_factory=set)
    talks: set[str] = msgspec.field(default_factory=set)
    """Classes of devices this class connects to (lateral movement is a new one)."""
    domains: set[str] = msgspec.field(default_factory=set)


class FleetWatch(msgspec.Struct, kw_only=True):
    """What the detector watches across the fleet at run time (not per key): the telemetry
    feed, each device's latest records, the open area outages. Checkpointed with the class
    baselines, so that a restart neither raises an open outage or feed gap again nor loses it.
    """

    heard: float = -math.inf
    """The latest telemetry heartbeat of any class (silence is judged against it)."""
    heard_id: str = ""
    resumed: float = -math.inf
    """When the telemetry feed came back after its last gap: silence counts from then."""
    feed_gap: Episode | None = None
    """The open "telemetry feed interrupted" finding, while the feed is down."""
    active: dict[str, float] = msgspec.field(default_factory=dict)
    """Each listed device's latest conn or dns record of its own (one per inventory device)."""
    fleet_heard: float = -math.inf
    """The latest record of any device (a device is unseen against it)."""
    beats: dict[str, tuple[float, str]] = msgspec.field(default_factory=dict)
    """Each placed device's latest heartbeat: when, and its record id (an outage's evidence)."""
    outages: list[AreaOutage] = msgspec.field(default_factory=list)
    areas_at: float = -math.inf
    """When the areas were last looked at (once a minute of event time)."""

    def down(self) -> set[str]:
        """The devices of the open outages."""
        return {d for o in self.outages for d in o.devices}


class IotModel(msgspec.Struct, array_like=True):
    """The detector's checkpoint beside its per-key states: the class baselines (what
    ``--learn`` teaches) and the fleet-wide watch."""

    classes: dict[str, ClassModel]
    watch: FleetWatch
