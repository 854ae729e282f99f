"""Takeovers in login abuse: inside a proxy pool's campaign, and what the account was used for.

Requests are built as the portal's mirror records them (method, path, status,
user agent) and enriched, so that accounts reach the detector pseudonymised,
as in production; every test puts residents beside the attack.
"""

from __future__ import annotations

import random

import msgspec
from tests.detect.test_logins import run_logins

from citywatch.detect import DetectorRunner
from citywatch.detect.portal import LoginAbuse
from citywatch.enrich import Enricher
from citywatch.model import Detection, Event, HttpRequest

T0 = 1_773_475_200.0  # 2026-03-14 08:00 UTC
APP = "AldmereCity/4130 CFNetwork/1568.300.101 Darwin/24.3.0"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/133.0.0.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) Mobile/15E148 Safari/604.1"


class City:
    """Requests to the portal, enriched; ``login`` and ``get`` return the event."""

    def __init__(self, enricher: Enricher) -> None:
        self.enricher = enricher
        self.events: list[Event] = []

    def add(self, t: float, ip: str, request: HttpRequest, outcome: str | None) -> Event:
        event = self.enricher(
            Event(
                id=f"req-{len(self.events) + 1}",
                timestamp=T0 + t,
                dataset="portal.http",
                outcome=outcome,
                source_ip=ip,
                payload=request,
            )
        )
        self.events.append(event)
        return event

    def login(self, t: float, ip: str, account: str, ok: bool, agent: str) -> Event:
        request = HttpRequest(
            method="POST",
            uri="/login",
            body=f"username={account}&password=x",
            status=302 if ok else 401,
            headers=(("User-Agent", agent),),
        )
        return self.add(t, ip, request, "success" if ok else "failure")

    def get(self, t: float, ip: str, path: str, agent: str) -> Event:
        request = HttpRequest(method="GET", uri=path, status=200, headers=(("User-Agent", agent),))
        return self.add(t, ip, request, None)

    def run(self) -> list[Event]:
        return sorted(self.events, key=lambda e: e.timestamp)


def test_accounts_taken_over_inside_a_proxy_pool_campaign_are_reported(
    enricher: Enricher,
) -> None:
    # 250 proxy addresses try two accounts each over an hour; four logins succeed, and each
    # proxy reads the account's documents at once. The campaign was found, but "taken_over:
    # []", severity 70, no reset: the four accounts were left in the attacker's hands.
    rng, city = random.Random(11), City(enricher)
    hits: list[Event] = []
    for k in range(250):
        ip = f"{rng.choice([31, 77, 93])}.{rng.randint(1, 250)}.{k}.{rng.randint(2, 250)}"
        for j in range(2):
            t, ok = 600 + rng.uniform(0, 3600), (2 * k + j) in (17, 140, 301, 455)
            event = city.login(t, ip, f"victim{2 * k + j:04d}@mail.example", ok, APP)
            if ok:
                hits.append(event)
                city.get(t + 3, ip, "/api/v1/me", APP)
                city.get(t + 5, ip, "/api/v1/documents", APP)
    # residents log in to their own accounts meanwhile, one in four after a typo
    residents = []
    for i in range(80):
        t, ip = 600 + i * 45.0, f"37.9.{i}.1"
        if i % 4 == 0:
            residents.append(city.login(t, ip, f"resident{i}", False, PHONE))
        residents.append(city.login(t + 20, ip, f"resident{i}", True, PHONE))
        city.get(t + 25, ip, "/account", PHONE)
    # one forgot her password, reset it and logged in a quarter of an hour later; the owner of
    # an account the pool tried logs in from home
    forgot = [city.login(1500 + 15 * k, "37.10.0.1", "Šárka", False, PHONE) for k in range(3)]
    forgot.append(city.login(2400, "37.10.0.1", "Šárka", True, PHONE))
    owner = city.login(3000, "37.10.0.2", "victim0001@mail.example", True, BROWSER)

    dets, _ = run_logins(city.run())
    (spread,) = dets
    assert spread.rule_id == "portal.login.stuffing-spread"
    portal = spread.attributes["portal"]
    assert sorted(portal["taken_over"]) == sorted(str(e.user_id) for e in hits)
    assert spread.severity == 90
    assert "4 accounts logged in from the campaign's addresses" in spread.summary
    assert any("Force a password reset" in m for m in portal["measures"])
    assert {e.id for e in hits} <= set(spread.evidence)
    quiet = {e.id for e in [*residents, forgot[-1], owner]}
    assert not quiet & set(spread.evidence)
    assert portal["after_takeover"] == {
        "requests": 8,
        "paths": ["GET /api/v1/me", "GET /api/v1/documents"],
    }
    assert "victim" not in msgspec.json.encode(spread).decode(), "accounts are pseudonyms"


