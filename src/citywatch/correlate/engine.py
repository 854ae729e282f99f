"""The correlator: detections fused into incidents by declarative rules, on event time.

Each rule turns a detection into link tokens (``rule|value`` for a shared
entity, ``rule@cell`` for a place, ``rule#step|value`` for a sequence step).
A detection joins the incident that holds a token it looks up, when their
event times fall within the rule's window; if it links several incidents they
merge into the oldest, and the others are resolved with a note saying where
they went, so a growing situation stays one incident. A re-emitted detection
(same id) replaces its earlier version; a suppressed one is counted, never
grouped. The whole state is one msgspec Struct, checkpointed in the store, so
a restart neither splits nor duplicates incidents; every token carries its
rule and key, so the state can be partitioned by key.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h3
import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.correlate.build import Member, Summary, member
from citywatch.correlate.rules import AnyRule, PlaceTimeRule, SameEntityRule, load_rules
from citywatch.model import (
    Detection,
    Incident,
    IncidentStatus,
    StatusChange,
    Suppression,
    from_epoch,
    to_epoch,
)
from citywatch.model.incident import MERGED_INTO

_MEMO = 10_000
"""Distinct detection labels whose rule matches are remembered."""

_TIDY_EVERY_S = 3600.0
"""Event time between two passes of :meth:`Correlator.tidy` over the state."""


class CorrelatorConfig(BaseModel):
    """Which correlation rules run: the built-in ones and the city's own files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    builtin_rules: bool = Field(True, description="load the rules shipped with citywatch")
    rules: tuple[Path, ...] = Field((), description="YAML files with more correlation rules")
    forget_after_s: float = Field(
        7 * 86400.0,
        ge=86400.0,
        description="a long-lived pipeline (serve, the scale-out correlator) forgets an incident"
        " that gained nothing for this long in event time; it stays in the store, and a later"
        " detection starts a new incident",
    )


_SAME, _PLACE, _SEQUENCE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Linker:
    """What one rule needs to link a detection, read from the rule once.

    Reading a pydantic model's fields and ``isinstance`` on its classes cost
    more than making the tokens, and every detection went through every rule.
    """

    kind: int
    id: str
    keys: tuple[str, ...] = ()
    window: float = 0.0
    """The rule's ``window``, or for a sequence its ``within``."""
    resolution: int = 0
    rings: int = 0
    selectors: int = 1
    """A place-time rule's selectors: with several, a detection links only with what another
    selector matched (a crowd sensor and posts at the venue, not two posts of their own)."""

    @classmethod
    def of(cls, rule: AnyRule) -> _Linker:
        """The linker of ``rule``."""
        if isinstance(rule, PlaceTimeRule):
            return cls(
                _PLACE, rule.id, (), rule.window, rule.resolution, rule.rings, len(rule.match)
            )
        if isinstance(rule, SameEntityRule):
            return cls(_SAME, rule.id, rule.keys, rule.window)
        return cls(_SEQUENCE, rule.id, rule.keys, rule.within)


def _partners(matched: list[int], selectors: int) -> list[int]:
    """The selectors of a place-time rule whose detections one that matched ``matched`` links
    with: every other one (all, when it matched several); a rule of one selector, that one.

    >>> _partners([0], 1), _partners([0], 2), _partners([1], 3), _partners([0, 1], 2)
    ([0], [1], [0, 2], [0, 1])
    """
    if selectors == 1 or len(matched) > 1:
        return list(range(selectors))
    return [j for j in range(selectors) if j != matched[0]]


_Step = tuple[str, str, float, _Linker, list[int], tuple[str, ...]]
"""One way a detection links: (entity key, token prefix, window, rule, matched selectors,
token suffixes).

For a same-entity rule there is one step per key of the rule the detection
has, and its tokens are the prefix, the key's value and each suffix (one,
empty, without ``split-by``); other rules have an empty key and make their
tokens from the rule.
"""


class _Link(msgspec.Struct, array_like=True):
    group: str
    first: float
    last: float


class _Group(msgspec.Struct, kw_only=True):
    id: str
    first: float
    last: float
    members: dict[str, Member]
    status: IncidentStatus = IncidentStatus.NEW
    history: list[StatusChange] = msgspec.field(default_factory=list)


class _State(msgspec.Struct):
    groups: dict[str, _Group]
    index: dict[str, _Link]
    """Link token → the group that last registered it, and its registrants' time span."""
    members: dict[str, str] = msgspec.field(default_factory=dict)
    """Detection id → group id."""
    dirty: dict[str, bool] = msgspec.field(default_factory=dict)
    """Groups changed since :meth:`Correlator.changed` last ran (an ordered set)."""
    suppressed: dict[str, str] = msgspec.field(default_factory=dict)
    """Detection id → the suppression that held it back."""


