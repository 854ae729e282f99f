"""The ``web-campaign`` scenario: reconnaissance, SQL injection, credential stuffing.

One actor (``recon-host``) scans the portal from a rented server with Nikto
and gobuster, later logs in with a throw-away account and runs sqlmap from the
same address against the traffic-incident search (injectable) and the tax
form's ``amount`` (validated, so it fails). Another (``proxy-pool``) replays a
leaked e-mail/password list against both login endpoints through a dozen
residential proxies over about forty minutes; a couple of residents reused
their password, and their accounts are taken over.
"""

from __future__ import annotations

from random import Random
from typing import Final
from urllib.parse import quote

import msgspec

from citywatch.simulate import agents, attacks
from citywatch.simulate.city import City, Resident
from citywatch.simulate.names import CULTURES, MAIL_DOMAINS, PASSWORD_WORDS, handle
from citywatch.simulate.net import Allocator
from citywatch.simulate.rand import between
from citywatch.simulate.records import Agent, Hit, Label
from citywatch.simulate.site import SIZE
from citywatch.simulate.visit import Visit, token, vary

SCENARIO: Final = "web-campaign"
TITLE: Final = "Web attack campaign on the citizen portal: scan, SQL injection, credential stuffing"
SCAN: Final = Label("malicious", SCENARIO, "scanner", "recon-host")
SQLI: Final = Label("malicious", SCENARIO, "sqli", "recon-host")
STUFF: Final = Label("malicious", SCENARIO, "credential-stuffing", "proxy-pool")
_MINUTE: Final = 60_000
_FORGED_APP: Final = agents.APP_ANDROID.format(v="4.0.2", os="11", model="SM-G991B", b="4020")


class Campaign(msgspec.Struct, gc=False):
    """A scenario's requests (time-ordered) and what a defender should find."""

    hits: list[Hit]
    scenario: str
    title: str
    compromised: list[str]  # accounts taken over (the login names used)
    techniques: list[str]


def build_campaign(city: City, rng: Random, start_ms: int, span_ms: int) -> Campaign:
    """The campaign placed inside ``[start_ms, start_ms + span_ms)``."""
    alloc = Allocator(rng)
    ip = alloc.hosting()
    hits = _scan(rng, ip, start_ms + int(span_ms * rng.uniform(0.10, 0.14)))
    hits += _sqli(rng, ip, start_ms + int(span_ms * rng.uniform(0.28, 0.32)), span_ms)
    window = min(40 * _MINUTE, int(span_ms * 0.35))
    proxies = [alloc.proxy() for _ in range(12)]
    stuffed, compromised = _stuff(rng, city, proxies, start_ms + int(span_ms * 0.55), window)
    hits += stuffed
    hits.sort(key=lambda h: h.ms)
    return Campaign(hits, SCENARIO, TITLE, compromised, ["scanner", "sqli", "credential-stuffing"])


def _scan(rng: Random, ip: str, t: int) -> list[Hit]:
    """Nikto, then a gobuster directory brute force: bursts of 404s and 403s."""
    v = Visit(rng, t, ip, Agent(attacks.NIKTO.format(test=0), "nikto"), SCAN)
    probes = [("GET", p) for p in attacks.SCAN_PATHS]
    probes += [("GET", f"/{token(rng, 6)}{rng.choice(attacks.SCAN_EXTENSIONS)}") for _ in range(24)]
    probes += [("OPTIONS", "/"), ("TRACE", "/"), ("PROPFIND", "/"), ("HEAD", "/")]
    rng.shuffle(probes)
    probes.insert(0, ("GET", "/"))
    for test, (method, path) in enumerate(probes, 1):
        ua = attacks.SHELLSHOCK if path == "/cgi-bin/status" else attacks.NIKTO.format(test=test)
        v.agent = Agent(ua, "nikto")
        status, size = _scan_answer(method, path)
        v.send(method, path, status, size, "any", referer="")
        v.t += between(rng, 10, 160)
    v.wait(60, 180)
    v.agent = Agent(attacks.GOBUSTER, "curl")
    for word in attacks.WORDLIST:
        status, size = _scan_answer("GET", f"/{word}")
        v.send("GET", f"/{word}", status, size, "any", referer="")
        v.t += between(rng, 0, 60)
    return v.hits


