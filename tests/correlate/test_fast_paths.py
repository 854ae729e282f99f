"""The correlator's fast paths give what the plain code they replaced gives.

``Plain`` below is the correlator as it was written first: every detection
matched against every rule (``isinstance`` per rule, comprehensions), a
merge relinking by a pass over the whole index, every incident built with a
pass per figure and each selector matched against every member. Random
detections, fed to both, must give the same incidents, the same changes in
the same order and the same checkpoint.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import h3
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.correlate import Correlator, PlaceTimeRule, SameEntityRule, SequenceRule
from citywatch.correlate import build as build_module
from citywatch.correlate.build import Member, complete
from citywatch.correlate.engine import _Group, _Link
from citywatch.correlate.rules import AnyRule, load_rules, parse_rules
from citywatch.detect.portal.links import Crowds
from citywatch.model import Detection, GeoPoint, Incident, IncidentStatus, StatusChange, from_epoch

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
PLACES = [(45.8262, 15.9585), (45.8265, 15.9590), (45.80, 15.97)]

RULES = [
    *load_rules([]),
    *parse_rules(
        """
- id: scan-then-exploit
  kind: sequence
  title: Scan then exploit
  severity: 70
  steps: [{rule: ["*scan*"]}, {detector: [web-attacks]}, {rule: [portal.flood]}]
  keys: [source.ip, device.ip]
  within: 1h
- id: two-keys
  kind: same-entity
  match: [{category: [cyber]}]
  exclude: [{tags: ["attack.T1499*"]}]
  keys: [source.ip, device.ip]
  window: 30m
- id: crowd-and-posts
  kind: place-time
  title: Crowd and posts
  category: public_safety
  match:
    - {detector: [crowd-safety]}
    - {detector: [social-events], entity: {social.category: [fire, "crowd-*"]}}
  resolution: 8
  rings: 1
  window: 45m
""",
        "test",
    ),
]


def _plain_splits(rule: SameEntityRule, d: Detection) -> list[str]:
    """The token suffixes of ``split-by``, from the rule's description."""
    suffixes = [""]
    for by in rule.split_by:
        if by == "technique":
            ids = [tag.split(".", 1)[1] for tag in d.tags if tag.startswith("attack.T")]
            leaves = {i for i in ids if not [o for o in ids if o.startswith(i + ".")]}
            values = sorted(leaves) if leaves else [d.rule_id]
        else:
            values = [d.rule_id if by == "rule" else d.detector]
        suffixes = [f"{s}|{v}" for s in suffixes for v in values]
    return suffixes


