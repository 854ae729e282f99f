"""Crowd safety at venues from aggregated counts: density, flow, time-to-critical, measures.

Keyed per venue (``venue:<id>``): a venue's zones, gates and calibration are
one picture. Counts arrive per interval (``zone-counts``, ``gate-counts``);
when an interval closes (a later one begins, or the watermark passes it),
the detector updates the calibration, estimates people and density per zone
with an uncertainty band, the flow through each gate, the density trend and
time-to-critical, and checks the rules:

- ``crowd.surge``: a zone's density at Fruin LOS E or worse and its trend
  reaching the critical density within ``warn_minutes`` (the early warning);
- ``crowd.crush-risk``: a zone at critical density, or a gate passing more
  than ``flow_margin`` times its Green Guide rate;
- ``crowd.blocked-exit``: a gate that was passing people stops while the
  zone inside it fills;
- ``crowd.exodus``: while the event is under way (the stands filled less
  than ``event_minutes`` ago), the stands lose ``exodus_drop`` of their crowd
  in two intervals with the exits flowing out: an alarm, or panic.

Every detection carries ``entity["venue.id"]`` (and ``venue.zone`` or
``venue.gate``), so one venue's situation is one incident (the ``same-venue``
correlation rule), ``entity["place"]``, the venue's name (what the incident's
title and its public alert's area say), and ``attributes.crowd`` (FORMATS.md) with measures for
the venue's own layout.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec
from pydantic import BaseModel

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.crowd.config import CrowdConfig
from citywatch.detect.crowd.estimate import calibrate, estimate
from citywatch.detect.crowd.forecast import slope_per_min, time_to_critical
from citywatch.detect.crowd.measures import Picture
from citywatch.detect.crowd.rules import STANDS, exodus_rule, gate_rules, zone_rules
from citywatch.detect.crowd.state import CrowdState, Detail, Track
from citywatch.ingest.venue import Venue, load_venue
from citywatch.model import Detection, Event, GeoPoint
from citywatch.model.payloads import GateCount, ZoneCount

_RULES = {  # rule: (name, severity, confidence)
    "crowd.surge": ("Crowd surge towards critical density", 60, 0.7),
    "crowd.crush-risk": ("Crush risk", 90, 0.85),
    "crowd.blocked-exit": ("Blocked exit", 80, 0.8),
    "crowd.exodus": ("Sudden exodus", 85, 0.85),
}
_BLANK = dict.fromkeys(
    (
        "density_ppm2",
        "density_band",
        "los",
        "flow_ppmm",
        "time_to_critical_min",
        "egress_min",
        "people",
    )
)
"""Every figure of ``attributes.crowd`` (FORMATS.md), None where a rule has none."""


class CrowdSafety(Detector[CrowdState]):
    """Density, flow, time-to-critical and recommended measures per venue, from counts."""

    name: ClassVar[str] = "crowd-safety"
    description: ClassVar[str] = (
        "venue crowd density, flows, time-to-critical, exodus, blocked exits"
    )
    config_model: ClassVar[type[BaseModel]] = CrowdConfig
    state_type: ClassVar[type[msgspec.Struct]] = CrowdState
    datasets: ClassVar[frozenset[str]] = frozenset({"crowd.zone", "crowd.gate"})

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, CrowdConfig)
        self.cfg: CrowdConfig = self.config
        self.venues: dict[str, Venue] = {}
        self._known: dict[str, frozenset[str]] = {}
        for path in self.cfg.venues:
            venue = load_venue(path)
            self.venues[venue.id] = venue
            self._known[venue.id] = frozenset(
                [z.id for z in venue.zones] + [f"gate:{g.id}" for g in venue.gates]
            )

    def keys(self, event: Event) -> tuple[str, ...]:
        payload = event.payload
        if isinstance(payload, ZoneCount | GateCount) and payload.venue in self.venues:
            return (f"venue:{payload.venue}",)
        return ()

    def new_state(self, key: str) -> CrowdState:
        return CrowdState()

    def update(self, key: str, state: CrowdState, event: Event, out: list[Detection]) -> None:
        payload = event.payload
        assert isinstance(payload, ZoneCount | GateCount)
        venue = self.venues[payload.venue]
        ts = event.timestamp
        if state.bucket is not None and ts < state.bucket:
            state.late += 1  # an interval already closed: too late to change it
            return
        if state.bucket is None or ts > state.bucket:
            if state.bucket is not None:
                self._close(venue, state, out)
            state.bucket, state.interval_s = ts, payload.interval_s
        if isinstance(payload, ZoneCount):
            if payload.zone not in self._known[venue.id]:
                return
            by_source = state.counts.setdefault(payload.zone, {})
            by_source[payload.source] = by_source.get(payload.source, 0.0) + payload.count
            state.ids.setdefault(payload.zone, []).append(event.id)
        else:
            if f"gate:{payload.gate}" not in self._known[venue.id]:
                return
            entered, left = state.gate_counts.get(payload.gate, (0, 0))
            state.gate_counts[payload.gate] = (entered + payload.entered, left + payload.left)
            state.ids.setdefault(f"gate:{payload.gate}", []).append(event.id)

    def expire(self, key: str, state: CrowdState, watermark: float, out: list[Detection]) -> bool:
        venue = self.venues[key.removeprefix("venue:")]
        if state.bucket is not None and watermark >= state.bucket + state.interval_s:
            self._close(venue, state, out)
            state.bucket = None
        self._close_quiet(venue, state, watermark, out)
        return False  # the calibration is worth keeping

    def _close(self, venue: Venue, state: CrowdState, out: list[Detection]) -> None:
        """Close the open interval: estimate, forecast, check the rules, emit."""
        assert state.bucket is not None
        end, minutes = state.bucket + state.interval_s, state.interval_s / 60
        flows: dict[str, float] = {}
        for gate in venue.gates:
            if gate.id not in state.gate_counts:
                continue
            entered, left = state.gate_counts[gate.id]
            outer = venue.zone(gate.zones[-1])
            if venue.zone(gate.zones[0]).inside and not outer.inside:
                state.inside = max(0.0, state.inside + entered - left)
            state.gates.setdefault(gate.id, Track()).push(end, entered / minutes, left / minutes)
            flows[gate.id] = (entered + left) / minutes
        calibrate(venue, state.counts, state.inside, state.ratios, self.cfg)
        people: dict[str, float] = {}
        errors: dict[str, float] = {}
        for zone in venue.zones:
            found = estimate(zone.id, state.counts.get(zone.id, {}), state.ratios, self.cfg)
            if found is not None:
                people[zone.id], errors[zone.id] = found
                state.zones.setdefault(zone.id, Track()).push(end, found[0], found[1])
        density = {z: p / venue.zone(z).area_m2 for z, p in people.items()}
        ttc: dict[str, float | None] = {}
        slopes: dict[str, float] = {}
        n = self.cfg.trend_intervals
        for zone_id in people:
            zone, track = venue.zone(zone_id), state.zones[zone_id]
            slopes[zone_id] = slope_per_min(
                track.times[-n:], [p / zone.area_m2 for p in track.a[-n:]]
            )
            crit = self.cfg.critical_standing if zone.kind in STANDS else self.cfg.critical_moving
            ttc[zone_id] = time_to_critical(density[zone_id], slopes[zone_id], crit)
        stands = [z for z in venue.zones if z.kind in STANDS]
        seated, places = sum(people.get(z.id, 0.0) for z in stands), sum(z.capacity for z in stands)
        if state.session_start is None and seated >= self.cfg.session_fill * places:
            state.session_start = end  # the event is under way
        elif state.session_start is not None and seated < 0.05 * places:
            state.session_start = None  # it is over: the next one starts afresh
        picture = Picture(venue, end, people, density, ttc, flows, self.cfg)
        fired = zone_rules(picture, errors, slopes)
        fired.update(gate_rules(picture, state))
        fired.update(exodus_rule(picture, state))
        for ep_key, detail in fired.items():
            self._fire(venue, state, ep_key, detail, end, out)
        state.counts, state.gate_counts, state.ids = {}, {}, {}
        self._close_quiet(venue, state, end, out)

    def _fire(
        self, venue: Venue, state: CrowdState, ep_key: str, detail: Detail, end: float,
        out: list[Detection],
    ) -> None:  # fmt: skip
        subject = ep_key.split("|", 1)[1]
        ids = list(state.ids.get(subject, []))
        if subject == "venue":
            ids = [i for z in venue.zones if z.kind in STANDS for i in state.ids.get(z.id, [])]
            ids += [i for g in venue.gates for i in state.ids.get(f"gate:{g.id}", [])]
        assert state.bucket is not None
        episode = state.episodes.get(ep_key)
        kept = state.details.get(ep_key)
        if kept is None or detail.weight > kept.weight:
            state.details[ep_key] = detail
        if episode is None:
            episode = state.episodes[ep_key] = Episode(
                id=detection_id(self.name, ep_key, venue.id, end), fired=end,
                first=state.bucket, last=end, evidence=ids,
            )  # fmt: skip
            out.append(self._emit(venue, state, ep_key))
            return
        grown = [episode.add(i, end) for i in ids]
        episode.last = end
        if any(grown):
            out.append(self._emit(venue, state, ep_key))

    def _close_quiet(
        self, venue: Venue, state: CrowdState, now: float, out: list[Detection]
    ) -> None:
        """Emit the final version of episodes whose condition has been quiet for ``gap_s``."""
        for ep_key in [k for k, e in state.episodes.items() if now - e.last > self.cfg.gap_s]:
            out.append(self._emit(venue, state, ep_key))
            del state.episodes[ep_key], state.details[ep_key]

    def _emit(self, venue: Venue, state: CrowdState, ep_key: str) -> Detection:
        rule, subject = ep_key.split("|", 1)
        label, severity, confidence = _RULES[rule]
        detail = state.details[ep_key]
        entity = {"venue.id": venue.id, "place": venue.name}
        point = None
        if subject.startswith("gate:"):
            entity["venue.gate"] = subject[5:]
            point = venue.zone(venue.gate(subject[5:]).zones[0]).centroid
        elif subject != "venue":
            entity["venue.zone"] = subject
            point = venue.zone(subject).centroid
        else:
            points = [c for z in venue.zones if (c := z.centroid) is not None]
            if points:
                point = (
                    sum(p[0] for p in points) / len(points),
                    sum(p[1] for p in points) / len(points),
                )
        crowd = {"venue": venue.id, **_BLANK, **detail.figures, "measures": detail.measures}
        detection = self.detection(
            state.episodes[ep_key],
            rule_id=rule,
            rule_name=label,
            severity=severity,
            confidence=confidence,
            category="public_safety",
            summary=detail.summary,
            entity=entity,
            tags=["public_safety.crowd", rule],
            attributes={"crowd": crowd},
        )
        if point is None:
            return detection
        return msgspec.structs.replace(detection, geo=GeoPoint(lat=point[0], lon=point[1]))