def _scan_answer(method: str, path: str) -> tuple[int, int]:
    if method in ("OPTIONS", "TRACE", "PROPFIND"):
        return 405, 157
    if method == "HEAD":
        return 200, 0
    if path in ("/", "/robots.txt", "/sitemap.xml", "/.well-known/security.txt"):
        return 200, SIZE.get(path, SIZE["/"] if path == "/" else 410)
    if path.startswith("/.") or "/." in path or path.startswith(("/server-", "/nginx_status")):
        return 403, 153  # nginx denies dot-files and status pages
    if path in ("/admin", "/account", "/tax"):
        return 302, SIZE["redirect"]
    if path in ("/login", "/password/reset"):
        return 200, SIZE.get(path, SIZE["/login"])
    if path.endswith((".php", ".asp", ".aspx", ".jsp", ".cfm", ".pl", ".cgi", ".axd")):
        return 404, 153  # nginx's own 404 for script extensions it does not pass on
    return 404, SIZE["/404"]


def _sqli(rng: Random, ip: str, t: int, span_ms: int) -> list[Hit]:
    """A throw-away login, then sqlmap on the incident search and on the tax form."""
    v = Visit(rng, t, ip, agents.browser(rng, mobile=False, lang="en-US,en;q=0.9"), SQLI)
    v.page("/login", SIZE["/login"])
    v.think(8.0)
    own = [("username", "mark.test2026"), ("password", "Qwerty123!")]
    v.post("/login", own, 302, SIZE["redirect"])
    v.relogin()
    v.page("/traffic/incidents?district=3&page=1", SIZE["/traffic/incidents"])
    v.think(40.0)
    cookie = v.cookie
    v.agent, v.here = Agent(attacks.SQLMAP, "sqlmap"), ""
    _sqlmap_incidents(v, span_ms)
    v.agent, v.cookie = Agent(rng.choice(agents.DESKTOP), "sqlmap"), cookie  # --random-agent
    _sqlmap_tax(v)
    return v.hits


