"""Entity-and-time grouping: detections that share an entity close in time are one incident.

A detection joins the incident that holds one of its entity values (on the
configured keys) if their times are within ``gap_s``; if it links several
incidents they merge into the oldest, and the others are resolved with a
note saying where they went, so a growing attack stays one incident. A
re-emitted detection (same id) replaces its earlier version.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.model import Detection, Incident, IncidentStatus, StatusChange, from_epoch, to_epoch

_CATEGORY = {"cyber": "cyber", "public_safety": "public_safety"}


class CorrelatorConfig(BaseModel):
    """Which entity keys link detections, and how far apart in time they may be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    join_on: tuple[str, ...] = Field(
        ("source.ip", "source.pseudonym", "user.id", "device.id", "target"),
        description="entity keys whose shared values put detections in one incident",
    )
    gap_s: float = Field(
        1800.0, gt=0, description="largest time gap a shared entity bridges, seconds"
    )
    key_gap_s: dict[str, float] = Field(
        default_factory=lambda: {
            "source.ip": 21600.0,
            "source.pseudonym": 21600.0,
            "user.id": 21600.0,
            "device.id": 21600.0,
            "target": 7200.0,
        },
        description="per entity key: how far apart in time a shared value still links (the "
        "same attacker returns hours later; a shared target is a weaker link)",
    )


class _Member(msgspec.Struct, frozen=True):
    detector: str
    rule_name: str
    severity: int
    category: str
    first: float
    last: float
    entity: dict[str, str]
    measures: list[str]
    point: tuple[float, float] | None


class _Group(msgspec.Struct, kw_only=True):
    id: str
    first: float
    last: float
    members: dict[str, _Member]
    status: IncidentStatus = IncidentStatus.NEW
    history: list[StatusChange] = msgspec.field(default_factory=list)


class _State(msgspec.Struct):
    groups: dict[str, _Group]
    index: dict[str, str]
    """``key=value`` link → group id."""
    members: dict[str, str] = msgspec.field(default_factory=dict)
    """Detection id → group id."""
    dirty: dict[str, bool] = msgspec.field(default_factory=dict)
    """Groups changed since :meth:`EntityTimeCorrelator.changed` last ran (an ordered set)."""


