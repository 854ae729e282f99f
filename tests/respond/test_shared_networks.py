"""A network the city knows many people share (a carrier's NAT, a university's) is never
blocked, nor given to partners as an attacker's: ``respond.shared_networks``.

A student's injections from a carrier-grade NAT's address made an incident whose block
took the address (analyst review): every mobile user behind it lost the portal. No
detection in the incident said the address was shared, and none could: one student's
injections are all that came from it. The city knows its carriers' and university's
ranges; it says so once, with why, and every block and intel step honours it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from citywatch.app import playbook_runner
from citywatch.config import Settings
from citywatch.model import Detection, Incident, IncidentStatus
from citywatch.respond.actions import Context, block, share_intel
from citywatch.respond.playbook import RespondConfig
from citywatch.respond.quarantine import QuarantineConfig
from citywatch.store import open_store

CARRIER = "46.188.12.7"
STRANGER = "185.220.101.4"
NAT = {"46.188.0.0/16": "Aldmere Mobile's carrier-grade NAT"}
T = datetime(2026, 3, 14, 9, tzinfo=UTC)


def _detection(did: str, ip: str) -> Detection:
    return Detection(
        id=did,
        timestamp=T,
        detector="web-attacks",
        rule_id="sqli.union",
        rule_name="SQL injection: UNION query",
        severity=85,
        confidence=0.9,
        category="cyber",
        summary=f"UNION query from {ip}: 6 requests",
        entity={"source.ip": ip, "target": "portal"},
        evidence=[f"{did}-1"],
        first_seen=T,
        last_seen=T,
        tags=["attack.T1190"],
        attributes={"portal": {"class": "sqli", "requests": 6}},
    )


def _block(tmp_path: Path, shared: dict[str, str], *, tool: str = "block") -> str:
    dets = [_detection("student", CARRIER), _detection("stranger", STRANGER)]
    incident = Incident(
        id="inc",
        title="t",
        status=IncidentStatus.NEW,
        severity=85,
        category="cyber",
        first_seen=T,
        last_seen=T,
        detections=[d.id for d in dets],
        entities={"source.ip": [CARRIER, STRANGER]},
    )
    ctx = Context(
        incident=incident,
        detections=dets,
        params={"ttl_min": 30},
        now=T,
        data_dir=tmp_path,
        actor="t",
        dry_run=tool == "block",
        quarantine=QuarantineConfig(),
        cap_sender="city@example.org",
        shared_networks=tuple(shared.items()),
    )
    if tool == "block":
        return block(ctx).summary
    share_intel(ctx)
    stix = (tmp_path / "intel/inc.stix.json").read_text()
    misp = (tmp_path / "intel/inc.misp.json").read_text()
    return stix + misp


def test_a_carrier_s_nat_the_city_names_is_never_blocked_nor_shared(tmp_path: Path) -> None:
    assert _block(tmp_path, {}) == (
        f"would block 2 addresses ({CARRIER}, {STRANGER}) for {timedelta(minutes=30)}"
    )
    assert _block(tmp_path, NAT) == (
        f"would block 1 address ({STRANGER}) for {timedelta(minutes=30)}; left out 1 no one "
        f"should block ({CARRIER}: in Aldmere Mobile's carrier-grade NAT, which many people "
        "share (respond.shared_networks))"
    )
    intel = _block(tmp_path, NAT, tool="intel")
    assert STRANGER in intel and CARRIER not in intel
    assert "UNION query from [spared address]" in intel


def test_shared_networks_come_from_the_settings_and_a_bad_one_is_a_clear_error(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        pseudonym_key=SecretStr("5a" * 32),
        respond=RespondConfig(shared_networks=NAT),
    )
    with open_store(f"sqlite:///{tmp_path / 'cw.db'}") as store:
        runner = playbook_runner(settings, store)
    assert runner.shared_networks == (("46.188.0.0/16", "Aldmere Mobile's carrier-grade NAT"),)
    with pytest.raises(ValidationError, match="shared_networks"):
        RespondConfig(shared_networks={"46.188.0.0/33": "a typo"})
    # reviewer: 0.0.0.0/0 spared every attacker from every block, and "" read "in , which…"
    with pytest.raises(ValidationError, match="wider than any carrier's or campus's range"):
        RespondConfig(shared_networks={"0.0.0.0/0": "everyone"})
    with pytest.raises(ValidationError, match="say whose range it is"):
        RespondConfig(shared_networks={"46.188.0.0/16": " "})
    assert RespondConfig(shared_networks={"2a00:1a00::/24": "a carrier"}).shared_networks