def _sqlmap_incidents(v: Visit, span_ms: int) -> None:
    """The ``district`` parameter: detection, column count, then the database read out."""
    rng = v.rng
    normal = SIZE["/traffic/incidents"]
    answers = {"err": (500, 2_114), "false": (200, 6_020)}

    def probe(text: str, status: int, size: int) -> None:
        v.send(
            "GET", f"/traffic/incidents?district={quote(text, safe='')}&page=1", status, size, "any"
        )

    for _ in range(2):  # sqlmap's stability check: the page twice, unchanged
        probe("3", 200, normal)
    for payload, outcome in attacks.SQLI_PROBES:
        r, r2 = between(rng, 1000, 9999), between(rng, 1000, 9999)
        if outcome == "sleep":
            v.t += 5000
        probe(payload.format(v=3, r=r, r2=r2), *answers.get(outcome, (200, normal)))
        v.t += between(rng, 50, 400)
    for n in range(1, 12):  # UNION column count, then the right one
        ok = n == attacks.SQLI_COLUMNS
        text = f"3 UNION ALL SELECT {','.join(['NULL'] * n)}-- -"
        probe(text, 200 if ok else 500, normal + 350 if ok else 2_114)
        v.t += between(rng, 50, 300)
    v.t += min(3 * _MINUTE, span_ms // 40)
    for template in attacks.SQLI_DUMP:  # the attacker reads the database out, row by row
        for n in range(between(rng, 6, 14)):
            probe(template.format(v=3, n=n), 200, normal + between(rng, 200, 600))
            v.t += between(rng, 80, 500)
        v.t += between(rng, 20_000, 90_000)


def _sqlmap_tax(v: Visit) -> None:
    """The tax form's ``amount``: validated as a decimal, so every injection gets a 422."""
    rng = v.rng
    amount = "1250.00"
    for payload in ("{v}", "{v}", *attacks.SQLI_AMOUNT):
        text = payload.format(v=amount, r=between(rng, 1000, 9999))
        fields = [
            ("year", "2025"),
            ("amount", text),
            ("iban", "HR17 2390 0011 1003 2847 6"),
            ("full_name", "Mark Test"),
            ("note", ""),
        ]
        if text == amount:
            v.post("/tax/file", fields, 303, SIZE["redirect"])
        else:
            v.post("/tax/file", fields, 422, vary(rng, SIZE["/tax/file"]))
        v.t += between(rng, 100, 900)


def _leaked_password(rng: Random, real: str) -> str:
    while True:
        old = rng.choice(PASSWORD_WORDS).capitalize() + str(between(rng, 1, 2020))
        if old != real:
            return old


def _stuff(
    rng: Random, city: City, ips: list[str], t0: int, window: int
) -> tuple[list[Hit], list[str]]:
    """Credential stuffing through proxies; returns the hits and the accounts taken over."""
    counts = [between(rng, 20, 61) for _ in ips]
    total = sum(counts)
    residents = city.residents
    known: list[Resident] = rng.sample(residents, min(len(residents) - 1, total // 4))
    winners = {r.id for r in known[:2]}
    taken: set[str] = {r.email for r in residents} | {r.username for r in residents}
    combos: list[tuple[str, str, Resident | None]] = []
    for r in known:
        leaked = r.password if r.id in winners else _leaked_password(rng, r.password)
        combos.append((r.email, leaked, r))
    while len(combos) < total:
        culture = rng.choice(CULTURES)
        given, family = handle(rng.choice(culture.given)), handle(rng.choice(culture.family))
        user = f"{given}.{family}{between(rng, 1, 99)}"
        email = f"{user}@{rng.choice(MAIL_DOMAINS)}"
        if email not in taken:
            taken.add(email)
            combos.append((email, _leaked_password(rng, ""), None))
    rng.shuffle(combos)
    hits: list[Hit] = []
    compromised: list[str] = []
    for ip, count in zip(ips, counts, strict=True):
        mine, combos = combos[:count], combos[count:]
        mode = rng.choice(("web", "web", "api", "mixed"))
        begin = t0 + between(rng, 0, window // 4)
        end = t0 + window - between(rng, 0, window // 4)
        times = sorted(between(rng, begin, end) for _ in mine)
        for when, (user, password, owner) in zip(times, mine, strict=True):
            api = mode == "api" or (mode == "mixed" and rng.random() < 0.5)
            ok = owner is not None and owner.password == password
            v = Visit(rng, when, ip, _stuffer_agent(rng, api), STUFF)
            if api:
                creds: dict[str, object] = {"username": user, "password": password}
                status, size = (200, vary(rng, 712)) if ok else (401, 96)
                v.api("POST", "/api/v1/auth/login", status, size, creds)
            else:
                if rng.random() < 0.3:  # refresh the session cookie now and then
                    v.send("GET", "/login", 200, vary(rng, SIZE["/login"]), "html", referer="")
                    v.cookie = f"aldsid={token(rng)}"
                form = [("username", user), ("password", password)]
                status, size = (
                    (302, SIZE["redirect"]) if ok else (401, vary(rng, SIZE["/login-failed"]))
                )
                v.post("/login", form, status, size)
            if ok and owner is not None:
                compromised.append(user)
                _take_over(v, owner, api)
            hits += v.hits
    return hits, compromised


def _stuffer_agent(rng: Random, api: bool) -> Agent:
    if api:  # an outdated build of the app, forged; no Accept-Language
        return Agent(_FORGED_APP, "app")
    return Agent(rng.choice(agents.DESKTOP + agents.MOBILE), "script")


def _take_over(v: Visit, owner: Resident, api: bool) -> None:
    """What the attacker does with a stolen account: look for money and personal data."""
    rng = v.rng
    if api:
        v.auth = token(rng, 32)
        for path, size in (
            ("/api/v1/me", 1_240),
            ("/api/v1/tax/returns", 2_210),
            ("/api/v1/documents", 1_930),
        ):
            v.wait(1, 4)
            v.api("GET", path, 200, vary(rng, size))
        return
    v.relogin()
    for path, size in (
        ("/account", SIZE["/account"]),
        ("/tax", SIZE["/tax"]),
        (f"/tax/returns/2024-{owner.id:06d}", SIZE["/tax/return"]),
        ("/address", SIZE["/address"]),
    ):
        v.wait(1, 5)
        v.send("GET", path, 200, vary(rng, size), "html")
