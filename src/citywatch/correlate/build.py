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
            measures.extend(str(x) for x in value["measures"])
        if isinstance(value.get("people"), int | float):
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
    stories = [r for r in rules if r.title is not None and complete(r, ms)]
    story = max(stories, key=lambda r: r.severity or 0) if stories else None
    seen: dict[str, dict[str, None]] = {}  # ordered sets: an incident may have thousands
    for m in ms:
        for key, value in m.entity.items():
            seen.setdefault(key, {})[value] = None
    entities = {key: list(values) for key, values in seen.items()}
    categories = {_CATEGORY.get(m.category, "public_safety") for m in ms}
    category = categories.pop() if len(categories) == 1 else "hybrid"
    facilities = sorted({f for m in ms for f in m.facilities})
    people = max(m.people for m in ms)
    services = len(entities.get("target", []))
    severity = max(m.severity for m in ms) + min(10, 2 * (len(ms) - 1))
    severity += 5 * bool(facilities) + 5 * (people >= 1_000) + 5 * (people >= 10_000)
    severity += 2 * max(0, services - 1)
    if story is not None:
        severity = max(severity, story.severity or 0)
        category = story.category or category
    measures: list[str] = []
    for m in sorted(ms, key=lambda m: -m.severity):
        measures.extend(x for x in m.measures if x not in measures)
    points = sorted({m.point for m in ms if m.point is not None})
    exposure = {"people": people, "facilities": len(facilities), "services": services}
    return Incident(
        id=incident_id,
        title=story.title if story is not None and story.title else _title(ms, entities, category),
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


def _title(members: Sequence[Member], entities: dict[str, list[str]], category: str) -> str:
    """``Credential stuffing against portal from 12 sources``; several kinds: ``Attack on ...``.

    A public-safety incident is named by its main detection: ``Sudden exodus and 2 more``.
    """
    rules = Counter(m.rule_name for m in members)
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
