"""Place-and-time, sequence and story rules; suppressions; restart equivalence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from citywatch.correlate import Correlator, Suppression, parse_rules, propose
from citywatch.errors import ConfigError
from citywatch.model import Detection, GeoPoint, IncidentStatus

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
ARENA = (45.8262, 15.9585)

RULES = parse_rules(
    """
- id: ip
  kind: same-entity
  match: [{}]
  keys: [source.ip, device.ip]
  window: 6h
- id: botnet
  kind: same-entity
  title: City IoT botnet attacks the portal
  category: cyber
  severity: 85
  match: [{detector: [iot-*]}, {detector: [web-attacks]}]
  keys: [source.ip, device.ip]
  window: 6h
- id: stadium
  kind: place-time
  title: Stadium emergency
  category: public_safety
  severity: 90
  match: [{detector: [crowd]}, {detector: [social]}]
  resolution: 8
  rings: 1
  window: 30m
- id: scan-then-exploit
  kind: sequence
  title: Scan then exploit
  steps: [{rule: [scan]}, {rule: [exploit]}]
  keys: [source.ip]
  within: 1h
""",
    "test",
)


def _det(
    did: str,
    minute: float,
    entity: dict[str, str],
    *,
    detector: str = "d",
    rule: str = "r",
    severity: int = 50,
    category: str = "cyber",
    where: tuple[float, float] | None = None,
    attributes: dict[str, object] | None = None,
) -> Detection:
    at = T0 + timedelta(minutes=minute)
    return Detection(
        id=did,
        timestamp=at,
        detector=detector,
        rule_id=rule,
        rule_name=rule.title(),
        severity=severity,
        confidence=0.9,
        category=category,
        summary="s",
        entity=entity,
        evidence=[f"{did}-e"],
        first_seen=at,
        last_seen=at + timedelta(minutes=1),
        geo=GeoPoint(lat=where[0], lon=where[1]) if where else None,
        attributes=attributes or {},
    )


def test_a_device_address_links_to_the_portal_attacker_and_tells_the_story() -> None:
    c = Correlator(rules=RULES)
    c.add(_det("scan", 0, {"device.id": "cam-1", "device.ip": "10.20.0.5"}, detector="iot-scan"))
    c.add(_det("flood", 90, {"source.ip": "10.20.0.5", "target": "portal"}, detector="web-attacks"))
    (inc,) = c.incidents()
    assert inc.title == "City IoT botnet attacks the portal" and inc.story == "botnet"
    assert inc.severity == 85 and inc.category == "cyber"


def test_an_incomplete_story_keeps_its_own_title() -> None:
    c = Correlator(rules=RULES)
    c.add(_det("scan", 0, {"device.id": "cam-1", "device.ip": "10.20.0.5"}, detector="iot-scan"))
    (inc,) = c.incidents()
    assert inc.story is None and inc.title == "R"


def test_place_and_time_fuse_silos_near_each_other_only() -> None:
    c = Correlator(rules=RULES)
    c.add(
        _det(
            "exodus",
            0,
            {"venue.id": "arena"},
            detector="crowd",
            where=ARENA,
            category="public_safety",
        )
    )
    near = (ARENA[0] + 0.002, ARENA[1] + 0.002)  # ~300 m
    c.add(
        _det(
            "posts",
            5,
            {"place": "Aldmere Arena"},
            detector="social",
            where=near,
            category="public_safety",
        )
    )
    far = (ARENA[0] - 0.05, ARENA[1])  # ~5.5 km
    c.add(
        _det(
            "fire", 6, {"place": "Old Town"}, detector="social", where=far, category="public_safety"
        )
    )
    late = (ARENA[0], ARENA[1])
    c.add(
        _det(
            "later",
            120,
            {"place": "Aldmere Arena"},
            detector="social",
            where=late,
            category="public_safety",
        )
    )
    incidents = {tuple(i.detections): i for i in c.incidents()}
    assert set(incidents) == {("exodus", "posts"), ("fire",), ("later",)}
    assert incidents[("exodus", "posts")].title == "Stadium emergency"


def test_a_story_of_two_silos_never_links_two_detections_of_one_silo() -> None:
    # A fight and a fire posted about 800 m apart, no crowd sensor involved, were one incident
    # ("violence and 1 more"), and its public alert warned of the fight only.
    def post(did: str, minute: float, where: tuple[float, float]) -> Detection:
        return _det(did, minute, {"place": did}, detector="social", where=where,
                    category="public_safety")  # fmt: skip

    near = (ARENA[0] + 0.002, ARENA[1] + 0.002)
    c = Correlator(rules=RULES)
    c.add(post("fight", 0, ARENA))
    c.add(post("fire", 20, near))
    assert sorted(tuple(i.detections) for i in c.incidents()) == [("fight",), ("fire",)]
    # a crowd sensor at the venue is what both are about: they join its incident
    c.add(_det("crush", 22, {"venue.id": "arena"}, detector="crowd", where=ARENA,
               category="public_safety"))  # fmt: skip
    (joined,) = c.incidents()
    assert sorted(joined.detections) == ["crush", "fight", "fire"]
    # a rule of one selector still links its own detections near each other
    alone = parse_rules(
        "- {id: near, kind: place-time, match: [{detector: [social]}], window: 1h}", "one"
    )
    c = Correlator(rules=alone)
    c.add(post("fight", 0, ARENA))
    c.add(post("fire", 20, near))
    assert len(c.incidents()) == 1


def test_a_sequence_links_only_in_order_and_within_its_time() -> None:
    c = Correlator(rules=RULES[2:])  # no same-entity rule on source.ip
    c.add(_det("s", 0, {"source.ip": "1.1.1.1"}, rule="scan"))
    c.add(_det("e", 30, {"source.ip": "1.1.1.1"}, rule="exploit"))
    c.add(_det("e2", 200, {"source.ip": "1.1.1.1"}, rule="exploit"))
    c.add(_det("e3", 10, {"source.ip": "2.2.2.2"}, rule="exploit"))
    c.add(_det("s3", 20, {"source.ip": "2.2.2.2"}, rule="scan"))
    groups = sorted(tuple(i.detections) for i in c.incidents())
    assert groups == [("e2",), ("e3",), ("s", "e"), ("s3",)]
    (story,) = [i for i in c.incidents() if i.story]
    assert story.title == "Scan then exploit"


def test_exposure_raises_severity() -> None:
    c = Correlator(rules=RULES)
    quake = {
        "quake": {
            "priorities": [
                {"kind": "hospital", "id": "h1", "name": "General"},
                {"kind": "cell", "id": "c"},
            ],
            "people": 12000,
        }
    }
    c.add(_det("q", 0, {"quake.id": "q1"}, severity=60, attributes=quake))
    (inc,) = c.incidents()
    assert inc.exposure == {"people": 12000, "facilities": 1}
    assert inc.severity == 60 + 5 + 5 + 5


def _sup(**fields: object) -> Suppression:
    base: dict[str, object] = {
        "id": "sup-1",
        "owner": "ana",
        "reason": "scheduled pen test",
        "created": T0,
        "expires": T0 + timedelta(hours=2),
    }
    return Suppression(**{**base, **fields})  # type: ignore[arg-type]


def test_suppressed_detections_are_counted_not_grouped_until_expiry() -> None:
    c = Correlator(
        rules=RULES, suppressions=[_sup(detector=["web-*"], entity={"source.ip": "9.9.9.9"})]
    )
    c.add(_det("a", 0, {"source.ip": "9.9.9.9"}, detector="web-attacks"))
    c.add(_det("b", 0, {"source.ip": "8.8.8.8"}, detector="web-attacks"))
    c.add(_det("c", 180, {"source.ip": "9.9.9.9"}, detector="web-attacks"))
    assert c.suppressed == {"a": "sup-1"}
    assert sorted(i.detections for i in c.incidents()) == [["b"], ["c"]]


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": " "},
        {"detector": []},
        {"expires": T0 + timedelta(days=91)},
        {"expires": T0},
    ],
)
def test_a_suppression_needs_a_reason_a_match_and_a_near_expiry(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {"detector": ["x"], **bad}
    with pytest.raises(ConfigError):
        _sup(**fields)


def test_a_false_positive_proposes_narrow_suppressions() -> None:
    c = Correlator(rules=RULES)
    dets = [
        _det(
            "a",
            0,
            {"source.ip": "7.7.7.7", "target": "portal"},
            detector="web-attacks",
            rule="sqli",
        ),
        _det(
            "b",
            5,
            {"source.ip": "7.7.7.7", "target": "portal", "user.id": "u"},
            detector="web-attacks",
            rule="sqli",
        ),
    ]
    for d in dets:
        c.add(d)
    (inc,) = c.incidents()
    (sup,) = propose(inc, dets, owner="ana", reason="QA scanner", now=T0)
    assert sup.entity == {"source.ip": "7.7.7.7", "target": "portal"}
    assert (sup.detector, sup.rule, sup.source_incident) == (["web-attacks"], ["sqli"], inc.id)
    assert all(sup.applies(d, T0.timestamp()) for d in dets)


def test_a_restart_anywhere_yields_the_same_incidents() -> None:
    rng = random.Random(4)
    dets = []
    for i in range(300):
        ip = f"10.0.0.{rng.randrange(20)}"
        kind = rng.choice(["iot-scan", "web-attacks", "crowd", "social"])
        where = (
            (ARENA[0] + rng.uniform(-0.03, 0.03), ARENA[1]) if kind in ("crowd", "social") else None
        )
        dets.append(_det(f"d{i}", i * 2.0, {"source.ip": ip}, detector=kind, where=where))
    whole = Correlator(rules=RULES)
    for d in dets:
        whole.add(d)
    for cut in (1, 150, 299):
        first = Correlator(rules=RULES)
        for d in dets[:cut]:
            first.add(d)
        second = Correlator(rules=RULES)
        second.restore(first.snapshot())
        for d in dets[cut:]:
            second.add(d)
        assert second.incidents() == whole.incidents()
    assert all(i.status is IncidentStatus.NEW for i in whole.incidents())


def test_excluded_detections_are_not_read_by_the_rule() -> None:
    rules = parse_rules(
        "- {id: t, kind: same-entity, match: [{}], exclude: [{rule: ['*flood*']}],"
        " keys: [target], window: 2h}\n"
        "- {id: f, kind: same-entity, match: [{rule: ['*flood*']}], keys: [target], window: 2h}",
        "test",
    )
    c = Correlator(rules=rules)
    c.add(_det("stuffing", 0, {"target": "portal"}, rule="login.stuffing"))
    c.add(_det("flood-a", 15, {"target": "portal"}, rule="behaviour.flood"))
    c.add(_det("flood-b", 16, {"target": "portal"}, rule="behaviour.portal-flood"))
    c.add(_det("sqli", 20, {"target": "portal"}, rule="web.sqli"))
    groups = sorted(tuple(i.detections) for i in c.incidents())
    assert groups == [("flood-a", "flood-b"), ("stuffing", "sqli")]
