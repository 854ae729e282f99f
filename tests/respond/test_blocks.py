"""Block lists: nftables, nginx and ModSecurity syntax, expiry, allow-list."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from citywatch.errors import ConfigError
from citywatch.model import Detection, Incident
from citywatch.respond.blocks import (
    BlockedName,
    BlockEntry,
    block_entries,
    blocked_names,
    modsecurity_rules,
    nft_elements,
    nft_ruleset,
    nginx_deny,
    rpz_zone,
)

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
ALLOW = ["10.0.0.0/8", "192.0.2.0/24", "2001:db8:c17::/48"]


def _entry(addr: str, minutes: int = 60, incident: str = "inc-1") -> BlockEntry:
    return BlockEntry(address=addr, expires=NOW + timedelta(minutes=minutes), incident=incident)


@pytest.fixture
def entries(cyber_incident: Incident, make_detection: Callable[..., Detection]) -> list[BlockEntry]:
    dets = [
        make_detection("203.0.113.50", ["attack.T1190"]),
        make_detection("::ffff:192.0.2.8", ["attack.T1190"]),
    ]  # mapped: the city's own
    return block_entries(cyber_incident, dets, now=NOW, ttl=timedelta(hours=1), allow=ALLOW)


def test_entries_leave_out_the_city_and_special_addresses(
    entries: list[BlockEntry], cyber_incident: Incident
) -> None:
    assert [e.address for e in entries] == ["198.51.100.7", "203.0.113.50", "2001:db8::7"]
    assert all(e.expires == NOW + timedelta(hours=1) and e.incident == "inc-cyber" for e in entries)
    special = Incident(
        **{
            **{f: getattr(cyber_incident, f) for f in cyber_incident.__struct_fields__},
            "entities": {
                "source.ip": ["127.0.0.1", "::1", "0.0.0.0", "fe80::1", "224.0.0.1", "pseudo-4f2a"]
            },
        }
    )
    assert block_entries(special, now=NOW) == []
    with pytest.raises(ConfigError):
        block_entries(cyber_incident, now=NOW, allow=["not-a-net"])


def test_nft_elements(entries: list[BlockEntry]) -> None:
    text = nft_elements(entries, now=NOW + timedelta(minutes=10), table="filter")
    assert text.splitlines() == [
        "add element inet filter citywatch_block "
        "{ 198.51.100.7 timeout 3000s, 203.0.113.50 timeout 3000s }",
        "add element inet filter citywatch_block6 { 2001:db8::7 timeout 3000s }",
    ]
    assert nft_elements(entries, now=NOW + timedelta(hours=2)) == ""  # all expired
    with pytest.raises(ValueError, match="nftables name"):
        nft_elements(entries, now=NOW, table="x; flush ruleset")


def test_nft_ruleset_shape(entries: list[BlockEntry]) -> None:
    text = nft_ruleset(entries, now=NOW)
    assert text.startswith("#!/usr/sbin/nft -f\n")
    assert "table inet citywatch {}\ndelete table inet citywatch\ntable inet citywatch {\n" in text
    assert re.search(
        r"set citywatch_block \{\s+type ipv4_addr\s+flags timeout\s+"
        r"elements = \{ 198\.51\.100\.7 timeout 3600s, 203\.0\.113\.50 timeout 3600s \}",
        text,
    )
    assert re.search(
        r"set citywatch_block6 \{\s+type ipv6_addr\s+flags timeout\s+"
        r"elements = \{ 2001:db8::7 timeout 3600s \}",
        text,
    )
    assert "ip saddr @citywatch_block counter drop" in text
    assert "ip6 saddr @citywatch_block6 counter drop" in text
    assert text.count("{") == text.count("}")
    empty = nft_ruleset([], now=NOW)
    assert "elements" not in empty and empty.count("{") == empty.count("}")


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed here")
def test_nft_accepts_the_ruleset(entries: list[BlockEntry], tmp_path: Path) -> None:
    outside = [
        BlockEntry(address=a, expires=NOW + timedelta(hours=1), incident="inc-1", direction="to")
        for a in ("91.92.241.17", "2001:db8:77::1")
    ]
    path = tmp_path / "citywatch.nft"
    path.write_text(nft_ruleset([*entries, *outside], now=NOW))
    result = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr


def test_nginx_deny(entries: list[BlockEntry]) -> None:
    lines = nginx_deny(entries, now=NOW).splitlines()
    assert lines[0].startswith("# citywatch block list")
    assert lines[1:] == [
        "deny 198.51.100.7;  # inc-cyber until 2026-03-14T10:00:00+00:00",
        "deny 203.0.113.50;  # inc-cyber until 2026-03-14T10:00:00+00:00",
        "deny 2001:db8::7;  # inc-cyber until 2026-03-14T10:00:00+00:00",
    ]


def test_modsecurity_rules(entries: list[BlockEntry]) -> None:
    more = [*entries, _entry("198.51.100.99", incident="inc-2"), _entry("198.51.100.98", -5)]
    lines = modsecurity_rules(more, now=NOW, first_id=77_000).splitlines()
    rule = re.compile(
        r'SecRule REMOTE_ADDR "@ipMatch ([0-9a-f.:,]+)" '
        r"\"id:(\d+),phase:1,deny,status:403,log,msg:'citywatch incident ([\w.:-]+) "
        r"\(block until [0-9T:+-]+\)'\""
    )
    matches = [rule.fullmatch(line) for line in lines[1:]]
    assert all(matches), lines
    got = [(m.group(1), m.group(2), m.group(3)) for m in matches if m]
    assert got == [
        ("198.51.100.99", "77000", "inc-2"),
        ("198.51.100.7,203.0.113.50,2001:db8::7", "77001", "inc-cyber"),
    ]
    chunks = modsecurity_rules(entries, now=NOW, per_rule=2).splitlines()[1:]
    assert len(chunks) == 2


def test_renderers_recheck_the_allow_list_and_sanitise() -> None:
    sneaky = [
        _entry("10.9.9.9"),
        _entry("2001:db8:c17::5"),
        _entry("127.0.0.1"),
        _entry("198.51.100.7; deny all"),
        _entry("198.51.100.20", incident="inc-1' ,phase:2,pass,msg:'x"),
    ]
    for render in (nft_elements, nginx_deny, modsecurity_rules):
        text = render(sneaky, now=NOW, allow=ALLOW)  # type: ignore[operator]
        assert "10.9.9.9" not in text and "2001:db8:c17::5" not in text
        assert "127.0.0.1" not in text and "deny all" not in text
        assert "198.51.100.20" in text
    mod = modsecurity_rules(sneaky, now=NOW, allow=ALLOW)
    assert "phase:2" not in mod.replace("phase:2_", "") and mod.count("'") == 2


def test_the_outside_hosts_devices_reached_are_blocked_going_out(
    cyber_incident: Incident, make_detection: Callable[..., Detection]
) -> None:
    # contain-iot-botnet blocked the attackers only: the devices went on reaching their C2
    # server and download host, which their detections name (attributes.iot.remote)
    c2 = msgspec.structs.replace(
        make_detection("198.51.100.7", ["attack.T1071"]),
        rule_id="iot.c2",
        attributes={
            "iot": {"remote": ["91.92.241.17", "C2.Example.NET", "10.20.1.1", "2001:db8:c17::9"]}
        },
    )
    entries = block_entries(cyber_incident, [c2], now=NOW, allow=ALLOW)
    assert [(e.address, e.direction) for e in entries] == [
        ("198.51.100.7", "from"),
        ("2001:db8::7", "from"),
        ("91.92.241.17", "to"),
    ]  # the city's own 10.20.1.1 and allow-listed 2001:db8:c17::9 stay reachable
    ruleset = nft_ruleset(entries, now=NOW)
    assert re.search(r"set citywatch_egress \{[^}]*elements = \{ 91\.92\.241\.17 timeout", ruleset)
    assert "91.92.241.17" not in ruleset.split("set citywatch_egress {")[0]
    chains = dict(re.findall(r"chain (\w+) \{\n(.*?)\n    \}", ruleset, re.S))
    assert "ip daddr @citywatch_egress counter drop" in chains["output"]
    assert "ip daddr @citywatch_egress counter drop" in chains["forward"]
    assert "ip saddr @citywatch_block counter drop" in chains["forward"]
    assert "daddr" not in chains["input"] and "saddr" not in chains["output"]
    assert ruleset.count("{") == ruleset.count("}")
    assert nft_elements(entries, now=NOW).splitlines()[-1] == (
        "add element inet citywatch citywatch_egress { 91.92.241.17 timeout 3600s }"
    )
    assert "91.92.241.17" not in nginx_deny(entries, now=NOW)  # the portal sees no device
    assert "91.92.241.17" not in modsecurity_rules(entries, now=NOW)
    names = blocked_names(cyber_incident, [c2], now=NOW)
    assert [n.name for n in names] == ["c2.example.net"]
    zone = rpz_zone([*names, BlockedName(name="gone.example", expires=NOW, incident="x")], now=NOW)
    assert zone.splitlines()[-2:] == [
        "c2.example.net CNAME .  ; inc-cyber until 2026-03-14T10:00:00+00:00",
        "*.c2.example.net CNAME .  ; inc-cyber until 2026-03-14T10:00:00+00:00",
    ]  # what expired is left out
    assert "$ORIGIN rpz.citywatch." in zone and "gone.example" not in zone
    with pytest.raises(ValueError, match="zone name"):
        rpz_zone(names, now=NOW, origin="x\n@ NS evil.")
