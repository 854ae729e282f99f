"""An incident from its member detections: title, category, severity, exposure, area, measures.

The correlator keeps a small :class:`Member` per detection (what these need,
nothing else) and, per incident, a :class:`Summary` of them that grows with
each batch; the incident is built from the summary once per batch.

Severity starts from the most severe detection, grows with corroboration
(+2 per further witness, at most +10: a witness is a party involved (a
source, device, venue or place) and, in public safety, the detector that saw
it: crowd sensors, phones and posts are each their own evidence, while one
attacker's findings by several detectors are read off the same traffic and
add nothing; in cyber, a party witnesses only when its own findings stand for
an attack, see :func:`corroborates`) and with the exposure it touches
(+5 when critical facilities are in it, +5 from 1,000 people, +5 more from
10,000; +2 per city service beyond the first), and never falls below the
floor of a story rule the incident completes.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec

from citywatch.correlate.rules import AnyRule, SequenceRule
from citywatch.detect.portal.links import Crowds, Link, followed
from citywatch.model import (
    SPARED,
    Detection,
    Incident,
    IncidentStatus,
    StatusChange,
    from_epoch,
    to_epoch,
)

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
    spared: dict[str, str] = msgspec.field(default_factory=dict)
    """Addresses the detection says no one should block, each with why (``spared``)."""
    links: tuple[Link, ...] = ()
    """The links its client followed to the attack (:func:`~citywatch.detect.portal.links.
    followed`): whether the incident's addresses are a link's followers is known only from
    all its members."""


def member(d: Detection) -> Member:
    """The correlator's summary of ``d``: labels, times, entity, place, measures and exposure."""
    measures: list[str] = []
    people = 0
    facilities: list[str] = []
    spared: dict[str, str] = {}
    for value in d.attributes.values():
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("measures"), list):
            measures.extend(map(str, value["measures"]))
        if isinstance(value.get(SPARED), dict):
            spared.update({str(k): str(v) for k, v in value[SPARED].items()})
        if isinstance(value.get("people"), (int, float)):
            people = max(people, int(value["people"]))
        for p in value.get("priorities") or ():  # facilities, not the populated areas ranked
            if isinstance(p, dict) and p.get("kind") not in (None, "cell", "area"):
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
        spared=spared,
        links=followed(d.attributes),
    )


class _Stories:
    """Which titled rules the members so far complete, kept up to date as members come.

    Members are grouped by what selectors read of them (labels, and the entity
    values the selectors read): a selector matches all of a group or none, so
    each group is matched once, when it appears, and filed under the steps it
    matches. Whether a rule is complete then costs a look at its steps (and, for
    a sequence, at the first-seen times of the members filed there), not a glob
    match per group: an incident of thousands of sources is built in time
    independent of them.
    """

    __slots__ = ("filed", "groups", "keys", "rules")

    def __init__(self, rules: Sequence[AnyRule]) -> None:
        self.rules = list(rules)
        self.keys = sorted(
            {k for r in self.rules for s in (*r.selectors(), *r.exclude) for k in s.entity}
        )
        self.groups: dict[tuple[object, ...], list[Member]] = {}
        self.filed: list[list[list[list[Member]]]] = [
            [[] for _ in r.selectors()] for r in self.rules
        ]
        """Per rule, per step: the groups whose members match it (and no ``exclude``)."""

    def add(self, m: Member) -> None:
        """File ``m`` in its group (a new group: under every step it matches)."""
        label = (m.detector, m.rule_id, m.category, tuple(m.tags), *map(m.entity.get, self.keys))
        group = self.groups.get(label)
        if group is not None:
            group.append(m)
            return
        group = self.groups[label] = [m]
        for rule, steps in zip(self.rules, self.filed, strict=True):
            if any(x.matches(m) for x in rule.exclude):
                continue
            for selector, filed in zip(rule.selectors(), steps, strict=True):
                if selector.matches(m):
                    filed.append(group)

    def complete(self) -> list[AnyRule]:
        """The rules the members complete: every step matched (a sequence: in order)."""
        return [r for r, steps in zip(self.rules, self.filed, strict=True) if _told(r, steps)]


