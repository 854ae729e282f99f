"""STIX 2.1 bundles: validated by the stix2 library, round-tripped through import and sightings."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import stix2  # type: ignore[import-untyped]

from citywatch.enrich.intel import Indicator, IndicatorMatcher, IntelError, import_indicators
from citywatch.model import Detection, Incident
from citywatch.respond.stix import Match, export_bundle, export_sightings

DetectionMaker = Callable[..., Detection]
ALLOW = ["10.0.0.0/8", "2001:db8:c17::/48"]


@pytest.fixture
def detections(make_detection: DetectionMaker) -> list[Detection]:
    return [
        make_detection("198.51.100.7", ["attack.T1110.004", "attack.credential_access"], n=40),
        make_detection("198.51.100.7", ["attack.t1190"], n=2),
        make_detection("2001:db8::7", ["attack.T1110.004"], n=12),
        make_detection("10.1.2.3", ["attack.T1595.002"], n=3),  # the city's own: never shared
        make_detection("2001:db8:c17::9", ["attack.T1595.002"], n=3),  # the city's own (v6)
    ]


def _objects(bundle: str) -> dict[str, list[object]]:
    parsed = stix2.parse(bundle, allow_custom=False)
    by_type: dict[str, list[object]] = {}
    for obj in parsed.objects:
        by_type.setdefault(obj.type, []).append(obj)
    return by_type


def test_bundle_validates_and_holds_what_the_cert_needs(
    cyber_incident: Incident, detections: list[Detection]
) -> None:
    text = export_bundle(cyber_incident, detections, allow=ALLOW)
    objs = _objects(text)
    assert {k: len(v) for k, v in objs.items()} == {
        "marking-definition": 1,
        "identity": 1,
        "attack-pattern": 2,
        "indicator": 2,
        "sighting": 2,
        "relationship": 3,
    }
    (me,) = objs["identity"]
    assert me.name == "City of Aldmere" and me.identity_class == "organization"
    patterns = sorted(i.pattern for i in objs["indicator"])
    assert patterns == ["[ipv4-addr:value = '198.51.100.7']", "[ipv6-addr:value = '2001:db8::7']"]
    for ind in objs["indicator"]:
        assert ind.pattern_type == "stix" and "malicious-activity" in ind.indicator_types
        assert "citywatch" in ind.labels and ind.valid_until > ind.valid_from
        assert ind.created_by_ref == me.id and ind.object_marking_refs == [stix2.TLP_AMBER.id]
    ext = {ap.external_references[0].external_id: ap for ap in objs["attack-pattern"]}
    assert set(ext) == {"T1110.004", "T1190"}
    assert ext["T1110.004"].name == "Credential Stuffing"
    assert ext["T1110.004"].external_references[0].source_name == "mitre-attack"
    v4 = next(i for i in objs["indicator"] if "ipv4" in i.pattern)
    sight = next(s for s in objs["sighting"] if s.sighting_of_ref == v4.id)
    assert sight.count == 42 and sight.where_sighted_refs == [me.id]
    assert sight.first_seen <= sight.last_seen
    indicated = {(r.source_ref, r.target_ref) for r in objs["relationship"]}
    assert (v4.id, ext["T1190"].id) in indicated and (v4.id, ext["T1110.004"].id) in indicated
    assert all(r.relationship_type == "indicates" for r in objs["relationship"])
    assert "10.1.2.3" not in text and "2001:db8:c17::9" not in text


def test_export_is_deterministic(cyber_incident: Incident, detections: list[Detection]) -> None:
    assert export_bundle(cyber_incident, detections) == export_bundle(cyber_incident, detections)
    assert (
        json.loads(export_bundle(cyber_incident, detections, tlp="green"))["objects"][0]["name"]
        == "TLP:GREEN"
    )


def test_round_trip_export_import_match_sighting(
    cyber_incident: Incident, detections: list[Detection]
) -> None:
    bundle = export_bundle(cyber_incident, detections, allow=ALLOW)
    problems: list[str] = []
    indicators = import_indicators(bundle, problems=problems)
    assert problems == []
    assert sorted((i.type, i.value) for i in indicators) == [
        ("ipv4", "198.51.100.7"),
        ("ipv6", "2001:db8::7"),
    ]
    exported_ids = {o.id for o in _objects(bundle)["indicator"]}
    assert {i.id for i in indicators} == exported_ids

    matcher = IndicatorMatcher(indicators)
    later = datetime(2026, 3, 20, tzinfo=UTC)
    (hit,) = matcher.match_ip("198.51.100.7", later)
    assert matcher.match_ip("2001:0db8:0000::7", later)[0].value == "2001:db8::7"
    assert matcher.match_ip("198.51.100.8", later) == []
    assert matcher.match_ip("198.51.100.7", later + timedelta(days=60)) == []  # expired
    assert matcher.match_ip("not an ip", later) == []

    sightings = _objects(export_sightings([Match(hit, 3, later, later + timedelta(minutes=5))]))
    (sighting,) = sightings["sighting"]
    assert sighting.sighting_of_ref == hit.id and sighting.count == 3


def test_import_of_foreign_patterns() -> None:
    now = "2026-03-14T00:00:00.000Z"
    ids = [f"indicator--{n:08d}-1111-4111-8111-111111111111" for n in range(5)]
    patterns = [
        "[ipv4-addr:value = '203.0.113.0/24' OR domain-name:value = 'Evil.Example.']",
        "[url:value = 'https://evil.example/a\\'b']",
        "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
        "[ipv4-addr:value = '203.0.113.9'] AND [domain-name:value = 'x.example']",
        "[ipv4-addr:value = '999.1.1.1']",
    ]
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": i,
            "created": now,
            "modified": now,
            "pattern": p,
            "pattern_type": "stix",
            "valid_from": now,
        }
        for i, p in zip(ids, patterns, strict=True)
    ]
    bundle = json.dumps(
        {"type": "bundle", "id": "bundle--5d0c3a4e-8f21-4b7a-9c1e-3f6b2a9d7e10", "objects": objects}
    )
    problems: list[str] = []
    got = import_indicators(bundle, problems=problems)
    assert [(i.type, i.value) for i in got] == [
        ("ipv4", "203.0.113.0/24"),
        ("domain", "evil.example"),
        ("url", "https://evil.example/a'b"),
    ]
    assert len(problems) == 3 and all("unsupported pattern" in p for p in problems)
    matcher = IndicatorMatcher(got)
    at = datetime(2026, 3, 15, tzinfo=UTC)
    assert matcher.match_ip("203.0.113.77", at)[0].value == "203.0.113.0/24"
    assert matcher.match_domain("EVIL.example", at) and not matcher.match_domain("example", at)
    assert matcher.match_url("https://evil.example/a'b", at)


def test_bundles_as_platforms_write_them_import() -> None:
    # A STIX 2.0 bundle crashed analyse (AttributeError: no pattern_type); OpenCTI's custom
    # properties rejected the whole bundle; [a] OR [b] was an "unsupported pattern".
    now = "2026-03-14T00:00:00.000Z"
    legacy = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "spec_version": "2.0",
        "objects": [
            {
                "type": "indicator",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": now,
                "modified": now,
                "labels": ["malicious-activity"],
                "pattern": "[ipv4-addr:value = '5.188.62.238']",
                "valid_from": now,
            }
        ],
    }
    assert [i.value for i in import_indicators(json.dumps(legacy))] == ["5.188.62.238"]
    current = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56e",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3e",
                "created": now,
                "modified": now,
                "pattern": "[ipv4-addr:value = '198.51.100.1']"
                " OR [domain-name:value = 'c2.example']",
                "pattern_type": "stix",
                "valid_from": now,
                "x_opencti_score": 80,
            }
        ],
    }
    got = import_indicators(json.dumps(current))
    assert [(i.type, i.value) for i in got] == [("ipv4", "198.51.100.1"), ("domain", "c2.example")]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "{not json",
        '{"type": "bundle", "id": "bundle--nope", "objects": []}',
        '{"type": "x-custom", "id": "x-custom--5d0c3a4e-8f21-4b7a-9c1e-3f6b2a9d7e10"}',
        '{"type": "identity", "spec_version": "2.1", '
        '"id": "identity--5d0c3a4e-8f21-4b7a-9c1e-3f6b2a9d7e10", "name": "x", '
        '"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}',
    ],
)
def test_invalid_bundles_are_refused(bad: str) -> None:
    with pytest.raises(IntelError):
        import_indicators(bad)


def test_indicator_validity_window() -> None:
    t = datetime(2026, 3, 14, tzinfo=UTC)
    ind = Indicator(
        type="ipv4",
        value="198.51.100.7",
        id="indicator--x",
        valid_from=t,
        valid_until=t + timedelta(days=1),
    )
    assert not ind.valid_at(t - timedelta(seconds=1))
    assert ind.valid_at(t) and not ind.valid_at(t + timedelta(days=1))


def test_city_addresses_in_the_title_are_redacted(
    cyber_incident: Incident, detections: list[Detection]
) -> None:
    titled = msgspec.structs.replace(cyber_incident, title="Scan from 10.1.2.3 and 198.51.100.7")
    text = export_bundle(titled, detections, allow=ALLOW)
    assert "10.1.2.3" not in text and "[city address] and 198.51.100.7" in text


def _botnet(make_detection: DetectionMaker) -> list[Detection]:
    """An IoT botnet's detections: city devices (internal addresses) reaching a C2 server."""
    c2 = make_detection("10.20.1.15", ["attack.ics.T0869"], **{"device.id": "cam-0006"})
    c2 = msgspec.structs.replace(
        c2, rule_id="iot.c2", attributes={"iot": {"remote": ["91.92.241.17"]}}
    )
    dga = make_detection("10.20.1.27", ["attack.T1071"], **{"device.id": "cam-0018"})
    dga = msgspec.structs.replace(
        dga,
        rule_id="iot.dns",
        attributes={"iot": {"remote": ["942cld8m6j9yhj.TOP", "91.92.241.17", "10.20.0.53"]}},
    )
    return [c2, dga]


