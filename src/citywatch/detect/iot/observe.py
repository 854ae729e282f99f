"""One record at a time: score it, apply the rules, learn it if it is normal.

The hot path is :meth:`Observer.outbound` (most Zeek conn records are a
device's own connections): a handful of dict and set lookups, no loop over
peers, whatever the device has done before.
"""

from __future__ import annotations

from collections.abc import Callable

from citywatch.detect.iot.config import IotConfig
from citywatch.detect.iot.emit import Emitter
from citywatch.detect.iot.fleet import Fleet
from citywatch.detect.iot.score import (
    FAILED,
    LOGIN_PORTS,
    REMOTE_ACCESS,
    Features,
    generated_name,
    novelty,
    score,
)
from citywatch.detect.iot.state import Beacon, ClassModel, DeviceState
from citywatch.model import Connection, Detection, DnsQuery, Event, Telemetry

_BEACONS_KEPT = 16


class Observer:
    """The per-record logic of the ``iot-fleet`` detector."""

    def __init__(
        self, cfg: IotConfig, fleet: Fleet, classes: dict[str, ClassModel], emit: Emitter
    ) -> None:
        self.cfg, self.fleet, self.classes, self.emit = cfg, fleet, classes, emit
        self.on_score: Callable[[Event, float, Features | None], None] | None = None

    def _class(self, name: str) -> ClassModel:
        model = self.classes.get(name)
        if model is None:
            model = self.classes[name] = ClassModel()
        return model

    def _learning(self, state: DeviceState, ts: float, s: float) -> bool:
        return s < self.cfg.learn_below or ts - state.first < self.cfg.learn_s

    def _know(self, state: DeviceState, cm: ClassModel, peer: str, svc: str) -> None:
        cfg = self.cfg
        if len(state.peers) < cfg.max_known:
            state.peers.add(peer)
        if len(state.services) < cfg.max_known:
            state.services.add(svc)
        if len(cm.peers) < cfg.max_class_known:
            cm.peers.add(peer)
        if len(cm.services) < cfg.max_class_known:
            cm.services.add(svc)

    def first_record(
        self, key: str, state: DeviceState, event: Event, out: list[Detection]
    ) -> None:
        """Posture and inventory findings due on a device's first record."""
        if key.startswith("ip:"):
            if self.fleet.inventory is not None:
                note = f"{state.ip} is on the fleet network but not in the inventory"
                self.emit.fire(key, state, "iot.unknown", event, note, state.ip, 0.5, out)
            return
        for adv in self.fleet.vulnerable(key[4:], None):
            self._posture(key, state, "iot.posture.vulnerable-firmware", event,
                          f"firmware listed in {adv.id}: {adv.summary}", out)  # fmt: skip

    def _posture(
        self, key: str, state: DeviceState, rule: str, event: Event, note: str, out: list[Detection]
    ) -> None:
        if rule not in state.posture:
            state.posture.add(rule)
            self.emit.fire(key, state, rule, event, note, state.ip, 0.3, out)

    def outbound(  # noqa: PLR0915 - the hot path, in one frame on purpose
        self, key: str, state: DeviceState, event: Event, conn: Connection, out: list[Detection]
    ) -> None:
        """A connection the device opened."""
        cfg, ts = self.cfg, event.timestamp
        peer, port = event.destination_ip or "", event.destination_port or 0
        svc = f"o{port}"
        cm = self._class(state.device_class)
        f_peer = novelty(peer, state.peers, cm.peers)
        f_svc = novelty(svc, state.services, cm.services)
        if ts >= state.bucket + 10.0:  # a new 10 s bucket
            if state.bucket_n < cfg.flood_conns:
                state.rate += 0.05 * (state.bucket_n - state.rate)
            state.bucket, state.bucket_n, state.top_peer, state.top_n = ts - ts % 10.0, 0, "", 0
        state.bucket_n += 1
        if peer == state.top_peer:
            state.top_n += 1
        elif state.top_n == 0:
            state.top_peer, state.top_n = peer, 1
        else:
            state.top_n -= 1
        burst = min(1.0, state.top_n / cfg.flood_conns) if peer == state.top_peer else 0.0
        fanout = 0.0
        failed = conn.conn_state in FAILED
        # a scan is fan-out to many peers: an answered peer contacted again (in the window, or
        # followed as a possible beacon, like a 60 s beacon to a C2 host on 6667) is a session,
        # not a probe; a refused one tried again is still the scan knocking
        repeat = peer in state.beacons or (not failed and peer in state.scan_peers)
        if f_peer:
            if ts - state.scan_start > cfg.scan_window_s:
                state.scan_start = ts
                state.scan_peers.clear()
            if len(state.scan_peers) < 4 * cfg.scan_fanout:
                state.scan_peers.add(peer)
            fanout = min(1.0, len(state.scan_peers) / cfg.scan_fanout)
        target = self.fleet.by_ip.get(peer)
        lateral = 0.0
        if target is not None and target.device_class not in cm.talks:
            lateral = 1.0
        feats: Features = (
            f_peer, f_svc, 1.0 if failed else 0.0, fanout, burst,
            1.0 if port in REMOTE_ACCESS else 0.0, lateral,
        )  # fmt: skip
        s = score(feats)
        if self.on_score is not None:
            self.on_score(event, s, feats)
        if port == 1883 and not failed and "iot.posture.mqtt-plaintext" not in state.posture:
            self._posture(key, state, "iot.posture.mqtt-plaintext", event,
                          f"MQTT without TLS to {peer}:1883", out)  # fmt: skip
        if self._learning(state, ts, s):
            if failed:  # refused: no peer to learn; a fan-out of them is a scan even in warm-up
                if f_peer and not repeat:
                    self._scan(key, state, event, conn, s, out)
                return
            self._know(state, cm, peer, svc)
            if target is not None:
                cm.talks.add(target.device_class)
            return
        if not f_peer:
            return
        ip, fire = state.ip, self.emit.fire
        if (failed or port in REMOTE_ACCESS) and not repeat:
            self._scan(key, state, event, conn, s, out)
        if lateral and not failed:
            note = f"connected to {target.id} ({target.device_class}) on port {port}"  # type: ignore[union-attr]
            fire(key, state, "iot.lateral", event, note, ip, s, out)
        if f_peer < 1.0:
            return  # its class talks to this peer: no flood target, download source or C2
        if burst >= 1.0 or (burst > 0.25 and "iot.ddos" in state.episodes):
            note = (f"{state.top_n}+ connections in 10 s to {peer}:{port}, a new destination "
                    f"(normally {state.rate:.1f} connections per 10 s in all)")  # fmt: skip
            fire(key, state, "iot.ddos", event, note, ip, s, out)
        if failed:
            return
        if (conn.resp_bytes or 0) >= cfg.download_bytes:
            note = f"downloaded {conn.resp_bytes:,} bytes from new destination {peer}:{port}"
            fire(key, state, "iot.download", event, note, ip, s, out, (peer,))
        beacon = state.beacons.get(peer)
        if beacon is None:
            if len(state.beacons) < _BEACONS_KEPT:
                state.beacons[peer] = Beacon(last=ts)
            return
        beacon.add(ts)
        if beacon.n >= cfg.beacon_contacts and beacon.mean >= 10.0 and beacon.cv() <= cfg.beacon_cv:
            note = (f"contacts new destination {peer}:{port} every {beacon.mean:.0f} s "
                    f"(±{beacon.cv() * 100:.0f} %), {beacon.n} times so far")  # fmt: skip
            fire(key, state, "iot.c2", event, note, ip, s, out, (peer,))

    def _scan(
        self, key: str, state: DeviceState, event: Event, conn: Connection, s: float,
        out: list[Detection],
    ) -> None:  # fmt: skip
        """A connection to a new address, failed or to a remote-access port: a scan once the
        window holds ``scan_fanout`` new addresses. An answered peer contacted again (a beacon)
        never reaches here, so an open scan episode grows only while the fan-out goes on."""
        if "iot.scan" in state.episodes:
            self.emit.evidence(key, state, "iot.scan", event, out)
        elif len(state.scan_peers) >= self.cfg.scan_fanout:
            note = (f"tried {len(state.scan_peers)} new addresses within "
                    f"{self.cfg.scan_window_s:.0f} s (port {event.destination_port or 0}, "
                    f"{conn.conn_state})")  # fmt: skip
            self.emit.fire(key, state, "iot.scan", event, note, state.ip, s, out)

    def inbound(
        self, key: str, state: DeviceState, event: Event, conn: Connection, out: list[Detection]
    ) -> None:
        """A connection to the device (a server polling it, or someone logging in)."""
        ts = event.timestamp
        peer, port = event.source_ip or "", event.destination_port or 0
        svc = f"i{port}"
        cm = self._class(state.device_class)
        f_peer = novelty(peer, state.peers, cm.peers)
        failed = conn.conn_state in FAILED
        origin = self.fleet.by_ip.get(peer)
        lateral = 0.0
        if origin is not None and state.device_class not in self._class(origin.device_class).talks:
            lateral = 1.0
        feats: Features = (
            f_peer, novelty(svc, state.services, cm.services), 1.0 if failed else 0.0, 0.0,
            0.0, 1.0 if port in REMOTE_ACCESS else 0.0, lateral,
        )  # fmt: skip
        s = score(feats)
        if self.on_score is not None:
            self.on_score(event, s, feats)
        if self._learning(state, ts, s):
            self._know(state, cm, peer, svc)
            return
        if port not in LOGIN_PORTS or not f_peer or failed:
            return  # a refused probe is the prober's doing, already seen on its side
        if not failed and port in (23, 2323):
            self._posture(key, state, "iot.posture.telnet", event,
                          f"telnet answers on port {port}", out)  # fmt: skip
        if origin is not None and not failed:
            note = f"remote login session on port {port} from {origin.id} ({origin.device_class})"
            self.emit.fire(key, state, "iot.intrusion", event, note, peer, s, out)
            return
        self._attempt(key, state, event, f"connection to port {port} from new source {peer}",
                      peer, s, out)  # fmt: skip

    def _attempt(
        self, key: str, state: DeviceState, event: Event, note: str, peer: str, s: float,
        out: list[Detection],
    ) -> None:  # fmt: skip
        """One more failed or unexplained remote login attempt in the brute-force window."""
        cfg, ts = self.cfg, event.timestamp
        if "iot.bruteforce" in state.episodes:
            self.emit.evidence(key, state, "iot.bruteforce", event, out)
            return
        if ts - state.brute_start > cfg.bruteforce_window_s:
            state.brute_start, state.brute_n = ts, 0
        state.brute_n += 1
        if state.brute_n >= cfg.bruteforce_attempts:
            note = f"{state.brute_n} remote login attempts within {cfg.bruteforce_window_s:.0f} s; {note}"  # noqa: E501
            self.emit.fire(key, state, "iot.bruteforce", event, note, peer, s, out)

    def dns(
        self, key: str, state: DeviceState, event: Event, query: DnsQuery, out: list[Detection]
    ) -> None:
        """A name the device looked up: a never-seen generated name is a C2 sign."""
        name = (query.query or "").lower()
        cm = self._class(state.device_class)
        known = name in state.domains or name in cm.domains
        generated, bits = (False, 0.0) if known else generated_name(name, self.cfg.dns_entropy)
        s = 0.0 if known else 0.3 + (0.6 if generated else 0.0)
        if self.on_score is not None:
            self.on_score(event, s, None)
        # learned in the warm-up even when it looks generated: device clouds do too
        # (global.azure-devices-provisioning.net, a3k7...-ats.iot.eu-central-1.amazonaws.com)
        if self._learning(state, event.timestamp, s):
            if len(state.domains) < self.cfg.max_known:
                state.domains.add(name)
            if len(cm.domains) < self.cfg.max_class_known:
                cm.domains.add(name)
        elif generated:
            answers = ", ".join(query.answers[:3]) or "no answer"
            note = f"looked up never-seen name {name} ({bits:.1f} bits/char) → {answers}"
            remote = (name, *query.answers[:3])
            self.emit.fire(key, state, "iot.dns", event, note, state.ip, s, out, remote)

    def telemetry(
        self, key: str, state: DeviceState, event: Event, msg: Telemetry, out: list[Detection]
    ) -> None:
        """Logins, firmware and config changes the device reports."""
        kind, s = msg.kind, 0.0
        if kind == "login":
            user = msg.user or ""
            default = user.lower() in self.cfg.default_users
            source = event.source_ip or ""
            if msg.result == "failure":
                s = 0.6
                self._attempt(key, state, event, f"failed {msg.method} login as {user!r}",
                              source or state.ip, s, out)  # fmt: skip
            elif msg.method in ("telnet", "ssh") and (
                default or "iot.bruteforce" in state.episodes
            ):
                s = 0.9
                if default:
                    self._posture(key, state, "iot.posture.default-credentials", event,
                                  f"{msg.method} login as {user!r} accepted", out)  # fmt: skip
                note = f"{msg.method} login as {user!r} succeeded from {source or 'unknown'}"
                self.emit.fire(key, state, "iot.intrusion", event, note, source or state.ip, s, out)
        elif kind in ("firmware", "config"):
            what = f"firmware {msg.version}" if kind == "firmware" else ", ".join(msg.changed)
            if self.fleet.in_maintenance(key[4:], event.timestamp):
                s = 0.05
            else:
                s = 0.9
                note = f"{kind} change ({what}) outside the maintenance window"
                self.emit.fire(key, state, "iot.change", event, note, state.ip, s, out)
            if kind == "firmware":
                for adv in self.fleet.vulnerable(key[4:], msg.version):
                    self._posture(key, state, "iot.posture.vulnerable-firmware", event,
                                  f"firmware {msg.version} listed in {adv.id}: {adv.summary}", out)  # fmt: skip  # noqa: E501
        if self.on_score is not None:
            self.on_score(event, s, None)

    def learn(self, event: Event) -> None:
        """Trusted traffic: add its peers, services and names to the class baselines."""
        fleet = self.fleet
        member = fleet.by_ip.get(event.source_ip or "")
        payload = event.payload
        if member is None:
            return
        cm = self._class(member.device_class)
        if isinstance(payload, Connection) and event.destination_ip is not None:
            cm.peers.add(event.destination_ip)
            cm.services.add(f"o{event.destination_port}")
            target = fleet.by_ip.get(event.destination_ip)
            if target is not None:
                cm.talks.add(target.device_class)
        elif isinstance(payload, DnsQuery) and payload.query:
            cm.domains.add(payload.query.lower())