class Plain(Correlator):
    """The correlator's first, plain code for linking and building (the oracle)."""

    def add(self, detection: Detection) -> None:
        state = self._state
        gid = state.members.get(detection.id)
        if gid is None and self._suppress(detection):
            return
        m = build_module.member(detection)
        lookups, registers = self._plain_tokens(detection, m)
        found: dict[str, _Group] = {}
        for token, window, ordered in lookups:
            link = state.index.get(token)
            if link is None:
                continue
            if ordered:
                near = link.first <= m.first <= link.last + window
            else:
                near = m.first <= link.last + window and m.last >= link.first - window
            if near:
                found[link.group] = state.groups[link.group]
        if gid is not None:
            found[gid] = state.groups[gid]
        target = self._plain_target(detection.id, m, found)
        target.members[detection.id] = m
        state.members[detection.id] = target.id
        target.first, target.last = min(target.first, m.first), max(target.last, m.last)
        for token in registers:
            link = state.index.get(token)
            if link is not None and link.group == target.id:
                link.first, link.last = min(link.first, m.first), max(link.last, m.last)
            else:
                state.index[token] = _Link(target.id, m.first, m.last)
        state.dirty[target.id] = True

    def _plain_tokens(
        self, d: Detection, m: Member
    ) -> tuple[list[tuple[str, float, bool]], list[str]]:
        lookups: list[tuple[str, float, bool]] = []
        registers: list[str] = []
        for rule in self.rules:
            steps = rule.reads(d)
            if not steps:
                continue
            if isinstance(rule, PlaceTimeRule):
                if m.point is None:
                    continue
                cell = h3.latlng_to_cell(m.point[0], m.point[1], rule.resolution)
                n = len(rule.match)  # several selectors: what another one saw, not its own
                for j in range(n):
                    if n == 1 or any(i != j for i in steps):
                        lookups += [
                            (f"{rule.id}@{j}@{c}", rule.window, False)
                            for c in h3.grid_disk(cell, rule.rings)
                        ]
                registers += [f"{rule.id}@{i}@{cell}" for i in steps]
                continue
            values = [d.entity[k] for k in rule.keys if k in d.entity]
            if isinstance(rule, SameEntityRule):
                tokens = [f"{rule.id}|{v}{s}" for v in values for s in _plain_splits(rule, d)]
                lookups += [(t, rule.window, False) for t in tokens]
                registers += tokens
                continue
            for i in steps:
                registers += [f"{rule.id}#{i}|{v}" for v in values]
                if i > 0:
                    lookups += [(f"{rule.id}#{i - 1}|{v}", rule.within, True) for v in values]
        return lookups, registers

    def _plain_target(self, detection_id: str, m: Member, found: dict[str, _Group]) -> _Group:
        state = self._state
        if not found:
            digest = hashlib.blake2b(detection_id.encode(), digest_size=8).hexdigest()
            target = _Group(id=f"inc-{digest}", first=m.first, last=m.last, members={})
            state.groups[target.id] = target
            return target
        target = min(found.values(), key=lambda g: (g.first, g.id))
        for group in found.values():
            if group is not target:
                self._merge(group, into=target, at=m.last)
        return target

    def _merge(self, group: _Group, *, into: _Group, at: float) -> None:
        state = self._state
        self._summaries.pop(group.id, None)
        self._summaries.pop(into.id, None)
        into.members.update(group.members)
        for det_id in group.members:
            state.members[det_id] = into.id
        into.first, into.last = min(into.first, group.first), max(into.last, group.last)
        for link in state.index.values():
            if link.group == group.id:
                link.group = into.id
        group.members = {}
        group.status = IncidentStatus.MERGED
        group.history.append(
            StatusChange(
                status=IncidentStatus.MERGED,
                at=from_epoch(at),
                by="correlator",
                note=f"merged into {into.id}",
            )
        )
        state.dirty[group.id] = True

    def forget(self, before: float) -> list[str]:
        state = self._state
        gone = [
            g for g, group in state.groups.items() if group.last < before and g not in state.dirty
        ]
        forgotten: list[str] = []
        for gid in gone:
            group = state.groups.pop(gid)
            self._summaries.pop(gid, None)
            for det_id in group.members:
                del state.members[det_id]
                forgotten.append(det_id)
        state.index = {t: link for t, link in state.index.items() if link.group not in set(gone)}
        return forgotten

    def _incident(self, group: _Group) -> Incident:
        if not group.members:
            return super()._incident(group)
        return plain_incident(group.id, group.members, self.rules, group.status, group.history)


def plain_complete(rule: AnyRule, members: Sequence[Member]) -> bool:
    selectors = rule.selectors()
    pool = [m for m in members if not any(x.matches(m) for x in rule.exclude)]
    if not isinstance(rule, SequenceRule):
        return all(any(s.matches(m) for m in pool) for s in selectors)
    t = float("-inf")
    for step in selectors:
        starts = [m.first for m in pool if m.first >= t and step.matches(m)]
        if not starts:
            return False
        t = min(starts)
    return True


def plain_incident(
    incident_id: str,
    members: dict[str, Member],
    rules: Sequence[AnyRule],
    status: IncidentStatus,
    history: list[StatusChange],
) -> Incident:
    ms = list(members.values())
    stories = [r for r in rules if r.title is not None and plain_complete(r, ms)]
    story = max(stories, key=lambda r: r.severity or 0) if stories else None
    seen: dict[str, dict[str, None]] = {}
    for m in ms:
        for key, value in m.entity.items():
            seen.setdefault(key, {})[value] = None
    entities = {key: list(values) for key, values in seen.items()}
    categories = {build_module._CATEGORY.get(m.category, "public_safety") for m in ms}
    category = categories.pop() if len(categories) == 1 else "hybrid"
    facilities = sorted({f for m in ms for f in m.facilities})
    people = max(m.people for m in ms)
    services = len(entities.get("target", []))
    parties = Counter(build_module.witness(m) for m in ms)
    witnesses = {p for p, n in parties.items() if n > 1}
    witnesses |= {build_module.witness(m) for m in ms if build_module.corroborates(m)}
    severity = max(m.severity for m in ms) + min(10, 2 * max(0, len(witnesses) - 1))
    severity += 5 * bool(facilities) + 5 * (people >= 1_000) + 5 * (people >= 10_000)
    severity += 2 * max(0, services - 1)
    if story is not None:
        severity = max(severity, story.severity or 0)
        category = story.category or category
    measures: list[str] = []
    for m in sorted(ms, key=lambda m: -m.severity):
        measures.extend(x for x in m.measures if x not in measures)
    spared = {a: why for m in ms for a, why in m.spared.items()}
    crowds: Crowds[str] = Crowds()
    for m in ms:
        if ip := m.entity.get("source.ip"):
            crowds.add(ip, m.links)
    for a, why in crowds.followers().items():
        spared.setdefault(a, why)
    if spared:
        measures.insert(0, build_module.spare(spared))
    points = sorted({m.point for m in ms if m.point is not None})
    exposure = {"people": people, "facilities": len(facilities), "services": services}
    title = (
        story.title
        if story is not None and story.title
        else build_module._title(
            Counter(m.rule_name for m in ms),
            Counter(map(build_module.doing, ms)),
            entities,
            category,
        )
    )
    return Incident(
        id=incident_id,
        title=title,
        status=status,
        severity=min(100, severity),
        category=category,
        first_seen=from_epoch(min(m.first for m in ms)),
        last_seen=from_epoch(max(m.last for m in ms)),
        detections=sorted(members, key=lambda d: (members[d].first, d)),
        entities=entities,
        area=(
            {"type": "MultiPoint", "coordinates": [[lon, lat] for lat, lon in points]}
            if points
            else None
        ),
        measures=measures,
        history=list(history),
        story=story.id if story is not None else None,
        exposure={k: v for k, v in exposure.items() if v},
    )