class EntityTimeCorrelator:
    """Fuses detections into incidents by shared entities within a time gap."""

    def __init__(self, config: CorrelatorConfig | None = None) -> None:
        self.config = config or CorrelatorConfig()
        self._join = frozenset(self.config.join_on)
        self._state = _State(groups={}, index={})

    def add(self, detection: Detection) -> None:
        """Fold one detection in (a re-emission replaces its earlier version).

        Cheap: incidents are built once per batch by :meth:`changed`, not per detection.
        """
        state = self._state
        member = _member(detection)
        links = [(f"{k}={v}", self._gap(k)) for k, v in detection.entity.items() if k in self._join]
        found: dict[str, _Group] = {}
        for link, gap in links:
            gid = state.index.get(link)
            group = state.groups.get(gid) if gid else None
            if group and member.first <= group.last + gap and member.last >= group.first - gap:
                found[group.id] = group
        if (gid := state.members.get(detection.id)) is not None:  # a re-emission stays put
            found[gid] = state.groups[gid]
        if not found:
            digest = hashlib.blake2b(detection.id.encode(), digest_size=8).hexdigest()
            target = _Group(id=f"inc-{digest}", first=member.first, last=member.last, members={})
            state.groups[target.id] = target
        else:
            target = min(found.values(), key=lambda g: (g.first, g.id))
        changed = [target.id]
        for group in found.values():
            if group is target:
                continue
            target.members.update(group.members)
            for det_id in group.members:
                state.members[det_id] = target.id
            target.first, target.last = min(target.first, group.first), max(target.last, group.last)
            for link, gid in state.index.items():
                if gid == group.id:
                    state.index[link] = target.id
            group.members = {}
            group.status = IncidentStatus.RESOLVED
            group.history.append(
                StatusChange(
                    status=IncidentStatus.RESOLVED,
                    at=from_epoch(member.last),
                    by="correlator",
                    note=f"merged into {target.id}",
                )
            )
            changed.append(group.id)
        target.members[detection.id] = member
        state.members[detection.id] = target.id
        target.first, target.last = min(target.first, member.first), max(target.last, member.last)
        for link, _ in links:
            state.index[link] = target.id
        state.dirty.update(dict.fromkeys(changed, True))

    def changed(self) -> list[Incident]:
        """The incidents changed since the last call (merged-away ones included), once each."""
        state = self._state
        ids, state.dirty = list(state.dirty), {}
        return [self._incident(state.groups[gid]) for gid in ids]

    def _gap(self, key: str) -> float:
        return self.config.key_gap_s.get(key, self.config.gap_s)

    def __len__(self) -> int:
        """How many incidents have members (merged-away ones do not count)."""
        return sum(1 for g in self._state.groups.values() if g.members)

    def incidents(self) -> list[Incident]:
        """Every incident with members, most severe first."""
        live = [self._incident(g) for g in self._state.groups.values() if g.members]
        return sorted(live, key=lambda i: (-i.severity, i.first_seen, i.id))

    def snapshot(self) -> bytes:
        """The correlator's state as MessagePack."""
        return msgspec.msgpack.encode(self._state)

    def restore(self, blob: bytes) -> None:
        """Replace the state with one from :meth:`snapshot`."""
        self._state = msgspec.msgpack.decode(blob, type=_State)

    def _incident(self, group: _Group) -> Incident:
        members = group.members
        if not members:
            return Incident(
                id=group.id,
                title="(merged)",
                status=group.status,
                severity=1,
                category="cyber",
                first_seen=from_epoch(group.first),
                last_seen=from_epoch(group.last),
                detections=[],
                history=list(group.history),
            )
        rules = Counter(m.rule_name for m in members.values())
        entities: dict[str, list[str]] = {}
        for m in members.values():
            for key, value in m.entity.items():
                values = entities.setdefault(key, [])
                if value not in values:
                    values.append(value)
        categories = {_CATEGORY.get(m.category, "public_safety") for m in members.values()}
        severity = max(m.severity for m in members.values()) + min(10, 2 * (len(members) - 1))
        measures: list[str] = []
        for m in sorted(members.values(), key=lambda m: -m.severity):
            measures.extend(x for x in m.measures if x not in measures)
        points = sorted({m.point for m in members.values() if m.point is not None})
        return Incident(
            id=group.id,
            title=_title(rules, entities),
            status=group.status,
            severity=min(100, severity),
            category=categories.pop() if len(categories) == 1 else "hybrid",
            first_seen=from_epoch(group.first),
            last_seen=from_epoch(group.last),
            detections=sorted(members, key=lambda d: (members[d].first, d)),
            entities=entities,
            area=(
                {"type": "MultiPoint", "coordinates": [[lon, lat] for lat, lon in points]}
                if points
                else None
            ),
            measures=measures,
            history=list(group.history),
        )


def _member(d: Detection) -> _Member:
    measures: list[str] = []
    for value in d.attributes.values():
        if isinstance(value, dict) and isinstance(value.get("measures"), list):
            measures.extend(str(x) for x in value["measures"])
    return _Member(
        detector=d.detector,
        rule_name=d.rule_name,
        severity=d.severity,
        category=d.category,
        first=to_epoch(d.first_seen),
        last=to_epoch(d.last_seen),
        entity=dict(d.entity),
        measures=measures,
        point=(d.geo.lat, d.geo.lon) if d.geo else None,
    )


def _title(rules: Counter[str], entities: dict[str, list[str]]) -> str:
    """``Credential stuffing against portal from 12 sources``; several kinds: ``Attack on ...``."""
    main = rules.most_common(1)[0][0]
    target = ", ".join(entities.get("target", []))
    sources = entities.get("source.ip") or entities.get("source.pseudonym") or []
    origin = ""
    if len(sources) > 1:
        origin = f" from {len(sources)} sources"
    elif len(sources) == 1 and "source.ip" in entities:
        origin = f" from {sources[0]}"
    if len(rules) == 1:
        return f"{main}{f' against {target}' if target else ''}{origin}"
    return f"Attack on {target or 'several assets'}{origin}: {main} and {len(rules) - 1} more kinds"