class Correlator:
    """Fuses detections into incidents by the configured rules."""

    def __init__(
        self,
        config: CorrelatorConfig | None = None,
        *,
        rules: Sequence[AnyRule] | None = None,
        suppressions: Sequence[Suppression] = (),
    ) -> None:
        self.config = config or CorrelatorConfig()
        self.rules = (
            list(rules)
            if rules is not None
            else load_rules(list(self.config.rules), builtin=self.config.builtin_rules)
        )
        self.suppressions = list(suppressions)
        self._state = _State(groups={}, index={})
        self._entity_keys = tuple(
            sorted(
                {
                    k
                    for rule in self.rules
                    for s in (*rule.selectors(), *rule.exclude)
                    for k in s.entity
                }
            )
        )
        """The entity keys any selector reads: with the labels, all rule matching depends on."""
        self._linkers = [_Linker.of(rule) for rule in self.rules]
        self._plans: dict[tuple[object, ...], list[_Step]] = {}
        self._summaries: dict[str, Summary] = {}
        """Group id → the summary of its members (derived state: rebuilt when missing)."""
        self._registered: dict[str, list[str]] = {}
        """Group id → the tokens it registered (derived state, rebuilt on restore), so that a
        merge or a forget visits a group's own tokens, not the whole index. A token another
        group registered since is still listed: its link tells."""
        self._reached = -math.inf
        """The latest event time of a detection added (what :meth:`tidy` measures from)."""
        self._next_tidy = -math.inf

    def use(self, suppressions: Sequence[Suppression]) -> None:
        """Hold back detections by ``suppressions`` from now on (those in force now, as the
        store has them: created, changed or ended while the pipeline runs)."""
        self.suppressions = list(suppressions)

    def add(self, detection: Detection) -> None:
        """Fold one detection in. Cheap: incidents are built by :meth:`changed`, once per batch."""
        state = self._state
        gid = state.members.get(detection.id)
        if gid is None and self.suppressions and self._suppress(detection):
            return
        m = member(detection)
        first, last = m.first, m.last
        lookups, registers = self._tokens(detection, m)
        index, groups = state.index, state.groups
        found: dict[str, _Group] = {}
        for token, window, ordered in lookups:
            link = index.get(token)
            if link is None:
                continue
            if ordered:
                near = link.first <= first <= link.last + window
            else:
                near = first <= link.last + window and last >= link.first - window
            if near:
                found[link.group] = groups[link.group]
        if gid is not None:  # a re-emission stays put
            found[gid] = groups[gid]
        target = self._target(detection.id, m, found)
        target.members[detection.id] = m
        summary = self._summaries.get(target.id)
        if summary is not None and not summary.add(detection.id, m):
            del self._summaries[target.id]
        state.members[detection.id] = target_id = target.id
        if last > self._reached:  # noqa: PLR1730 - no call on the hot path
            self._reached = last
        # min() and max() in place, as comparisons: two builtin calls per token add up
        if first < target.first:  # noqa: PLR1730 - no call on the hot path
            target.first = first
        if last > target.last:  # noqa: PLR1730 - no call on the hot path
            target.last = last
        for token in registers:
            link = index.get(token)
            if link is not None and link.group == target_id:
                if first < link.first:  # noqa: PLR1730 - no call on the hot path
                    link.first = first
                if last > link.last:  # noqa: PLR1730 - no call on the hot path
                    link.last = last
            else:
                index[token] = _Link(target_id, first, last)
                self._registered.setdefault(target_id, []).append(token)
        state.dirty[target_id] = True

    def _suppress(self, detection: Detection) -> bool:
        at = to_epoch(detection.last_seen)
        for suppression in self.suppressions:
            if suppression.applies(detection, at):
                self._state.suppressed[detection.id] = suppression.id
                return True
        return False

    def _tokens(self, d: Detection, m: Member) -> tuple[list[tuple[str, float, bool]], list[str]]:
        """What ``d`` looks up (token, window, ordered) and what it registers, rule by rule."""
        lookups: list[tuple[str, float, bool]] = []
        registers: list[str] = []
        entity = d.entity
        for key, prefix, window, link, steps, suffixes in self._plan(d):
            if key:  # a same-entity rule's key that d has: the common case, one token
                for suffix in suffixes:
                    token = f"{prefix}{entity[key]}{suffix}"
                    lookups.append((token, window, False))
                    registers.append(token)
                continue
            if link.kind == _PLACE:
                if m.point is None:
                    continue
                cell = h3.latlng_to_cell(m.point[0], m.point[1], link.resolution)
                near = h3.grid_disk(cell, link.rings)
                for j in _partners(steps, link.selectors):
                    lookups += [(f"{link.id}@{j}@{c}", window, False) for c in near]
                registers += [f"{link.id}@{i}@{cell}" for i in steps]
                continue
            values = [entity[k] for k in link.keys if k in entity]
            for i in steps:
                registers += [f"{link.id}#{i}|{v}" for v in values]
                if i > 0:
                    lookups += [(f"{link.id}#{i - 1}|{v}", window, True) for v in values]
        return lookups, registers

    def _plan(self, d: Detection) -> list[_Step]:
        """How ``d`` links, rule by rule: the rules that read it and what they take from it.

        Memoised on what that depends on: the labels and entity values
        selectors read, and which entity keys ``d`` has. A detection like one
        seen before then costs a dict lookup, not a glob match per selector
        and a pass over every rule's keys.
        """
        entity = d.entity
        label = (
            d.detector,
            d.rule_id,
            d.category,
            tuple(d.tags),
            tuple(entity),
            *map(entity.get, self._entity_keys),
        )
        known = self._plans.get(label)
        if known is None:
            known = []
            for link, rule in zip(self._linkers, self.rules, strict=True):
                steps = rule.reads(d)
                if not steps:
                    continue
                if isinstance(rule, SameEntityRule):
                    prefix, suffixes = f"{link.id}|", rule.splits(d)
                    known += [
                        (k, prefix, link.window, link, steps, suffixes)
                        for k in link.keys
                        if k in entity
                    ]
                else:
                    known.append(("", "", link.window, link, steps, ()))
            if len(self._plans) < _MEMO:
                self._plans[label] = known
        return known

    def _target(self, detection_id: str, m: Member, found: dict[str, _Group]) -> _Group:
        """The group a detection joins: a new one, the one it links, or the oldest of several."""
        state = self._state
        if not found:
            digest = hashlib.blake2b(detection_id.encode(), digest_size=8).hexdigest()
            target = _Group(id=f"inc-{digest}", first=m.first, last=m.last, members={})
            state.groups[target.id] = target
            return target
        if len(found) == 1:  # the common case: one incident to join, nothing to merge
            return next(iter(found.values()))
        target = min(found.values(), key=lambda g: (g.first, g.id))
        for group in found.values():
            if group is not target:
                self._merge(group, into=target, at=m.last)
        return target

    def _merge(self, group: _Group, *, into: _Group, at: float) -> None:
        state = self._state
        self._summaries.pop(group.id, None)
        # fold the smaller group into the summary of the one it joins, as its members came
        # (rebuilding a 3,000-member summary at every merge cost more than the detections)
        summary = self._summaries.get(into.id)
        if summary is not None and not all(summary.add(i, m) for i, m in group.members.items()):
            del self._summaries[into.id]
        into.members.update(group.members)
        for det_id in group.members:
            state.members[det_id] = into.id
        into.first, into.last = min(into.first, group.first), max(into.last, group.last)
        index = state.index
        moved = self._registered.setdefault(into.id, [])
        for token in self._registered.pop(group.id, ()):
            link = index.get(token)
            if link is not None and link.group == group.id:
                link.group = into.id
                moved.append(token)
        group.members = {}
        group.status = IncidentStatus.MERGED
        group.history.append(
            StatusChange(
                status=IncidentStatus.MERGED,
                at=from_epoch(at),
                by="correlator",
                note=f"{MERGED_INTO}{into.id}",
            )
        )
        state.dirty[group.id] = True

    def tidy(self) -> list[str]:
        """In a long-lived pipeline, after a batch: forget the incidents that gained nothing for
        ``forget_after_s`` of event time (at most one pass an hour); the ids of the detections
        forgotten with them. A batch run never calls it: its outputs list every incident."""
        if self._reached < self._next_tidy:
            return []
        self._next_tidy = self._reached + _TIDY_EVERY_S
        return self.forget(self._reached - self.config.forget_after_s)

    def forget(self, before: float) -> list[str]:
        """Drop the incidents whose members all ended before event time ``before`` (and were
        published since), their members and their link tokens; the detection ids dropped.
        What the store holds of them stays."""
        state = self._state
        gone = [
            gid
            for gid, group in state.groups.items()
            if group.last < before and gid not in state.dirty
        ]
        if not gone:
            return []
        forgotten: list[str] = []
        index = state.index
        for gid in gone:
            group = state.groups.pop(gid)
            self._summaries.pop(gid, None)
            for det_id in group.members:
                del state.members[det_id]
                forgotten.append(det_id)
            for token in self._registered.pop(gid, ()):
                link = index.get(token)
                if link is not None and link.group == gid:
                    del index[token]
        return forgotten

    def changed(self) -> list[Incident]:
        """The incidents changed since the last call (merged-away ones included), once each."""
        state = self._state
        ids, state.dirty = list(state.dirty), {}
        return [self._incident(state.groups[gid]) for gid in ids]

    def __len__(self) -> int:
        """How many incidents have members (merged-away ones do not count)."""
        return sum(1 for g in self._state.groups.values() if g.members)

    @property
    def suppressed(self) -> dict[str, str]:
        """Detection id → id of the suppression that kept it out of incidents."""
        return dict(self._state.suppressed)

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
        self._summaries = {}
        self._registered = {}
        for token, link in self._state.index.items():
            self._registered.setdefault(link.group, []).append(token)
        self._reached = max((g.last for g in self._state.groups.values()), default=-math.inf)
        self._next_tidy = -math.inf

    def _incident(self, group: _Group) -> Incident:
        if not group.members:
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
        summary = self._summaries.get(group.id)
        if summary is None:  # new, merged into, restored, or re-emitted other than grown
            summary = self._summaries[group.id] = Summary.of(group.members, self.rules)
        return summary.incident(group.id, status=group.status, history=group.history)