ENTITY_VALUES = {
    "source.ip": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    "device.ip": ["10.0.0.1", "10.0.0.9"],
    "source.pseudonym": ["ip:a", "ip:b"],
    "user.id": ["user:x", "user:y"],
    "target": ["portal", "wifi"],
    "social.category": ["fire", "crowd-danger", "natural-hazard", "other"],
}


@st.composite
def detections(draw: st.DrawFn) -> list[Detection]:
    """A run of detections with shared entities, places and rules, some re-emitted."""
    out: list[Detection] = []
    for i in range(draw(st.integers(1, 25))):
        if out and draw(st.integers(0, 3)) == 0:  # an episode that grew: re-emitted, more of it
            out.append(_grown(draw(st.sampled_from(out)), draw(st.integers(0, 30))))
            continue
        did = f"d{draw(st.integers(0, i))}"  # now and then an earlier id: a re-emission
        keys = draw(st.lists(st.sampled_from(sorted(ENTITY_VALUES)), max_size=4, unique=True))
        entity = {k: draw(st.sampled_from(ENTITY_VALUES[k])) for k in keys}
        start = draw(st.integers(0, 600))
        at = T0 + timedelta(minutes=start)
        place = draw(st.none() | st.sampled_from(PLACES))
        attributes: dict[str, object] = {
            "x": {
                "measures": draw(st.lists(st.sampled_from(["block", "warn", "call"]), max_size=3)),
                "people": draw(st.integers(0, 20_000)),
                "priorities": [{"kind": "hospital", "name": "H"}] if draw(st.booleans()) else [],
            }
        }
        out.append(
            Detection(
                id=did,
                timestamp=at,
                detector=draw(
                    st.sampled_from(
                        [
                            "web-attacks",
                            "portal-behaviour",
                            "crowd-safety",
                            "social-events",
                            "iot-fleet",
                        ]
                    )
                ),
                rule_id=draw(
                    st.sampled_from(["web.sqli", "portal.scan", "portal.flood", "crowd.surge"])
                ),
                rule_name=draw(st.sampled_from(["SQL injection", "Scan", "Flood"])),
                severity=draw(st.integers(1, 100)),
                confidence=0.9,
                category=draw(st.sampled_from(["cyber", "public_safety"])),
                summary="s",
                entity=entity,
                evidence=[f"{did}-e"],
                first_seen=at,
                last_seen=at + timedelta(minutes=draw(st.integers(0, 90))),
                geo=GeoPoint(lat=place[0], lon=place[1]) if place else None,
                tags=draw(
                    st.lists(
                        st.sampled_from(
                            ["attack.T1190", "attack.T1499.002", "attack.T1499", "intel.stix"]
                        ),
                        max_size=3,
                    )
                ),
                attributes=attributes,
            )
        )
    return out


def _grown(d: Detection, minutes: int) -> Detection:
    """``d`` re-emitted later with more evidence, more severe, one measure more."""
    attributes = {k: dict(v) for k, v in d.attributes.items() if isinstance(v, dict)}
    x = attributes.setdefault("x", {})
    x["measures"] = [*x.get("measures", []), "escalate"]
    return msgspec.structs.replace(
        d,
        severity=min(100, d.severity + minutes % 7),
        last_seen=d.last_seen + timedelta(minutes=minutes),
        evidence=[*d.evidence, f"{d.id}-{minutes}"],
        attributes=attributes,
    )