def test_a_botnet_is_shared_by_what_it_reached_never_by_the_city_devices_it_took(
    cyber_incident: Incident, make_detection: DetectionMaker
) -> None:
    # The bundle named the city's own cameras (10.20.x) as "attacker addresses" for partners
    # to block, and left the C2 server and its generated domain out.
    objs = _objects(export_bundle(cyber_incident, _botnet(make_detection)))
    names = {i.name for i in objs["indicator"]}
    assert {
        "Command and control server: 91.92.241.17",
        "Generated (DGA) domain and its addresses: 942cld8m6j9yhj.top",
    } <= names
    patterns = {i.pattern for i in objs["indicator"]}
    assert "[domain-name:value = '942cld8m6j9yhj.top']" in patterns
    c2 = next(i for i in objs["indicator"] if "91.92" in i.pattern)
    assert next(s for s in objs["sighting"] if s.sighting_of_ref == c2.id).count == 2
    assert "10.20." not in json.dumps([str(o) for v in objs.values() for o in v])
    # the C2 server is named as one whichever detection named its address first
    backwards = _objects(export_bundle(cyber_incident, _botnet(make_detection)[::-1]))
    assert "Command and control server: 91.92.241.17" in {i.name for i in backwards["indicator"]}


def test_one_incident_at_two_tlp_levels_is_two_versions_apart(
    cyber_incident: Incident, detections: list[Detection]
) -> None:
    # Same id and modified with another marking: a platform keeping the first one it got
    # would hold the amber copy as the white one.
    white = _objects(export_bundle(cyber_incident, detections, allow=ALLOW, tlp="white"))
    amber = _objects(export_bundle(cyber_incident, detections, allow=ALLOW, tlp="amber"))
    ids = {o.id for kind in ("indicator", "sighting", "attack-pattern") for o in white[kind]}
    assert not ids & {o.id for kind in ("indicator", "sighting") for o in amber[kind]}


def test_a_sighting_counts_each_record_once_and_a_flood_by_its_count(
    cyber_incident: Incident, make_detection: DetectionMaker
) -> None:
    # Sightings said 85,333 requests for an address that sent 50,000: a request that a
    # signature and a Sigma rule both flag was counted twice, and a flood's kept ids added on.
    flood = make_detection("198.51.100.7", ["attack.t1499.002"], n=3)
    flood = msgspec.structs.replace(flood, attributes={"portal": {"requests": 50_000}})
    sqli = make_detection("198.51.100.7", ["attack.t1190"], n=4)
    sigma = msgspec.structs.replace(sqli, id="det-sigma", evidence=[*sqli.evidence[:3], "req-x"])
    counts = {}
    for bundle in (
        export_bundle(cyber_incident, [sqli, sigma], allow=ALLOW),
        export_bundle(cyber_incident, [sqli, sigma, flood], allow=ALLOW),
    ):
        objs = _objects(bundle)
        (v4,) = [i for i in objs["indicator"] if "198.51.100.7" in i.pattern]
        (sight,) = [s for s in objs["sighting"] if s.sighting_of_ref == v4.id]
        counts[len(counts)] = sight.count
    assert counts == {0: 5, 1: 50_000}