def _told(rule: AnyRule, steps: list[list[list[Member]]]) -> bool:
    """Whether the groups filed under each step of ``rule`` tell its story."""
    if not isinstance(rule, SequenceRule):
        return all(steps)
    t = float("-inf")
    for filed in steps:
        starts = [m.first for group in filed for m in group if m.first >= t]
        if not starts:
            return False
        t = min(starts)
    return True


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
    stories = _Stories([rule])
    for m in members:
        stories.add(m)
    return bool(stories.complete())


class Summary:
    """What an incident's members add up to, kept up to date as members come.

    An incident may hold thousands of detections and be published after every
    batch: folding in only what a batch brought, then building the incident
    from these figures, costs the batch and the distinct values, not every
    member again. :meth:`add` says when it cannot fold a member in (a
    re-emitted detection that changed more than it grew); the owner then
    builds the summary afresh with :meth:`of`.
    """

    __slots__ = (
        "categories",
        "crowds",
        "doings",
        "entities",
        "facilities",
        "first",
        "ids",
        "last",
        "latest",
        "measures",
        "order",
        "parties",
        "people",
        "points",
        "rule_names",
        "spared",
        "stories",
        "top",
        "witnesses",
    )

    def __init__(self, rules: Sequence[AnyRule]) -> None:
        self.stories = _Stories([r for r in rules if r.title is not None])
        self.latest: dict[str, tuple[int, Member]] = {}
        """Detection id → (arrival, its member as last folded in)."""
        self.entities: dict[str, dict[str, None]] = {}  # ordered sets
        self.categories: set[str] = set()
        self.facilities: set[str] = set()
        self.points: set[tuple[float, float]] = set()
        self.people = 0
        self.top = 0
        self.first = float("inf")
        self.last = float("-inf")
        self.order: list[tuple[float, str]] = []
        """(first seen, detection id), sorted: the incident's detections in time order."""
        self.ids: list[str] = []
        """The detection ids of :attr:`order`, in its order (copied, not built, per incident)."""
        self.rule_names: Counter[str] = Counter()
        self.doings: Counter[str] = Counter()
        """What the members do, in words (:func:`doing`), counted: a cyber incident's title."""
        self.measures: dict[str, tuple[int, int, int]] = {}
        """Measure → (-severity, arrival, place) of the most severe detection advising it."""
        self.spared: dict[str, str] = {}
        """Addresses members say no one should block, each with why, in order."""
        self.crowds: Crowds[str] = Crowds()
        """The links the members' addresses followed, and those with attacks of their own:
        whose addresses are a link's followers, also not to be blocked."""
        self.witnesses: set[str] = set()
        """Who saw what (:func:`witness`) with findings that corroborate the incident."""
        self.parties: Counter[str] = Counter()
        """Members per witness: a second finding makes any party a witness."""

    @classmethod
    def of(cls, members: dict[str, Member], rules: Sequence[AnyRule]) -> Summary:
        """The summary of ``members``, in their order."""
        summary = cls(rules)
        for detection_id, m in members.items():
            summary.add(detection_id, m)
        return summary

    def add(self, detection_id: str, m: Member) -> bool:
        """Fold a member in; False when it re-emits one that changed in a way only a fresh
        summary shows (another entity, a lower severity, fewer measures...)."""
        known = self.latest.get(detection_id)
        if known is not None:
            arrival, old = known
            if not _grew(old, m):
                return False
            self.latest[detection_id] = (arrival, m)
            self._grow(m, arrival)
            return True
        arrival = len(self.latest)
        self.latest[detection_id] = (arrival, m)
        self.stories.add(m)
        entities = self.entities
        for key, value in m.entity.items():
            values = entities.get(key)
            if values is None:
                entities[key] = {value: None}
            else:
                values[value] = None
        self.categories.add(_CATEGORY.get(m.category, "public_safety"))
        if address := m.entity.get("source.ip"):
            self.crowds.add(address, m.links)
        if m.point is not None:
            self.points.add(m.point)
        if m.first < self.first:  # noqa: PLR1730 - no call on the hot path
            self.first = m.first
        self.rule_names[m.rule_name] += 1
        self.doings[doing(m)] += 1
        party = witness(m)
        self.parties[party] += 1
        if self.parties[party] > 1:
            self.witnesses.add(party)
        at = bisect.bisect(self.order, (m.first, detection_id))
        self.order.insert(at, (m.first, detection_id))
        self.ids.insert(at, detection_id)
        self._grow(m, arrival)
        return True

    def _grow(self, m: Member, arrival: int) -> None:
        """Fold in what a re-emitted detection may grow: severity (and so corroboration),
        people, facilities, last seen, measures."""
        if corroborates(m):
            self.witnesses.add(witness(m))
        if m.facilities:
            self.facilities.update(m.facilities)
        if m.spared:
            self.spared.update(m.spared)
        if m.people > self.people:  # noqa: PLR1730 - no call on the hot path
            self.people = m.people
        if m.severity > self.top:  # noqa: PLR1730 - no call on the hot path
            self.top = m.severity
        if m.last > self.last:  # noqa: PLR1730 - no call on the hot path
            self.last = m.last
        measures = self.measures
        for place, measure in enumerate(m.measures):
            key = (-m.severity, arrival, place)
            best = measures.get(measure)
            if best is None or key < best:
                measures[measure] = key

    def incident(
        self, incident_id: str, *, status: IncidentStatus, history: list[StatusChange]
    ) -> Incident:
        """The incident these members make."""
        stories = self.stories.complete()
        story = max(stories, key=lambda r: r.severity or 0) if stories else None
        entities = {key: list(values) for key, values in self.entities.items()}
        categories = self.categories
        category = next(iter(categories)) if len(categories) == 1 else "hybrid"
        facilities = sorted(self.facilities)
        services = len(entities.get("target", []))
        people = self.people
        severity = self.top + min(10, 2 * max(0, len(self.witnesses) - 1))
        severity += 5 * bool(facilities) + 5 * (people >= 1_000) + 5 * (people >= 10_000)
        severity += 2 * max(0, services - 1)
        if story is not None:
            severity = max(severity, story.severity or 0)
            category = story.category or category
        # the measures of the most severe detections first, each once; before them all, the
        # addresses no one may block (a member's "block the source" means the others): those
        # members declare, then a link's followers, as the block step leaves them out
        measures = sorted(self.measures, key=self.measures.__getitem__)
        spared = self.spared
        if followers := self.crowds.followers():
            spared = spared | {a: why for a, why in followers.items() if a not in spared}
        if spared:
            measures.insert(0, spare(spared))
        points = sorted(self.points)
        exposure = {"people": people, "facilities": len(facilities), "services": services}
        return Incident(
            id=incident_id,
            title=story.title
            if story is not None and story.title
            else _title(self.rule_names, self.doings, entities, category),
            status=status,
            severity=min(100, severity),
            category=category,
            first_seen=from_epoch(self.first),
            last_seen=from_epoch(self.last),
            detections=self.ids.copy(),
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


_SPARED_SHOWN: Final = 5
"""Addresses named per reason for sparing them; the detections list them all."""


def by_reason(spared: Mapping[str, str]) -> list[tuple[str, str]]:
    """Spared addresses (address → why) by reason, in order: each reason once, with at most
    :data:`_SPARED_SHOWN` of its addresses named (a flood's many shared addresses, thirty
    browsers a planted link sent, share one).

    >>> for named, why in by_reason({f"192.0.2.{i}": "a" for i in range(7)} | {"192.0.2.9": "b"}):
    ...     print(f"{named}: {why}")
    192.0.2.0, 192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4 and 2 more: a
    192.0.2.9: b
    """
    grouped: dict[str, list[str]] = {}
    for address, why in spared.items():
        grouped.setdefault(why, []).append(address)
    return [
        (
            ", ".join(addresses[:_SPARED_SHOWN])
            + (
                f" and {len(addresses) - _SPARED_SHOWN} more"
                if len(addresses) > _SPARED_SHOWN
                else ""
            ),
            why,
        )
        for why, addresses in grouped.items()
    ]


def spare(spared: dict[str, str]) -> str:
    """The measure that keeps ``spared`` addresses (address → why) off every block list,
    whatever the measures after it say of the incident's addresses.

    >>> spare({"161.53.2.10": "many people log in from it"})[:80]
    'Do not block 161.53.2.10 (many people log in from it), whatever the measures bel'
    """
    named = "; ".join(f"{addresses} ({why})" for addresses, why in by_reason(spared))
    them = "it" if len(spared) == 1 else "them"
    return (
        f"Do not block {named}, whatever the measures below say of the flagged addresses: "
        f"the block lists leave {them} out; stop the attack's own requests at the reverse "
        "proxy or WAF instead"
    )


def _grew(old: Member, new: Member) -> bool:
    """Whether ``new`` re-emits ``old`` having only grown: the same labels, entity, start,
    place and links followed (past LINKED_REQUESTS a link's follower is one no more); no less
    severity, people, facilities or end; its measures extend the old ones."""
    return (
        new.first == old.first
        and new.severity >= old.severity
        and new.people >= old.people
        and new.last >= old.last
        and new.rule_id == old.rule_id
        and new.rule_name == old.rule_name
        and new.detector == old.detector
        and new.category == old.category
        and new.tags == old.tags
        and new.entity == old.entity
        and new.point == old.point
        and new.measures[: len(old.measures)] == old.measures
        and set(old.facilities) <= set(new.facilities)
        and old.spared.items() <= new.spared.items()
        and new.links == old.links
    )


_DOINGS: Final = {
    "T1110": "password attacks",
    "T1213": "harvesting of records",
    "T1565": "mass business actions",
    "T1190": "exploitation attempts",
    "T1595": "scanning",
    "T1046": "scanning",
    "T1498": "floods",
    "T1499": "floods",
    "T1071": "command and control",
    "T1568": "command and control",
    "T1571": "command and control",
    "T1105": "malware downloads",
    "T1021": "remote logins",
    "T1200": "rogue devices",
}
"""ATT&CK techniques (their parent ids) in words, in order of precedence: a detection of
record enumeration is tagged both T1190 and T1213, and the harvest says more."""


def doing(m: Member) -> str:
    """What a member does, in words: its ATT&CK technique's (:data:`_DOINGS`), else its rule.

    >>> m = Member(detector="d", rule_id="r", rule_name="Odd thing", severity=1, category="cyber",
    ...            tags=["attack.T1190", "attack.T1213"], first=0, last=0, entity={}, measures=[],
    ...            point=None)
    >>> doing(m), doing(msgspec.structs.replace(m, tags=[]))
    ('harvesting of records', 'Odd thing')
    """
    parents = {
        t.removeprefix("attack.").partition(".")[0] for t in m.tags if t.startswith("attack.T")
    }
    for technique, words in _DOINGS.items():
        if technique in parents:
            return words
    return m.rule_name


def _title(
    rules: Counter[str], doings: Counter[str], entities: dict[str, list[str]], category: str
) -> str:
    """``Credential stuffing against portal from 12 sources``; several kinds: ``Attack on ...``.

    A public-safety incident is named by its main detection (``rules`` counts the members'
    rule names, in order of first appearance) and where it is: ``Sudden exodus and 2 more in
    Aldmere Arena``. An attack of
    several kinds is named by what its members do (``doings``), the most frequent first:
    ``Attack on portal from 17 sources: password attacks, scanning and 2 more``; when they
    all do one thing, by that: ``Password attacks against portal from 5.188.62.79``.
    """
    main = rules.most_common(1)[0][0]
    if category == "public_safety":  # where it is happens first to a duty officer
        named = main if len(rules) == 1 else f"{main} and {len(rules) - 1} more"
        where = places(entities)
        return f"{named} in {where}" if where else named
    target = ", ".join(entities.get("target", []))
    sources = entities.get("source.ip") or entities.get("source.pseudonym") or []
    origin = ""
    if len(sources) > 1:
        origin = f" from {len(sources)} sources"
    elif len(sources) == 1 and "source.ip" in entities:
        origin = f" from {sources[0]}"
    if len(rules) == 1:  # "Request flood on the portal" names its target: not "... against portal"
        itself = not target or all(t.casefold() in main.casefold() for t in entities["target"])
        return f"{main}{'' if itself else f' against {target}'}{origin}"
    words = [w for w, _ in doings.most_common()]
    if len(words) == 1:  # several rules, one technique: "Password attacks against portal"
        return f"{words[0][:1].upper()}{words[0][1:]} against {target or 'several assets'}{origin}"
    if len(words) > _NAMED:
        words[_NAMED - 1 :] = [f"{len(words) - _NAMED + 1} more"]
    said = f"{', '.join(words[:-1])} and {words[-1]}"  # two at least: one returned above
    return f"Attack on {target or 'several assets'}{origin}: {said}"


def witness(m: Member) -> str:
    """What one detection adds to an incident's corroboration: the party it is about (its
    source, device, account, venue or place) and, outside cyber, its detector."""
    entity = m.entity
    party = ""
    for key in ("source.ip", "source.pseudonym", "device.id", "user.id", "venue.id", "place"):
        if value := entity.get(key):
            party = value
            break
    return party if m.category == "cyber" else f"{m.detector}|{party}"


def corroborates(m: Member) -> bool:
    """Whether one detection makes its party (:func:`witness`) a witness on its own: outside
    cyber always (a phone, a sensor, a post each saw the event); in cyber when it is an attack
    in itself, at :data:`_ALONE` or more (a party with two findings or more witnesses too).

    A crowd of addresses each with one finding below that (a value off the portal's learned
    model: 30 residents filing large tax returns on the deadline) is what a busy day looks
    like, not a campaign: its members share a cause, the day, not an attacker, and should
    not lift the incident towards a playbook that blocks them all. The same exploit from many
    addresses, or a scanner's probing beside its injection, is found at 50 or more and
    corroborates as ever.

    >>> m = Member(detector="d", rule_id="r", rule_name="R", severity=40, category="cyber",
    ...            tags=[], first=0, last=0, entity={}, measures=[], point=None)
    >>> corroborates(m), corroborates(msgspec.structs.replace(m, severity=50))
    (False, True)
    >>> corroborates(msgspec.structs.replace(m, category="public_safety"))
    True
    """
    return m.category != "cyber" or m.severity >= _ALONE


def places(entities: dict[str, list[str]]) -> str:
    """Where an incident is, in words: its places (or else its districts), two at most.

    >>> places({"place": ["Kaptolje"], "district": ["Kaptolje"]})
    'Kaptolje'
    >>> places({"district": ["Trnje", "Stari Grad", "Maksimir"]})
    'Trnje, Stari Grad and 1 more'
    """
    named = entities.get("place") or entities.get("district") or []
    if len(named) <= 2:
        return " and ".join(named)
    return f"{', '.join(named[:2])} and {len(named) - 2} more"


_ALONE: Final = 50
"""The severity of one cyber detection that corroborates an incident on its own (a single
finding below it is a learned model's doubt, or a low Sigma rule's)."""
_NAMED: Final = 4
"""What a title names of an attack at most (the last place says how many more)."""