@settings(max_examples=200, deadline=None)
@given(detections())
def test_the_fast_correlator_links_and_builds_as_the_plain_one(dets: list[Detection]) -> None:
    fast, plain = Correlator(rules=RULES), Plain(rules=RULES)
    for d in dets:
        fast.add(d)
        plain.add(d)
        assert fast.changed() == plain.changed()
    assert fast.incidents() == plain.incidents()
    assert fast.snapshot() == plain.snapshot()


@settings(max_examples=200, deadline=None)
@given(detections(), st.data())
def test_restored_and_forgetting_the_fast_correlator_links_as_the_plain_one(
    dets: list[Detection], data: st.DataObject
) -> None:
    """Merges and forgets visit a group's own tokens (a list rebuilt on restore): restored
    midway, and forgetting now and then, it still links as the plain pass over the index."""
    fast, plain = Correlator(rules=RULES), Plain(rules=RULES)
    cut = data.draw(st.integers(0, len(dets)))
    for i, d in enumerate(dets):
        if i == cut:
            fast = Correlator(rules=RULES)
            fast.restore(plain.snapshot())
        fast.add(d)
        plain.add(d)
        assert fast.changed() == plain.changed()
        if data.draw(st.integers(0, 4)) == 0:
            before = (T0 + timedelta(minutes=data.draw(st.integers(0, 700)))).timestamp()
            assert fast.forget(before) == plain.forget(before)
    assert fast.incidents() == plain.incidents()
    assert fast.snapshot() == plain.snapshot()


BROWSERS = [f"198.51.100.{n}" for n in range(1, 21)]


@st.composite
def followed_links(draw: st.DrawFn) -> list[Detection]:
    """Browsers that links on two pages sent to two attacks, among an attacker's own
    requests; now and then one re-emitted having sent more than a browser would (its link
    gone, its measures grown: a re-emission the summary might otherwise fold in)."""
    out: list[Detection] = []
    for i in range(draw(st.integers(5, 40))):
        if out and draw(st.integers(0, 5)) == 0:
            d = draw(st.sampled_from(out))
            grown = dict(d.attributes["portal"])
            grown.pop("referrer", None)
            grown["measures"] = [*grown["measures"], "escalate"]
            grown["requests"] = 11
            out.append(
                msgspec.structs.replace(
                    d, last_seen=d.last_seen + timedelta(minutes=5), attributes={"portal": grown}
                )
            )
            continue
        at = T0 + timedelta(minutes=draw(st.integers(0, 20)))
        portal: dict[str, object] = {
            "snippet": draw(st.sampled_from(["${jndi:x}"] * 3 + ["' OR 1=1--"])),
            "requests": 1,
            "measures": ["block"],
        }
        if draw(st.integers(0, 7)):  # most: a browser sent by a link, most by the forum's
            portal["referrer"] = draw(st.sampled_from(["forum.example.net"] * 3 + ["mail.org"]))
        out.append(
            Detection(
                id=f"d{i}",
                timestamp=at,
                detector="web-attacks",
                rule_id="web.exploit",
                rule_name="Exploit",
                severity=90,
                confidence=0.9,
                category="cyber",
                summary="s",
                entity={"target": "portal", "source.ip": draw(st.sampled_from(BROWSERS))},
                evidence=[f"d{i}-e"],
                first_seen=at,
                last_seen=at,
                tags=["attack.T1190"],
                attributes={"portal": portal},
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(followed_links(), st.data())
def test_the_fast_correlator_names_a_link_s_followers_as_the_plain_one(
    dets: list[Detection], data: st.DataObject
) -> None:
    """Who followed a link is known from all of an incident's members: folded in as they
    come, re-emitted or restored, the first measure names whom the plain pass does."""
    fast, plain = Correlator(rules=RULES), Plain(rules=RULES)
    cut = data.draw(st.integers(0, len(dets)))
    for i, d in enumerate(dets):
        if i == cut:
            fast = Correlator(rules=RULES)
            fast.restore(plain.snapshot())
        fast.add(d)
        plain.add(d)
        assert fast.changed() == plain.changed()
    assert fast.incidents() == plain.incidents()


@settings(max_examples=200, deadline=None)
@given(detections())
def test_completing_a_story_by_kinds_of_members_is_completing_it_member_by_member(
    dets: list[Detection],
) -> None:
    members = [build_module.member(d) for d in dets]
    for rule in RULES:
        assert complete(rule, members) == plain_complete(rule, members)
