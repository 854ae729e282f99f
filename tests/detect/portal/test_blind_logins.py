"""Login abuse where the source records no response (an ``http-jsonl`` mirror without status).

Requests are built as such a mirror records them (method, path, headers, no
status) and enriched, so accounts reach the detector pseudonymised.
"""

from __future__ import annotations

import random

from tests.detect.portal.test_login_takeovers import City
from tests.detect.test_logins import run_logins

from citywatch.enrich import Enricher
from citywatch.model import Detection, Event, HttpRequest

DESKTOP = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/18.2 Safari",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36",
]
MOBILE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/133.0.0.0 Mobile Safari/537.36",
]
APPS = [
    "AldmereCity/4200 CFNetwork/1568.300.101 Darwin/24.3.0",
    "AldmereCity/4.2.1 (Android 15; moto g54; build 4210) okhttp/4.12.0",
    "AldmereCity/4.2.1 (Android 14; SM-A546B; build 4210) okhttp/4.12.0",
]


class Mirror(City):
    """Login requests as a mirror records them: without responses unless ``known``."""

    def __init__(self, enricher: Enricher, known: bool = False) -> None:
        super().__init__(enricher)
        self.known = known

    def attempt(
        self, t: float, ip: str, account: str, agent: str, session: str = "", ok: bool = False
    ) -> Event:
        headers = [("User-Agent", agent)]
        if session:
            headers.append(("Cookie", f"consent=necessary; aldsid={session}"))
        request = HttpRequest(
            method="POST",
            uri="/login",
            body=f"username={account}&password=x",
            headers=tuple(headers),
            status=(302 if ok else 401) if self.known else None,
        )
        outcome = ("success" if ok else "failure") if self.known else None
        return self.add(t, ip, request, outcome)

    def detections(self) -> list[Detection]:
        return run_logins(self.run())[0]


def _pool(mirror: Mirror, rng: random.Random) -> dict[str, list[Event]]:
    """Six proxies of a pool work through a list over half an hour, each 25 to 45 accounts at
    a human pace (a minute apart on average), with the agents of a tool's list and, now and
    then, a fresh session cookie; two send the forged app's one agent."""
    attempts: dict[str, list[Event]] = {}
    for k in range(6):
        ip = f"190.128.{k}.{rng.randint(2, 250)}"
        n = rng.randint(25, 45)
        for j, t in enumerate(sorted(rng.uniform(0, 1800) for _ in range(n))):
            agent = APPS[1] if k < 2 else rng.choice(DESKTOP + MOBILE)
            session = f"s{k}-{j}" if k >= 2 and rng.random() < 0.3 else ""
            ok = j == 3 and k == 0
            event = mirror.attempt(600 + t, ip, f"victim{k}.{j}@mail.example", agent, session, ok)
            attempts.setdefault(ip, []).append(event)
    return attempts


def test_stuffing_through_a_pool_at_a_human_pace_is_seen_without_outcomes(
    enricher: Enricher,
) -> None:
    # Proxies of a pool each tried 25 to 45 accounts in half an hour, a minute apart, and the
    # mirror recorded no responses: slower than the burst rule, no account repeated, under
    # the portal-wide rule's share of clients on two accounts (residents log in meanwhile).
    # Nothing was reported.
    blind = Mirror(enricher)
    pool = _pool(blind, random.Random(5))
    for i in range(150):
        blind.attempt(600 + i * 12.0, f"37.9.{i}.1", f"resident{i}", MOBILE[i % 2], f"r{i}")
    dets = blind.detections()
    assert sorted(d.entity["source.ip"] for d in dets) == sorted(pool)
    for det in dets:
        assert det.rule_id == "portal.login.stuffing"
        assert "outcomes unknown" in det.summary
        assert set(det.evidence) == {e.id for e in pool[det.entity["source.ip"]]}
        portal = det.attributes["portal"]
        assert not any("Block" in m for m in portal["measures"]), "no block on unknown outcomes"
        assert any("outcomes of these attempts" in m for m in portal["measures"])
    # the same pool where the source shows the responses: surer, and severer
    known = Mirror(enricher, known=True)
    _pool(known, random.Random(5))
    seen = {d.entity["source.ip"]: d for d in known.detections()}
    for det in dets:
        with_outcomes = seen[det.entity["source.ip"]]
        assert det.severity < 60 <= with_outcomes.severity
        assert det.confidence < with_outcomes.confidence
        assert "outcomes unknown" not in with_outcomes.summary


def test_residents_behind_a_nat_without_outcomes_are_no_stuffing(enricher: Enricher) -> None:
    # A campus's address at its busiest, the mirror recording no responses: 30 people log in
    # within half an hour, each from a browser session of their own (browsers of one version
    # show one user agent) or the app (phones of one build show one), a household logs in to
    # a second account in its browser, and a few retry after a typo.
    rng, mirror = random.Random(3), Mirror(enricher)
    for i in range(30):
        t, ip = i * 58.0 + rng.uniform(0, 20), "161.53.72.10"
        if i < 5:
            agent, session = APPS[i % 3], ""
        else:
            agent, session = rng.choice(DESKTOP + MOBILE), f"student{i}"
        if i % 7 == 0:
            mirror.attempt(t - 15, ip, f"student{i}", agent, session)  # a typo, retried
        mirror.attempt(t, ip, f"student{i}", agent, session)
        if i == 12:
            mirror.attempt(t + 300, ip, "student12.parent", agent, session)
    assert mirror.detections() == []
