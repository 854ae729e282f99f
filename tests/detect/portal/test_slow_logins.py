"""Low-and-slow failed logins seen only in an access log: no account, one address, hours.

The lines are written in combined log format and read by the access-log
adapter, as ``citywatch analyse --in access-log:...`` reads them: method,
path, status, address and agent, and no account. Every test puts a slow
guesser beside what must stay quiet, so that each fails without the rule.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tests.detect.test_logins import run_logins

from citywatch.detect.portal import LoginAbuseConfig
from citywatch.detect.portal.hits import BLOCK_CLIENTS
from citywatch.enrich import Enricher
from citywatch.ingest import AccessLogAdapter
from citywatch.model import Detection, Event

T0 = datetime(2026, 3, 14, 6, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) Mobile/15E148 Safari/604.1"
BROWSERS = [f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{v}.0" for v in range(100, 140)]
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GUESSER = "103.145.13.25"
SLOW = "portal.login.slow-guessing"
Hit = tuple[float, str, str, str, int, str]
"""(seconds after T0, address, method, path, status, user agent) of one logged request."""


def _events(enricher: Enricher, hits: list[Hit]) -> list[Event]:
    """The hits as an access log's lines, read by the adapter and enriched."""
    lines = []
    for t, ip, method, path, status, agent in sorted(hits):
        when = datetime.fromtimestamp(T0 + t, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines.append(f'{ip} - - [{when}] "{method} {path} HTTP/1.1" {status} 512 "-" "{agent}"')
    parsed = AccessLogAdapter().parse("portal-access.log", [line.encode() for line in lines])
    events = [enricher(e) for e in parsed if isinstance(e, Event)]
    assert len(events) == len(hits)
    return events


def _guesser(rng: random.Random, start: float = 0.0, hours: float = 6.0) -> list[Hit]:
    """One address posting to the login form every 4-6 minutes for hours, every one failing."""
    hits, t = [], start
    while t < start + hours * HOUR:
        hits.append((t, GUESSER, "POST", "/login", 401, FIREFOX))
        t += rng.uniform(240, 360)
    return hits


def _only_the_guesser(dets: list[Detection], guesses: int) -> Detection:
    (det,) = dets
    assert det.rule_id == SLOW
    assert det.entity["source.ip"] == GUESSER
    assert len(det.evidence) == guesses
    return det


def test_a_slow_guesser_in_an_access_log_is_one_detection(enricher: Enricher) -> None:
    # a guess every 4-6 minutes for 6 hours: 5-8 in any half hour, under the short window's 10
    hits = _guesser(random.Random(1))
    events = _events(enricher, hits)
    dets, emissions = run_logins(events)
    det = _only_the_guesser(dets, len(hits))
    assert det.timestamp.timestamp() == events[19].timestamp, "fires on the 20th failure"
    assert emissions <= 5, "one detection whose evidence grows, not one per attempt"
    assert det.tags[:2] == ["attack.T1110.001", "attack.T1110.003"]
    portal = det.attributes["portal"]
    assert portal["attack_technique"] == "T1110.001"
    assert portal["failed_or_unconfirmed"] == len(hits) and portal["taken_over"] == []
    assert (det.severity, det.confidence) == (55, 0.99), "as the access log's short-window rule"
    assert det.summary.startswith(f"{len(hits)} failed logins in 6.0 h from {GUESSER}, one every")
    assert "does not show the account" in det.summary
    assert any("application log" in m for m in portal["measures"])


def test_a_guess_every_16_minutes_stays_one_detection(enricher: Enricher) -> None:
    # 22 in six hours: past the threshold each guess came after more than the short rules'
    # 15 idle minutes, which would have closed the episode and opened a new one per guess
    hits = [(i * 960.0, GUESSER, "POST", "/login", 401, FIREFOX) for i in range(30)]
    _only_the_guesser(run_logins(_events(enricher, hits))[0], 30)


def test_a_shared_address_where_most_log_in_is_no_slow_guessing(enricher: Enricher) -> None:
    # A university's address over six hours: 400 people log in from 40 kinds of browser, one
    # in 12 after a typo, one in 40 gives up after three tries (a forgotten password, reset at
    # home): 60 failures, three times what the long window needs, beside 390 logins. Half an
    # hour of it held ten failures and under 30 logins by chance, and the short window's rule
    # fired on it ("202 login attempts ... 170 succeeded"): the hours tell a shared address.
    rng = random.Random(2)
    campus = []
    for i in range(400):
        t, agent = rng.uniform(0, 6 * HOUR), BROWSERS[i % len(BROWSERS)]
        fails = 3 if i % 40 == 0 else 1 if i % 12 == 0 else 0
        for k in range(fails):
            campus.append((t + 20 * k, "161.53.72.10", "POST", "/login", 401, agent))
        if i % 40:
            campus.append((t + 20 * fails, "161.53.72.10", "POST", "/login", 302, agent))
    assert sum(h[4] == 401 for h in campus) == 3 * LoginAbuseConfig().slow_failures
    assert run_logins(_events(enricher, campus))[0] == []
    hits = _guesser(random.Random(3))
    _only_the_guesser(run_logins(_events(enricher, campus + hits))[0], len(hits))


def test_a_person_who_fails_a_few_times_a_day_is_no_slow_guessing(enricher: Enricher) -> None:
    # at home: three wrong passwords in the morning, a login; four in the afternoon, a reset,
    # a login; two in the evening on the phone, a login. Nine in a day.
    home = []
    for start, fails, agent in (
        (1 * HOUR, 3, FIREFOX),
        (7 * HOUR, 4, FIREFOX),
        (13 * HOUR, 2, PHONE),
    ):
        for k in range(fails):
            home.append((start + 40 * k, "89.164.1.7", "POST", "/login", 401, agent))
        home.append((start + 40 * fails + 600, "89.164.1.7", "POST", "/login", 302, agent))
    hits = _guesser(random.Random(4), start=2 * HOUR)
    _only_the_guesser(run_logins(_events(enricher, home + hits))[0], len(hits))


def test_a_crawler_on_the_login_pages_is_no_slow_guessing(enricher: Enricher) -> None:
    # a search engine re-fetching the login pages every few minutes all day, some gone (404)
    # and the API's login refusing GET (405): failures on login paths, but no login posted
    rng = random.Random(5)
    crawler, t = [], 0.0
    while t < 12 * HOUR:
        path, status = rng.choice(
            [("/login", 200), ("/user/login", 404), ("/signin", 404), ("/api/v1/auth/login", 405)]
        )
        crawler.append((t, "66.249.66.1", rng.choice(["GET", "HEAD"]), path, status, GOOGLEBOT))
        t += rng.uniform(120, 300)
    hits = _guesser(random.Random(6))
    _only_the_guesser(run_logins(_events(enricher, crawler + hits))[0], len(hits))


def test_after_a_fast_burst_the_slow_window_counts_only_new_failures(enricher: Enricher) -> None:
    # a hundred guesses in three minutes (the short window's detection), then, an hour later,
    # the same address slowly: its new failures are a new episode, without the burst's again
    burst = [(i * 1.8, GUESSER, "POST", "/login", 401, FIREFOX) for i in range(100)]
    hits = _guesser(random.Random(7), start=HOUR)
    dets, _ = run_logins(_events(enricher, burst + hits))
    assert sorted(d.rule_id for d in dets) == ["portal.login.failures", SLOW]
    (slow,) = [d for d in dets if d.rule_id == SLOW]
    assert len(slow.evidence) == len(hits)


def _logs_in_after_each_guess(hits: list[Hit], times: int = 4) -> list[Hit]:
    """The guesser's own valid account: after each failed guess, ``times`` logins that succeed,
    from the same address and browser."""
    logins = [
        (t + 20 + 30 * k, ip, "POST", "/login", 302, agent)
        for t, ip, _, _, _, agent in hits
        for k in range(times)
    ]
    return hits + logins


def _carrier(rng: random.Random) -> list[Hit]:
    """A carrier's NAT address over six hours: 300 people log in from eight kinds of phone
    (phones of one model and version send one user agent), one in 12 after a typo or two:
    37 failures from 8 agents beside 300 logins."""
    phones = [f"{PHONE} v{n}" for n in range(8)]
    hits = []
    for i in range(300):
        t, agent = rng.uniform(0, 6 * HOUR), phones[i % len(phones)]
        fails = (1 + i % 24 // 12) if i % 12 == 0 else 0
        for k in range(fails):
            hits.append((t + 15 * k, "93.142.1.1", "POST", "/login", 401, agent))
        hits.append((t + 15 * fails, "93.142.1.1", "POST", "/login", 302, agent))
    return hits


def test_a_guesser_logging_in_to_his_own_account_is_no_shared_address(
    enricher: Enricher,
) -> None:
    # Four logins per failed guess made the address "shared" (successes three times its
    # failures or more, as behind a carrier's NAT) and hid the guessing, slow or fast; they
    # come from one browser, a shared address's from many
    carrier = _carrier(random.Random(9))
    assert sum(h[4] == 401 for h in carrier) == 37
    slow = _guesser(random.Random(8))
    fast = [(i * 100.0, GUESSER, "POST", "/login", 401, FIREFOX) for i in range(12)]
    for rule, hits in ((SLOW, slow), ("portal.login.failures", fast)):
        events = _events(enricher, carrier + _logs_in_after_each_guess(hits))
        (det,) = run_logins(events)[0]
        assert det.rule_id == rule
        assert det.entity["source.ip"] == GUESSER
        guesses = {e.id for e in events if e.outcome == "failure" and e.source_ip == GUESSER}
        assert len(guesses) == len(hits) and guesses <= set(det.evidence)
        # its logins are one browser's: his own account, or a guessed one; not a crowd's
        assert "many people share" not in det.summary
        assert "possible account takeover" in det.summary
        assert det.attributes["portal"]["measures"][0] == BLOCK_CLIENTS


REDUCED = [  # reduced user agents: one string for every user of a browser and platform
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Android 14; Mobile; rv:135.0) Gecko/135.0 Firefox/135.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.3 Safari/605.1.15",
]


def _deadline(rng: random.Random, forgot: int) -> list[Hit]:
    """A university's address on a filing deadline: 150 people log in within 20 minutes from
    four browsers' user agents, one in six after a typo; ``forgot`` of them try three times
    and go to reset the password."""
    hits = []
    for i in range(150):
        t, agent = rng.uniform(0, 1200), REDUCED[i % len(REDUCED)]
        fails = 3 if i < forgot else 1 if i % 6 == 0 else 0
        for k in range(fails):
            hits.append((t + 15 * k, "161.53.2.10", "POST", "/login", 401, agent))
        if i >= forgot:
            hits.append((t + 15 * fails, "161.53.2.10", "POST", "/login", 302, agent))
    return hits


def test_a_deadline_at_a_university_s_address_is_no_attack(enricher: Enricher) -> None:
    # 150 people behind one address, four user agents among them (a reduced agent is one
    # string for all users of a browser on a platform), 25 typos: "Repeated failed logins",
    # block advised. Four agents are a crowd; an attacker's own logins come from one or two.
    hits = _deadline(random.Random(10), forgot=0)
    assert sum(h[4] == 401 for h in hits) == 25
    assert run_logins(_events(enricher, hits))[0] == []


def test_a_shared_address_failing_more_than_typos_is_never_advised_blocked(
    enricher: Enricher,
) -> None:
    # The same deadline with nine people who forgot their password (27 more failures): more
    # than typos explain, so an analyst should look, but the summary said "an address many
    # people share" and the first measure was to block it (severity 55; the playbook blocks
    # from 60): 140 residents locked out on the deadline.
    hits = _deadline(random.Random(10), forgot=9)
    (det,) = run_logins(_events(enricher, hits))[0]
    assert det.rule_id == "portal.login.failures"
    assert det.severity < 60, "under the severity at which the playbook blocks the source"
    measures = det.attributes["portal"]["measures"]
    assert measures[0].startswith("Do not block the address")
    assert not any("block the flagged client" in m.lower() for m in measures)
    assert "many people share" in det.summary
    assert "possible account takeover" not in det.summary
