"""``iot-fleet``: compromised IoT devices from Zeek conn/dns logs and MQTT telemetry.

Keyed per device (``dev:ID`` from the inventory; ``ip:ADDR`` for a host on
the fleet network that the inventory does not list) and per class for
telemetry (``cls:CLASS``, to see a class go silent together). Each record is
scored against its device's baseline and its class's
(:mod:`citywatch.detect.iot.score`) in O(1); learning is gated: a device
learns everything during its trusted warm-up (``learn_s``), afterwards only
records that scored normal, so an attack in progress is never learned.
Device baselines are detector state (checkpointed); class baselines are the
detector's model (``snapshot_model``), and ``--learn`` input feeds them. The
fleet-wide watch (the feed, the open outages; :class:`FleetWatch`) is
checkpointed with the model.

A class is silent when enough of its devices sent no telemetry for ``silent_s``
while the feed itself went on. When no device at all is heard for half of
``silent_s`` the feed stopped (a broker or collector outage): that is one
low-severity ``iot.feed`` finding, and silence is judged again only
``silent_s`` after the feed comes back (each device needs time to report).
A device whose own conn or dns records go on is not silent either: its
telemetry is what stopped. Devices of one area offline together (no telemetry,
no network) are one ``iot.outage`` (:mod:`citywatch.detect.iot.area`), not
one ``unseen`` finding per device.

Rules and their ATT&CK tags are in :mod:`citywatch.detect.iot.rules`; every
detection says in plain words what the device did, with the Zeek ``uid`` s
of the flows, and carries ``attributes.iot`` (FORMATS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import h3
import msgspec
from pydantic import BaseModel

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.iot.area import AreaOutage, areas
from citywatch.detect.iot.config import IotConfig
from citywatch.detect.iot.emit import Emitter, device_id
from citywatch.detect.iot.fleet import Fleet, Member
from citywatch.detect.iot.observe import Observer
from citywatch.detect.iot.rules import RULES
from citywatch.detect.iot.score import Features
from citywatch.detect.iot.state import ClassModel, ClassState, DeviceState, FleetWatch, IotModel
from citywatch.ingest.mqttjsonl import topic_names
from citywatch.model import Connection, Detection, DnsQuery, Event, GeoPoint, Telemetry

ScoreSink = Callable[[Event, float, Features | None], None]
"""Called with every scored record (the benchmark's record-level view)."""


class IotFleet(Detector[DeviceState]):
    """Per-device and per-class baselines, attack rules and posture for the IoT fleet."""

    name: ClassVar[str] = "iot-fleet"
    description: ClassVar[str] = (
        "IoT fleet: scanning, C2 beaconing, DDoS, lateral movement, DNS, changes, posture"
    )
    config_model: ClassVar[type[BaseModel]] = IotConfig
    state_type: ClassVar[type[msgspec.Struct]] = DeviceState
    datasets: ClassVar[frozenset[str]] = frozenset(("network.conn", "network.dns", "iot.telemetry"))

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, IotConfig)
        cfg = self.cfg = self.config
        self.fleet = Fleet.load(cfg.inventory, cfg.inventory_tz, cfg.fleet_networks, cfg.advisories)
        self.classes: dict[str, ClassModel] = {}
        self.emit = Emitter(self, self.fleet.inventory)
        self.observe = Observer(cfg, self.fleet, self.classes, self.emit)
        self.watch = FleetWatch()
        """The fleet-wide watch: the feed, the devices' latest records, the open outages."""
        self._cells = {
            d.id: h3.latlng_to_cell(d.lat, d.lon, cfg.outage_h3)
            for d in self.fleet.inventory or ()
            if d.lat is not None and d.lon is not None
        }
        """Each placed device's H3 cell (devices offline together in an area are an outage)."""
        self._down: set[str] = set()
        """The devices of the open outages (their ``unseen`` findings are the outage's)."""

    @property
    def on_score(self) -> ScoreSink | None:
        """Where every record's score goes (None: nowhere)."""
        return self.observe.on_score

    @on_score.setter
    def on_score(self, sink: ScoreSink | None) -> None:
        self.observe.on_score = sink

    def keys(self, event: Event) -> tuple[str, ...]:
        fleet = self.fleet
        if event.dataset == "iot.telemetry":
            dev = event.device_id
            payload = event.payload
            if dev is None or payload.__class__ is not Telemetry:
                return ()
            key = f"dev:{dev}"
            if payload.kind == "heartbeat":
                member = fleet.by_id.get(dev)
                cls = member.device_class if member else topic_names(payload.topic)[0]
                return (key, f"cls:{cls}") if cls else (key,)
            return (key,)
        src = event.source_ip
        if src is None:
            return ()
        by_ip = fleet.by_ip
        origin: Member | None = by_ip.get(src)
        keys: tuple[str, ...] = ()
        if origin is not None:
            keys = (origin.key,)
        elif fleet.on_fleet_network(src):
            keys = (f"ip:{src}",)
        if event.dataset == "network.conn" and event.destination_ip is not None:
            target = by_ip.get(event.destination_ip)
            if target is not None and target is not origin:
                keys += (target.key,)
        return keys

    def new_state(self, key: str) -> DeviceState:
        state = DeviceState(first=math.nan, last=math.nan)
        if key.startswith("dev:"):
            member = self.fleet.by_id.get(key[4:])
            if member is not None:
                state.device_class, state.ip = member.device_class, member.ip
        elif key.startswith("ip:"):
            state.ip = key[3:]
        else:
            state.group = ClassState()
        return state

    def update(self, key: str, state: DeviceState, event: Event, out: list[Detection]) -> None:
        ts = event.timestamp
        watch = self.watch
        if state.group is not None:
            dev = event.device_id or ""
            state.group.seen[dev] = ts
            state.group.ids[dev] = event.id
            if dev in self._cells and ts >= watch.beats.get(dev, (-math.inf, ""))[0]:
                watch.beats[dev] = (ts, event.id)
            if ts > watch.heard:
                if ts - watch.heard > self.cfg.silent_s / 2:  # the feed is back after a gap
                    self._feed_back(ts, out)
                watch.heard, watch.heard_id = ts, event.id
            return
        if ts > watch.fleet_heard:  # noqa: PLR1730 - no call on the hot path
            watch.fleet_heard = ts
        fresh = state.first != state.first  # NaN: the device's first record
        if fresh:
            state.first = state.last = ts
            self.observe.first_record(key, state, event, out)
        elif ts > state.last:
            state.last = ts
        state.last_id = event.id
        if state.episodes:
            self.emit.close_idle(key, state, ts, self.cfg.gap_s, out)
        payload = event.payload
        kind = payload.__class__
        if kind is Connection:
            origin = self.fleet.by_ip.get(event.source_ip or "")
            outbound = key.startswith("ip:") or (origin is not None and origin.key == key)
            if outbound:
                if key.startswith("dev:"):
                    watch.active[key[4:]] = ts
                self.observe.outbound(key, state, event, payload, out)  # type: ignore[arg-type]
            else:
                self.observe.inbound(key, state, event, payload, out)  # type: ignore[arg-type]
        elif kind is DnsQuery:
            if key.startswith("dev:"):
                watch.active[key[4:]] = ts
            self.observe.dns(key, state, event, payload, out)  # type: ignore[arg-type]
        elif kind is Telemetry:
            if not state.device_class:
                state.device_class = topic_names(payload.topic)[0]  # type: ignore[union-attr]
            self.observe.telemetry(key, state, event, payload, out)  # type: ignore[arg-type]

    def learn(self, event: Event) -> None:
        """Teach the class baselines from trusted traffic (``--learn``)."""
        self.observe.learn(event)

    def expire(self, key: str, state: DeviceState, watermark: float, out: list[Detection]) -> bool:
        if math.isfinite(watermark) and watermark >= self.watch.areas_at + 60.0:  # once a minute
            self.watch.areas_at = watermark
            self._areas(watermark, out)
        if state.group is not None:
            self._silence(key, state.group, watermark, out)
            return False
        if state.episodes:
            self.emit.close_idle(key, state, watermark, self.cfg.gap_s, out)
        if (
            math.isfinite(watermark)
            and watermark - state.last > self.cfg.unseen_s
            # unseen among peers still heard: when no device is, the records stopped, not it
            and watermark - self.watch.fleet_heard <= self.cfg.unseen_s
            and "iot.posture.unseen" not in state.posture
            and key.startswith("dev:")
            and key[4:] not in self._down  # its area went offline: one outage says it
        ):
            state.posture.add("iot.posture.unseen")
            hours = (watermark - state.last) / 3600
            # evidence: the device's last record (the one it has not been followed by)
            probe = Event(id=state.last_id, timestamp=watermark, dataset="iot.posture")
            note = f"no record for {hours:.0f} h"
            self.emit.fire(key, state, "iot.posture.unseen", probe, note, state.ip, 0.2, out)
        return False

    def _silence(self, key: str, group: ClassState, watermark: float, out: list[Detection]) -> None:
        """Open, grow or close the class's silence episode; not at the end of input, nor while
        no class is heard (the telemetry feed stopped, or its file ended before the others:
        that says nothing of the devices, and is one ``iot.feed`` finding)."""
        if not math.isfinite(watermark) or not math.isfinite(self.watch.heard):
            return  # the end, or no heartbeat yet
        cfg = self.cfg
        if watermark - self.watch.heard > cfg.silent_s / 2:
            self._feed_down(watermark, out)
            return
        # silent since before the cut-off, by telemetry and by its own network records; devices
        # last heard before the feed's latest gap get silent_s from its end to report again
        cutoff = watermark - cfg.silent_s
        if self.watch.resumed >= cutoff:
            silent: list[str] = []
        else:
            active, never = self.watch.active, -math.inf
            silent = sorted(
                d for d, t in group.seen.items() if t < cutoff and active.get(d, never) < cutoff
            )
        enough = len(silent) >= cfg.silent_min and len(silent) >= cfg.silent_fraction * len(
            group.seen
        )
        if group.episode is not None and not enough:
            out.append(self._silent_detection(key, group))
            group.episode, group.silent = None, []
            return
        if not enough or silent == group.silent:
            return
        group.silent = silent
        evidence = [group.ids[d] for d in silent]
        if group.episode is None:
            group.episode = Episode(
                id=detection_id(self.name, "iot.silent", key, watermark),
                fired=watermark,
                first=min(group.seen[d] for d in silent),
                last=watermark,
                evidence=evidence,
            )
        else:
            group.episode.evidence = evidence
            group.episode.last = watermark
        out.append(self._silent_detection(key, group))

    def _areas(self, watermark: float, out: list[Detection]) -> None:
        """Open, grow or close the area outages; not while a feed stopped (that says nothing
        of the devices) nor before the telemetry feed has been back for ``silent_s``."""
        cfg = self.cfg
        cutoff, half = watermark - cfg.silent_s, cfg.silent_s / 2
        if (
            watermark - self.watch.heard > half
            or watermark - self.watch.fleet_heard > half
            or self.watch.resumed >= cutoff
        ):
            return
        beats, active, never = self.watch.beats, self.watch.active, (-math.inf, "")
        cells = {d: c for d, c in self._cells.items() if d in beats or d in active}
        offline = {
            d
            for d in cells
            if beats.get(d, never)[0] < cutoff and active.get(d, -math.inf) < cutoff
        }
        found = areas(cells, offline, cfg.outage_fraction, cfg.outage_min) if offline else []
        kept: list[AreaOutage] = []
        for devices, dark in found:
            # the open outage it shares devices with is the same one, grown or shrunk
            outage = next(
                (
                    o
                    for o in self.watch.outages
                    if o not in kept and not set(o.devices).isdisjoint(devices)
                ),
                None,
            )
            evidence = [beats[d][1] for d in devices if d in beats]
            if outage is None:
                heard = [max(beats.get(d, never)[0], active.get(d, -math.inf)) for d in devices]
                outage = AreaOutage(
                    episode=Episode(
                        id=detection_id(self.name, "iot.outage", dark[0], watermark),
                        fired=watermark,
                        first=min(heard),
                        last=watermark,
                        evidence=evidence,
                    ),
                    devices=devices,
                    cells=dark,
                )
                self.watch.outages.append(outage)
                out.append(self._outage_detection(outage, back=False))
            elif outage.devices != devices:
                outage.devices, outage.cells = devices, dark
                outage.episode.evidence, outage.episode.last = evidence, watermark
                out.append(self._outage_detection(outage, back=False))
            kept.append(outage)
        for outage in self.watch.outages:
            if outage not in kept:  # the area is back
                outage.episode.last = watermark
                out.append(self._outage_detection(outage, back=True))
        self.watch.outages = kept
        self._down = self.watch.down()

    def _outage_detection(self, outage: AreaOutage, *, back: bool) -> Detection:
        rule = RULES["iot.outage"]
        devices, n = outage.devices, len(outage.devices)
        classes = sorted(
            {self.fleet.by_id[d].device_class for d in devices if d in self.fleet.by_id}
        )
        inventory = self.fleet.inventory
        placed = [inventory.get(d) for d in devices] if inventory is not None else []
        points = [
            (p.lat, p.lon)
            for p in placed
            if p is not None and p.lat is not None and p.lon is not None
        ]
        lat = sum(p[0] for p in points) / max(1, len(points))
        lon = sum(p[1] for p in points) / max(1, len(points))
        more = f" and {n - 8} more" if n > 8 else ""
        summary = (
            f"{n} devices around {lat:.4f}, {lon:.4f} ({len(classes)} classes: "
            f"{', '.join(classes)}) went offline together: no telemetry and no network records"
            f" for over {self.cfg.silent_s / 60:.0f} min"
            + (", until they came back" if back else "")
            + f"; a possible power or network outage: {', '.join(devices[:8])}{more}"
        )
        det = self._fleet_finding(
            outage.episode,
            "iot.outage",
            summary,
            severity=rule.severity + min(15, n),
            confidence=min(0.95, 0.5 + 0.03 * n),
            category="public_safety",
            entity={"area.h3": outage.cells[0]},
            devices=list(devices),
            classes=classes,
            cells=list(outage.cells),
        )
        geo = GeoPoint(lat=lat, lon=lon, h3=h3.latlng_to_cell(lat, lon, 9)) if points else None
        return det if geo is None else msgspec.structs.replace(det, geo=geo)

    def _feed_down(self, watermark: float, out: list[Detection]) -> None:
        """Report the stopped telemetry feed once per gap."""
        if self.watch.feed_gap is None:
            self.watch.feed_gap = Episode(
                id=detection_id(self.name, "iot.feed", "feed", self.watch.heard),
                fired=watermark,
                first=self.watch.heard,
                last=watermark,
                evidence=[self.watch.heard_id] if self.watch.heard_id else [],
            )
            out.append(self._feed_detection(self.watch.feed_gap, back=False))

    def _feed_back(self, ts: float, out: list[Detection]) -> None:
        """The feed came back at ``ts``: restart the silence clock, close the finding."""
        self.watch.resumed = ts
        if self.watch.feed_gap is not None:
            self.watch.feed_gap.last = ts
            out.append(self._feed_detection(self.watch.feed_gap, back=True))
            self.watch.feed_gap = None

    def _feed_detection(self, episode: Episode, *, back: bool) -> Detection:
        minutes = (episode.last - episode.first) / 60
        summary = (
            f"no telemetry from any device for {minutes:.0f} min"
            + (" until it came back" if back else " while other records go on")
            + ": a broker or collector outage, not the devices; their silence is not judged"
            " meanwhile"
        )
        return self._fleet_finding(
            episode,
            "iot.feed",
            summary,
            severity=RULES["iot.feed"].severity,
            confidence=0.9,
            category="cyber",
            entity={"feed": "iot.telemetry"},
        )

    def _silent_detection(self, key: str, group: ClassState) -> Detection:
        assert group.episode is not None
        rule = RULES["iot.silent"]
        cls = key[4:]
        n = len(group.silent)
        summary = (
            f"{n} of {len(group.seen)} {cls} devices sent no telemetry for over "
            f"{self.cfg.silent_s / 60:.0f} min together: {', '.join(group.silent[:8])}"
        )
        return self._fleet_finding(
            group.episode,
            "iot.silent",
            summary,
            severity=rule.severity + min(20, n),
            confidence=min(0.95, 0.5 + n / max(1, len(group.seen))),
            category="cyber",
            entity={"device.class": cls},
            score=round(n / max(1, len(group.seen)), 3),
            devices=list(group.silent),
            **{"class": cls},
        )

    def _fleet_finding(
        self,
        episode: Episode,
        rule_id: str,
        summary: str,
        *,
        severity: int,
        confidence: float,
        category: str,
        entity: dict[str, str],
        score: float = 0.0,
        **iot: object,
    ) -> Detection:
        """A finding about many devices or the feed, not one device (``iot``: what else its
        ``attributes.iot`` says)."""
        rule = RULES[rule_id]
        return self.detection(
            episode,
            rule_id=rule.id,
            rule_name=rule.name,
            severity=severity,
            confidence=confidence,
            category=category,
            summary=summary,
            entity=entity,
            tags=list(rule.tags),
            attributes={
                "iot": {
                    "device_id": "",
                    "reasons": [summary],
                    "score": score,
                    **iot,
                    "measures": list(rule.measures),
                }
            },
        )

    def snapshot_model(self) -> bytes | None:
        return msgspec.msgpack.encode(IotModel(self.classes, self.watch))

    def restore_model(self, blob: bytes) -> None:
        """Take back the class baselines and the fleet-wide watch (a checkpoint saved before
        the watch was kept holds only the baselines: the watch then starts afresh)."""
        saved = msgspec.msgpack.decode(blob, type=IotModel | dict[str, ClassModel])
        classes, self.watch = (
            (saved.classes, saved.watch) if isinstance(saved, IotModel) else (saved, FleetWatch())
        )
        self._down = self.watch.down()
        self.classes.clear()
        self.classes.update(classes)


__all__ = ["IotFleet", "ScoreSink", "device_id"]
