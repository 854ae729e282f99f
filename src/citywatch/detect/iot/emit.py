"""Opening, growing and rendering the IoT detector's episodes as detections.

A device's detections share ``entity["device.id"]`` (one device, one
incident); ``entity["source.ip"]`` is where the activity came from: the
device itself for what it does, the attacker or the infecting device for a
brute force or an intrusion, which is how a botnet's spread links its
devices' incidents into one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.iot.rules import RULES
from citywatch.detect.iot.state import DeviceState
from citywatch.ingest.inventory import Inventory
from citywatch.model import Detection, Event, GeoPoint

_NOTES_KEPT = 6
_UIDS_SHOWN = 3
_REMOTE_KEPT = 8
_NUMBERS = re.compile(r"(?<![\d.:])\d[\d,]*(?:\.\d+)?(?![\d.:])")
"""The figures in a note, not its addresses and ports: two notes that differ only there say
one thing (``40+ connections in 10 s`` and ``45+ connections in 10 s``), but two
destinations (``10.30.0.10:443``, ``10.30.0.11:443``) are two."""


def device_id(key: str) -> str:
    """The device id a state key stands for (``unmanaged-ADDR`` for an unlisted host)."""
    return key[4:] if key.startswith("dev:") else f"unmanaged-{key[3:]}"


class Emitter:
    """Builds the IoT detector's detections (the detector's ``detection`` with IoT specifics)."""

    def __init__(self, detector: Detector[DeviceState], inventory: Inventory | None) -> None:
        self.detector = detector
        self.inventory = inventory

    def fire(
        self,
        key: str,
        state: DeviceState,
        rule: str,
        event: Event,
        note: str,
        source: str,
        score: float,
        out: list[Detection],
        remote: Sequence[str] = (),
    ) -> None:
        """Open the rule's episode on this device, or add the record to the open one;
        ``remote``: the outside addresses and names the record involves."""
        ts = event.timestamp
        episode = state.episodes.get(rule)
        if episode is None:
            state.episodes[rule] = Episode(
                id=detection_id(self.detector.name, rule, key, ts),
                fired=ts,
                first=ts,
                last=ts,
                evidence=[event.id],
            )
            state.notes[rule] = [note]
            state.sources[rule] = source
            state.scores[rule] = score
            if remote:
                state.remote[rule] = list(dict.fromkeys(remote))[:_REMOTE_KEPT]
            out.append(self.render(key, state, rule))
            return
        notes = state.notes[rule]
        if note not in notes:
            shape = _NUMBERS.sub("#", note)
            same = next((i for i, n in enumerate(notes) if _NUMBERS.sub("#", n) == shape), None)
            if same is not None:  # the same finding with new figures: the latest says it
                notes[same] = note
            elif len(notes) < _NOTES_KEPT:
                notes.append(note)
        if remote:
            known = state.remote.setdefault(rule, [])
            known += [r for r in remote if r not in known][: _REMOTE_KEPT - len(known)]
        state.scores[rule] = max(state.scores[rule], score)
        if episode.add(event.id, ts):
            out.append(self.render(key, state, rule))

    def evidence(
        self, key: str, state: DeviceState, rule: str, event: Event, out: list[Detection]
    ) -> None:
        """Add a record to the rule's open episode (no-op when none is open)."""
        episode = state.episodes.get(rule)
        if episode is not None and episode.add(event.id, event.timestamp):
            out.append(self.render(key, state, rule))

    def close_idle(
        self, key: str, state: DeviceState, now: float, gap: float, out: list[Detection]
    ) -> None:
        """Emit and forget the episodes idle for longer than ``gap``."""
        for rule in [r for r, ep in state.episodes.items() if now - ep.last > gap]:
            out.append(self.render(key, state, rule))
            del state.episodes[rule], state.notes[rule], state.sources[rule], state.scores[rule]
            state.remote.pop(rule, None)

    def render(self, key: str, state: DeviceState, rule_id: str) -> Detection:
        episode = state.episodes[rule_id]
        rule = RULES[rule_id]
        dev = device_id(key)
        notes = state.notes[rule_id]
        flows = [e for e in episode.evidence[:_UIDS_SHOWN] if e[:1] in ("C", "D")]
        summary = f"{dev} ({state.device_class or 'unknown class'}): {rule.name.lower()}: "
        summary += "; ".join(notes)
        if flows:
            more = len(episode.evidence) - len(flows)
            summary += f" (flows {', '.join(flows)}{f' and {more} more' if more > 0 else ''})"
        score = state.scores[rule_id]
        det = self.detector.detection(
            episode,
            rule_id=rule_id,
            rule_name=rule.name,
            severity=rule.severity + int(10 * score),
            confidence=0.5 + 0.5 * score,
            category="cyber",
            summary=summary,
            entity={"device.id": dev, "source.ip": state.sources[rule_id]},
            tags=list(rule.tags),
            attributes={
                "iot": {
                    "device_id": dev,
                    "class": state.device_class,
                    "reasons": list(notes),
                    "score": round(score, 3),
                    "uids": [e for e in episode.evidence[:20] if e[:1] in ("C", "D")],
                    "measures": list(rule.measures),
                    "remote": list(state.remote.get(rule_id, ())),
                }
            },
        )
        geo = geo_of(self.inventory, dev)
        return det if geo is None else msgspec.structs.replace(det, geo=geo)


def geo_of(inventory: Inventory | None, dev: str) -> GeoPoint | None:
    """Where the inventory places the device, if it does."""
    device = inventory.get(dev) if inventory is not None else None
    if device is None or device.lat is None or device.lon is None:
        return None
    return GeoPoint(lat=device.lat, lon=device.lon)
