"""The ``web-campaign`` has the shape the brief describes, and benign traffic is realistic."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, unquote_plus

from citywatch.simulate import build_city

from .conftest import RESIDENTS, SEED, Run

LOGINS = ("/login", "/api/v1/auth/login")


def _status(rec: dict[str, object]) -> int:
    status = rec["http.response.status_code"]
    assert isinstance(status, int)
    return status


def _time(rec: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(rec["@timestamp"]))


def _login_user(rec: dict[str, object]) -> str | None:
    if rec["method"] != "POST" or rec["uri"] not in LOGINS:
        return None
    body = str(rec["body"])
    if rec["uri"] == "/login":
        return parse_qs(body)["username"][0]
    user = json.loads(body)["username"]
    assert isinstance(user, str)
    return user


def test_scanner_is_one_ip_in_a_burst_of_404s_and_403s(run: Run) -> None:
    scan = run.malicious("scanner")
    assert len(scan) >= 150
    assert len({r["source.ip"] for r in scan}) == 1
    statuses = Counter(_status(r) for r in scan)
    assert (statuses[404] + statuses[403]) / len(scan) > 0.8
    assert statuses[403] >= 10
    assert _time(scan[-1]) - _time(scan[0]) < timedelta(minutes=10)
    uris = {r["uri"] for r in scan}
    assert {"/.env", "/.git/config", "/wp-login.php", "/phpmyadmin/", "/backup.zip"} <= uris
    agents = {dict(r["headers"])["User-Agent"] for r in scan}
    assert any("Nikto" in a for a in agents)


def test_sqli_comes_later_from_the_scanner_ip(run: Run) -> None:
    scan, sqli = run.malicious("scanner"), run.malicious("sqli")
    assert {r["source.ip"] for r in sqli} == {scan[0]["source.ip"]}
    assert _time(sqli[0]) > _time(scan[-1])
    queries = [unquote(r["uri"]) for r in sqli if r["uri"].startswith("/traffic/incidents")]
    text = "\n".join(queries)
    for payload in ("' OR 1=1-- -", "UNION ALL SELECT", "SLEEP(5)", "AND 1=2"):
        assert payload in text, payload
    amounts = [
        parse_qs(r["body"])["amount"][0] for r in sqli if r["uri"] == "/tax/file" and r["body"]
    ]
    assert any("' OR '1'='1" in a for a in amounts)
    assert any("SLEEP(5)" in a for a in amounts)
    assert any(r["uri"] != unquote(r["uri"]) for r in sqli)  # URL-encoded, as sqlmap sends
    assert Counter(_status(r) for r in sqli)[500] >= 5


def test_credential_stuffing_from_a_proxy_pool(run: Run) -> None:
    stuff = run.malicious("credential-stuffing")
    scanner_ip = run.malicious("scanner")[0]["source.ip"]
    accounts: dict[str, set[str]] = defaultdict(set)
    failures: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    endpoints = set()
    for rec in stuff:
        user = _login_user(rec)
        if user is None:
            continue
        ip = rec["source.ip"]
        accounts[ip].add(user)
        attempts[ip] += 1
        failures[ip] += _status(rec) == 401
        endpoints.add(rec["uri"])
    assert scanner_ip not in accounts
    assert len(accounts) >= 10
    for ip, users in accounts.items():
        assert len(users) >= 20, ip
        assert failures[ip] / attempts[ip] >= 0.9, ip
    assert endpoints == set(LOGINS)
    successes = [r for r in stuff if _login_user(r) and _status(r) in (200, 302)]
    assert 1 <= len(successes) <= 4
    assert _time(stuff[-1]) - _time(stuff[0]) <= timedelta(minutes=45)
    agents = {dict((k.lower(), v) for k, v in r["headers"])["user-agent"] for r in stuff}
    assert len(agents) >= 5  # rotating


def test_taken_over_accounts_are_residents_who_reused_their_password(run: Run) -> None:
    (situation,) = [s for s in run.situations if s["silo"] == "portal"]
    residents = {r.email: r for r in build_city(SEED, RESIDENTS).residents}
    taken = situation["entities"]["user.name"]
    assert taken
    for rec in run.malicious("credential-stuffing"):
        user = _login_user(rec)
        if user is None or _status(rec) == 401:
            continue
        assert user in taken
        body = rec["body"]
        if rec["uri"] == "/login":
            password = parse_qs(body)["password"][0]
        else:
            password = json.loads(body)["password"]
        assert residents[user].password == password


def test_benign_logins_mostly_succeed_with_a_few_typos(run: Run) -> None:
    logins = [r for r in run.benign() if _login_user(r)]
    assert len(logins) > 100
    failed = [r for r in logins if _status(r) == 401]
    assert 0.01 < len(failed) / len(logins) < 0.12
    by_ip = {r["source.ip"] for r in logins if _status(r) in (200, 302)}
    assert sum(r["source.ip"] in by_ip for r in failed) / len(failed) > 0.8  # then got in


def test_shared_nat_addresses_carry_many_accounts_legitimately(run: Run) -> None:
    accounts: dict[str, set[str]] = defaultdict(set)
    outcomes: Counter[int] = Counter()
    sites = {site.ip for site in build_city(SEED, RESIDENTS).sites}
    for rec in run.benign():
        user = _login_user(rec)
        if user is not None:
            accounts[rec["source.ip"]].add(user)
            if rec["source.ip"] in sites:
                outcomes[_status(rec)] += 1
    busiest = max(accounts, key=lambda ip: len(accounts[ip]))
    assert busiest in sites  # the university or the library
    assert len(accounts[busiest]) >= 5
    assert outcomes[401] / sum(outcomes.values()) < 0.15


def test_benign_traffic_is_varied_and_international(run: Run) -> None:
    benign = run.benign()
    bodies = "\n".join(unquote_plus(r["body"]) for r in benign if r["body"])
    assert any(not c.isascii() for c in bodies)
    assert "'" in bodies  # O'Connell Street, D'Arcy Lane, O'Brien...
    lowered = bodies.lower()
    for word in ("select", "drop", "union", "script", "<3", "1=1"):
        assert word in lowered, word
    uris = Counter(r["uri"].split("?")[0] for r in benign)
    for path in ("/", "/login", "/alerts", "/traffic/cameras", "/api/v1/auth/login", "/tax/file"):
        assert uris[path] > 0, path
    assert any(p.startswith("/documents/") and p.endswith("/download") for p in uris)
    assert any(p.startswith("/static/") for p in uris)
    assert Counter(_status(r) for r in benign)[404] > 0  # stale links
    agents = " ".join(dict((k.lower(), v) for k, v in r["headers"])["user-agent"] for r in benign)
    for marker in ("Googlebot", "AldmereCity/", "iPhone", "Firefox"):
        assert marker in agents, marker
    methods = Counter(r["method"] for r in benign)
    assert methods["POST"] > 50
