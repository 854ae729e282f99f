"""MISP event JSON: the structure MISP imports."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import msgspec

from citywatch.model import Detection, Incident
from citywatch.respond.misp import misp_event

GALAXY = re.compile(r'misp-galaxy:mitre-attack-pattern="[^"]+ - T\d{4}(\.\d{3})?"')


def test_event_structure(
    cyber_incident: Incident, make_detection: Callable[..., Detection]
) -> None:
    dets = [
        make_detection(
            "198.51.100.7",
            ["attack.T1110.004"],
            n=40,
            **{
                "user_agent.original": "python-requests/2.31",
                "url.original": "https://portal.aldmere.city/login",
            },
        ),
        make_detection("2001:db8::7", ["attack.t1190", "attack.credential_access"], n=3),
        make_detection("10.1.2.3", ["attack.T1595.002"]),
    ]
    doc = misp_event(cyber_incident, dets, allow=["10.0.0.0/8"])
    json.loads(json.dumps(doc))
    event = doc["Event"]
    assert uuid.UUID(event["uuid"]).version == 5
    assert event["info"].startswith("citywatch inc-cyber: Credential stuffing")
    assert event["date"] == "2026-03-14"
    assert event["threat_level_id"] == "1" and event["analysis"] == "0"
    assert event["distribution"] == "1" and event["published"] is False
    assert event["Orgc"]["name"] == "City of Aldmere"
    tags = [t["name"] for t in event["Tag"]]
    assert tags[0] == "tlp:amber"
    assert tags[1:] == [
        'misp-galaxy:mitre-attack-pattern="Credential Stuffing - T1110.004"',
        'misp-galaxy:mitre-attack-pattern="Exploit Public-Facing Application - T1190"',
    ]
    assert all(GALAXY.fullmatch(t) for t in tags[1:])
    by_type: dict[str, list[dict[str, object]]] = {}
    for attr in event["Attribute"]:
        assert {"uuid", "type", "category", "value", "to_ids", "timestamp"} <= attr.keys()
        by_type.setdefault(str(attr["type"]), []).append(attr)
    assert [a["value"] for a in by_type["ip-src"]] == ["198.51.100.7", "2001:db8::7"]
    assert all(
        a["to_ids"] is True and a["category"] == "Network activity" for a in by_type["ip-src"]
    )
    assert by_type["ip-src"][0]["comment"] == "attacker address, 40 records (T1110.004)"
    assert [a["value"] for a in by_type["user-agent"]] == ["python-requests/2.31"]
    assert [a["value"] for a in by_type["url"]] == ["https://portal.aldmere.city/login"]
    assert all(a["to_ids"] is False for a in by_type["user-agent"] + by_type["url"])
    assert len(by_type["comment"]) == 2  # the city's own address is not shared at all
    assert "10.1.2.3" not in json.dumps(doc) and "T1595" not in json.dumps(doc)
    uuids = [a["uuid"] for a in event["Attribute"]]
    assert len(set(uuids)) == len(uuids)
    assert misp_event(cyber_incident, dets, allow=["10.0.0.0/8"]) == doc  # stable uuids


def test_city_addresses_in_free_text_are_redacted(
    cyber_incident: Incident, make_detection: Callable[..., Detection]
) -> None:
    titled = msgspec.structs.replace(
        cyber_incident, title="Credential stuffing against portal from 10.1.2.3"
    )
    det = make_detection("198.51.100.7", ["attack.T1110.004"])
    det = msgspec.structs.replace(det, summary="Seen with 10.1.2.3 and 198.51.100.7")
    text = json.dumps(misp_event(titled, [det], allow=["10.0.0.0/8"]))
    assert "10.1.2.3" not in text and "[city address]" in text and "198.51.100.7" in text


def test_a_botnet_event_names_its_c2_and_never_the_city_devices(
    cyber_incident: Incident, make_detection: Callable[..., Detection]
) -> None:
    c2 = make_detection("10.20.1.15", ["attack.T1071"], **{"device.id": "cam-0006"})
    c2 = msgspec.structs.replace(
        c2,
        rule_id="iot.c2",
        summary="cam-0006 at 10.20.1.15 contacts 91.92.241.17:6667",
        attributes={"iot": {"remote": ["91.92.241.17", "cdn.example.org"]}},
    )
    attrs = misp_event(cyber_incident, [c2], allow=["10.20.0.0/16"])["Event"]["Attribute"]
    shared = {(a["type"], a["value"]): a for a in attrs}
    assert shared[("ip-dst", "91.92.241.17")]["to_ids"] is True
    assert shared[("ip-dst", "91.92.241.17")]["comment"] == "Command and control server"
    assert ("domain", "cdn.example.org") in shared
    assert not any("10.20." in str(a["value"]) for a in attrs)


def test_every_technique_a_detector_or_rule_names_has_its_att_ck_name() -> None:
    # The rogue-device incident was tagged "ATT&CK technique T1200 - T1200" in MISP.
    import re  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import citywatch  # noqa: PLC0415
    from citywatch.respond.evidence import TECHNIQUES  # noqa: PLC0415

    root = Path(citywatch.__file__).parent
    named: set[str] = set()
    for folder in ("detect", "correlate", "respond"):
        for path in (root / folder).rglob("*"):
            if path.suffix in {".py", ".yml", ".yaml", ".json"}:
                text = path.read_text(encoding="utf-8")
                named |= set(re.findall(r"\bT1\d{3}(?:\.\d{3})?\b", text))
    assert named and named <= set(TECHNIQUES), sorted(named - set(TECHNIQUES))
