"""An incident from its member detections: title, category, severity, exposure, area, measures.

The correlator keeps a small :class:`Member` per detection (what these need,
nothing else) and builds the incident from them once per batch.

Severity starts from the most severe detection, grows with corroboration
(+2 per further detection, at most +10) and with the exposure it touches
(+5 when critical facilities are in it, +5 from 1,000 people, +5 more from
10,000; +2 per city service beyond the first), and never falls below the
floor of a story rule the incident completes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from operator import attrgetter

import msgspec

from citywatch.correlate.rules import AnyRule, SequenceRule
from citywatch.model import Detection, Incident, IncidentStatus, StatusChange, from_epoch, to_epoch

_CATEGORY = {"cyber": "cyber", "public_safety": "public_safety"}


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """What the correlator keeps of one detection."""

    detector: str
    rule_id: str
    rule_name: str
    severity: int
    category: str
    tags: list[str]
    first: float
    last: float
    entity: dict[str, str]
    measures: list[str]
    point: tuple[float, float] | None
    people: int = 0
    facilities: list[str] = msgspec.field(default_factory=list)


def member(d: Detection) -> Member:
    """The correlator's summary of ``d``: labels, times, entity, place, measures and exposure."""
    measures: list[str] = []
    people = 0
    facilities: list[str] = []
    for value in d.attributes.values():
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("measures"), list):
            measures.extend(map(str, value["measures"]))
        if isinstance(value.get("people"), (int, float)):
            people = max(people, int(value["people"]))
        for p in value.get("priorities") or ():
            if isinstance(p, dict) and p.get("kind") not in (None, "cell"):
                facilities.append(str(p.get("name") or p.get("id")))
    return Member(
        detector=d.detector,
        rule_id=d.rule_id,
        rule_name=d.rule_name,
        severity=d.severity,
        category=d.category,
        tags=list(d.tags),
        first=to_epoch(d.first_seen),
        last=to_epoch(d.last_seen),
        entity=dict(d.entity),
        measures=measures,
        point=(d.geo.lat, d.geo.lon) if d.geo else None,
        people=people,
        facilities=facilities,
    )


_Kinds = dict[tuple[object, ...], list[Member]]
"""Members grouped by what selectors read of them: a selector matches all of a group or none."""


def _kinds(members: Sequence[Member], rules: Sequence[AnyRule]) -> _Kinds:
    """``members`` grouped by their labels and the entity values the selectors of ``rules`` read.

    An incident may hold thousands of detections of a few kinds: a selector
    is then matched once per kind, not once per detection.
    """
    keys = sorted({k for r in rules for s in (*r.selectors(), *r.exclude) for k in s.entity})
    groups: _Kinds = {}
    for m in members:
        entity = m.entity
        label = (m.detector, m.rule_id, m.category, tuple(m.tags), *[entity.get(k) for k in keys])
        found = groups.get(label)
        if found is None:
            groups[label] = [m]
        else:
            found.append(m)
    return groups


def complete(rule: AnyRule, members: Sequence[Member]) -> bool:
    """True when ``members`` hold a detection for every selector of ``rule`` (in order: sequence).

    >>> from citywatch.correlate.rules import parse_rules
    >>> rule = parse_rules("{id: s, kind: sequence, steps: [{detector: [a]}, {detector: [b]}],"
    ...                    " keys: [k], within: 60}", "x")[0]
    >>> m = lambda det, t: Member(detector=det, rule_id="r", rule_name="r", severity=1,
    ...     category="cyber", tags=[], first=t, last=t, entity={}, measures=[], point=None)
    >>> complete(rule, [m("a", 1), m("b", 2)]), complete(rule, [m("b", 1), m("a", 2)])
    (True, False)
    """
    return _complete_kinds(rule, _kinds(members, [rule]))


def _complete_kinds(rule: AnyRule, groups: _Kinds) -> bool:
    """:func:`complete` on members grouped by :func:`_kinds` (over ``rule`` among others)."""
    selectors = rule.selectors()
    pool = [g for g in groups.values() if not any(x.matches(g[0]) for x in rule.exclude)]
    if not isinstance(rule, SequenceRule):
        return all(any(s.matches(g[0]) for g in pool) for s in selectors)
    t = float("-inf")
    for step in selectors:
        starts = [m.first for g in pool if step.matches(g[0]) for m in g if m.first >= t]
        if not starts:
            return False
        t = min(starts)
    return True


def build_incident(
    incident_id: str,
    members: dict[str, Member],
    rules: Sequence[AnyRule],
    *,
    status: IncidentStatus,
    history: list[StatusChange],
) -> Incident:
    """The incident that ``members`` (detection id → member) make."""
    ms = list(members.values())
    titled = [r for r in rules if r.title is not None]
    groups = _kinds(ms, titled)
    stories = [r for r in titled if _complete_kinds(r, groups)]
    story = max(stories, key=lambda r: r.severity or 0) if stories else None
    # One pass over the members for every figure (an incident may have thousands);
    # the comparisons are max() and min() as the builtins make them.
    head = ms[0]
    people, top, first, last = head.people, head.severity, head.first, head.last
    seen: dict[str, dict[str, None]] = {}  # ordered sets
    categories: set[str] = set()
    found_facilities: set[str] = set()
    found_points: set[tuple[float, float]] = set()
    for m in ms:
        for key, value in m.entity.items():
            values = seen.get(key)
            if values is None:
                seen[key] = {value: None}
            else:
                values[value] = None
        categories.add(_CATEGORY.get(m.category, "public_safety"))
        if m.facilities:
            found_facilities.update(m.facilities)
        if m.people > people:  # noqa: PLR1730 - no call on the hot path
            people = m.people
        if m.severity > top:  # noqa: PLR1730 - no call on the hot path
            top = m.severity
        if m.first < first:  # noqa: PLR1730 - no call on the hot path
            first = m.first
        if m.last > last:  # noqa: PLR1730 - no call on the hot path
            last = m.last
        if m.point is not None:
            found_points.add(m.point)
    entities = {key: list(values) for key, values in seen.items()}
    category = categories.pop() if len(categories) == 1 else "hybrid"
    facilities = sorted(found_facilities)
    services = len(entities.get("target", []))
    severity = top + min(10, 2 * (len(ms) - 1))
    severity += 5 * bool(facilities) + 5 * (people >= 1_000) + 5 * (people >= 10_000)
    severity += 2 * max(0, services - 1)
    if story is not None:
        severity = max(severity, story.severity or 0)
        category = story.category or category
    # the measures of the most severe detections first, each once
    advised = sorted((m for m in ms if m.measures), key=lambda m: -m.severity)
    measures = list(dict.fromkeys(x for m in advised for x in m.measures))
    points = sorted(found_points)
    exposure = {"people": people, "facilities": len(facilities), "services": services}
    return Incident(
        id=incident_id,
        title=story.title if story is not None and story.title else _title(ms, entities, category),
        status=status,
        severity=min(100, severity),
        category=category,
        first_seen=from_epoch(first),
        last_seen=from_epoch(last),
        detections=[d for _, d in sorted(zip([m.first for m in ms], members, strict=True))],
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


def _title(members: Sequence[Member], entities: dict[str, list[str]], category: str) -> str:
    """``Credential stuffing against portal from 12 sources``; several kinds: ``Attack on ...``.

    A public-safety incident is named by its main detection: ``Sudden exodus and 2 more``.
    """
    rules = Counter(map(attrgetter("rule_name"), members))
    main = rules.most_common(1)[0][0]
    if category == "public_safety":
        return main if len(rules) == 1 else f"{main} and {len(rules) - 1} more"
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