def test_what_a_taken_over_account_was_used_for_is_in_the_detection(
    enricher: Enricher,
) -> None:
    # One address stuffs 40 accounts and gets into one; its script reads the owner's tax
    # return and address. None of those requests was in any detection: the breach could not
    # be scoped.
    city = City(enricher)
    attempts = [
        city.login(t * 6.0, "185.220.101.7", f"user{t}", t == 30, BROWSER) for t in range(40)
    ]
    after = [
        city.get(30 * 6.0 + 2 + 2 * k, "185.220.101.7", path, BROWSER)
        for k, path in enumerate(("/account", "/tax/returns/2024-000123", "/address"))
    ]
    quiet = [
        city.get(184, "185.220.101.7", "/tax", PHONE),  # someone else on the address
        city.get(185, "37.9.1.1", "/tax/returns/2024-000777", BROWSER),  # a resident
        city.get(100, "185.220.101.7", "/account", BROWSER),  # before the takeover
    ]
    (det,) = run_logins(city.run())[0]
    assert det.rule_id == "portal.login.stuffing"
    assert det.attributes["portal"]["after_takeover"] == {
        "requests": 3,
        "paths": ["GET /account", "GET /tax/returns/{id}", "GET /address"],
    }
    assert set(det.evidence) == {e.id for e in attempts + after}
    assert not {e.id for e in quiet} & set(det.evidence)
    assert "2024-000123" not in msgspec.json.encode(det).decode(), "ids are templated"


def test_what_a_taken_over_account_is_used_for_is_followed_across_a_restart(
    enricher: Enricher,
) -> None:
    # only keys with an open episode are followed (most requests are no login, and routing
    # each to every key with a state cost the access-log job 3 %): an index a restored
    # checkpoint must rebuild, or the requests after the restart go unseen
    city = City(enricher)
    for t in range(40):
        city.login(t * 6.0, "185.220.101.9", f"user{t}", t == 30, BROWSER)
    before = city.run()
    after = [
        city.get(30 * 6.0 + 100 + 2 * k, "185.220.101.9", path, BROWSER)
        for k, path in enumerate(("/account", "/address"))
    ]
    out = _across_a_restart(before, after)
    (det,) = {d.id: d for d in out if d.rule_id == "portal.login.stuffing"}.values()
    assert {e.id for e in after} <= set(det.evidence)
    assert det.attributes["portal"]["after_takeover"]["requests"] == 2


def test_requests_after_a_takeover_are_watched_for_a_bounded_time_and_number(
    enricher: Enricher,
) -> None:
    # a script that keeps reading through the session: fifty requests kept, none after the
    # half hour, and the list of what it touched stays short
    city = City(enricher)
    for t in range(12):
        city.login(t * 6.0, "185.220.101.8", f"user{t}", t == 11, BROWSER)
    for k in range(400):
        city.get(70 + k * 4.0, "185.220.101.8", f"/documents/{k}/v{k}x{k}", BROWSER)
    late = city.get(70 + 1900.0, "185.220.101.8", "/address", BROWSER)
    (det,) = run_logins(city.run())[0]
    after = det.attributes["portal"]["after_takeover"]
    assert after["requests"] == 50
    assert len(after["paths"]) <= 32
    assert late.id not in det.evidence


def test_what_an_account_taken_over_in_an_attack_on_it_was_used_for_is_in_the_detection(
    enricher: Enricher,
) -> None:
    # Twelve addresses guess the mayor's password; the twelfth gets in and reads her documents.
    # Its requests name no account (the mirror does not record it on them), so they reached
    # no account's key: "after_takeover: 0 requests", as if the account had not been used.
    city = City(enricher)
    for k in range(12):
        city.login(k * 20.0, f"198.51.100.{k}", "mayor", False, BROWSER)
    city.login(250.0, "198.51.100.11", "mayor", True, BROWSER)
    used = [city.get(255.0, "198.51.100.11", "/documents/2024-17", BROWSER)]
    # one that names the account (an API's authenticated user) reaches the key both ways
    named = HttpRequest(
        method="GET", uri="/address", status=200, headers=(("User-Agent", BROWSER),)
    )
    used.append(
        city.enricher(
            Event(
                id="req-named",
                timestamp=T0 + 260.0,
                dataset="portal.http",
                source_ip="198.51.100.11",
                user_id="mayor",
                payload=named,
            )
        )
    )
    city.events.append(used[-1])
    quiet = [
        city.get(256.0, "198.51.100.3", "/documents", BROWSER),  # a guesser that did not get in
        city.get(257.0, "198.51.100.11", "/documents", PHONE),  # another agent at the address
    ]
    detector = LoginAbuse()
    (det,) = run_logins(city.run(), detector)[0]
    assert not detector._takers, "the index forgets an account's takers when its episode closes"
    assert det.rule_id == "portal.login.account-attack"
    assert det.attributes["portal"]["after_takeover"] == {
        "requests": 2,
        "paths": ["GET /documents/{id}", "GET /address"],
    }
    assert {e.id for e in used} <= set(det.evidence)
    assert len(det.evidence) == len(set(det.evidence)), "each request once"
    assert not {e.id for e in quiet} & set(det.evidence)
    # across a restart between the takeover and its requests: the index is rebuilt
    events = city.run()
    out = _across_a_restart(events[:13], events[13:])
    assert out[-1].attributes["portal"]["after_takeover"]["requests"] == 2


def _across_a_restart(before: list[Event], after: list[Event]) -> list[Detection]:
    """Every emission of a detector that reads ``before``, is checkpointed and restored in a
    new process, and reads ``after``."""
    first = DetectorRunner(LoginAbuse(), lambda n, e, x: None)
    out: list[Detection] = []
    for event in before:
        first.process(event, out)
    second = DetectorRunner(LoginAbuse(), lambda n, e, x: None)
    second.restore(first.snapshot())
    for event in after:
        second.process(event, out)
    second.flush(out)
    return out
