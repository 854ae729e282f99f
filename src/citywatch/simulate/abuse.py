"""The ``portal-abuse`` scenario: abuse that no single request shows.

Five actors, each from its own address, each legal-looking request by request:

- ``guesser`` brute-forces one resident's password from a rented server, about
  a hundred guesses in two minutes (T1110.001);
- ``sprayer`` tries two common passwords on each of forty accounts, low
  and slow, one attempt every few minutes over hours (T1110.003);
- ``scraper`` logs in with its own account, then walks other residents' tax
  returns one record number after the other, denied each time (IDOR, T1190);
- ``flooder`` sends the traffic-incident search a thousand times a minute
  for three minutes (T1499.002);
- ``mover`` files forty address changes in an hour from one session and one
  script, for accounts it controls (mass business actions).
"""

from __future__ import annotations

from random import Random
from typing import Final

from citywatch.simulate import agents
from citywatch.simulate.campaign import Campaign
from citywatch.simulate.city import City
from citywatch.simulate.net import Allocator
from citywatch.simulate.rand import between, pick
from citywatch.simulate.records import Agent, Hit, Label
from citywatch.simulate.site import SIZE
from citywatch.simulate.visit import Visit, token, vary

SCENARIO: Final = "portal-abuse"
TITLE: Final = (
    "Abuse of the citizen portal: password guessing and spraying, record enumeration, "
    "a request flood, mass address changes"
)
BRUTE: Final = Label("malicious", SCENARIO, "brute-force", "guesser")
SPRAY: Final = Label("malicious", SCENARIO, "password-spraying", "sprayer")
IDOR: Final = Label("malicious", SCENARIO, "record-enumeration", "scraper")
FLOOD: Final = Label("malicious", SCENARIO, "request-flood", "flooder")
MASS: Final = Label("malicious", SCENARIO, "mass-action", "mover")
TECHNIQUES: Final = tuple(label.technique or "" for label in (BRUTE, SPRAY, IDOR, FLOOD, MASS))
_PYTHON: Final = Agent("python-requests/2.32.3", "script")
_GO: Final = Agent("Go-http-client/1.1", "script")
_HYDRA: Final = Agent("Mozilla/5.0 (Hydra)", "script")
_GUESSES: Final = (
    "123456", "password", "qwerty", "111111", "iloveyou", "dragon", "monkey", "letmein",
    "football", "sunshine", "princess", "welcome", "shadow", "master", "hello123", "freedom",
    "whatever", "trustno1", "baseball", "superman", "michael", "jennifer", "hunter2", "starwars",
)  # fmt: skip
_SPRAYED: Final = ("Aldmere2026!", "Spring2026")
_MINUTE: Final = 60_000
_HOUR: Final = 60 * _MINUTE


def build_abuse(city: City, rng: Random, start_ms: int, span_ms: int) -> Campaign:
    """The scenario placed inside ``[start_ms, start_ms + span_ms)``."""
    alloc = Allocator(rng)

    def at(low: float, high: float) -> int:
        return start_ms + int(span_ms * rng.uniform(low, high))

    hits = _brute(rng, city, alloc.hosting(), at(0.18, 0.22))
    hits += _spray(rng, city, alloc.hosting(), at(0.04, 0.06), min(5 * _HOUR, span_ms * 4 // 5))
    hits += _enumerate(rng, city, alloc.home(), at(0.40, 0.44))
    hits += _flood(rng, city, alloc.hosting(), at(0.45, 0.48))
    hits += _mass_moves(rng, city, alloc.proxy(), at(0.74, 0.78), min(_HOUR, span_ms // 5))
    hits.sort(key=lambda h: h.ms)
    return Campaign(hits, SCENARIO, TITLE, [], list(TECHNIQUES))


def _brute(rng: Random, city: City, ip: str, t: int) -> list[Hit]:
    """About a hundred guesses at one account's password, one every second or two."""
    target = pick(rng, city.residents)
    v = Visit(rng, t, ip, _HYDRA, BRUTE)
    guesses = [f"{word}{suffix}" for suffix in ("", "1", "!", "2026") for word in _GUESSES]
    for guess in guesses:
        form = [("username", target.username), ("password", guess)]
        v.post("/login", form, 401, vary(rng, SIZE["/login-failed"]))
        v.wait(0.5, 2.0)
    return v.hits


def _spray(rng: Random, city: City, ip: str, t: int, span_ms: int) -> list[Hit]:
    """Two common passwords on each of forty accounts, spread evenly over ``span_ms``."""
    accounts = [r.username for r in rng.sample(city.residents, min(40, len(city.residents)))]
    attempts = [(user, password) for password in _SPRAYED for user in accounts]
    gap = span_ms // len(attempts)
    v = Visit(rng, t, ip, Agent(pick(rng, agents.DESKTOP), "script"), SPRAY)
    for i, (user, password) in enumerate(attempts):
        v.t = t + i * gap + between(rng, 0, gap // 4)
        form = [("username", user), ("password", password)]
        v.post("/login", form, 401, vary(rng, SIZE["/login-failed"]))
    return v.hits


def _enumerate(rng: Random, city: City, ip: str, t: int) -> list[Hit]:
    """Its own login in a browser, then a script with the session walks the record numbers
    after its own, one after the other; the portal denies every one that is not its own."""
    me = pick(rng, city.residents)
    v = Visit(rng, t, ip, me.agent, IDOR)
    v.page("/login", SIZE["/login"])
    v.think(10.0)
    v.post("/login", [("username", me.username), ("password", me.password)], 302, SIZE["redirect"])
    v.relogin()
    v.page(f"/tax/returns/2025-{me.id:06d}", SIZE["/tax/return"])
    v.agent, v.here = _PYTHON, ""
    for record in range(me.id + 1, me.id + 1 + between(rng, 120, 160)):
        v.send("GET", f"/tax/returns/2025-{record:06d}", 403, 153, "any", referer="")
        v.wait(1.0, 4.0)
    return v.hits


def _flood(rng: Random, city: City, ip: str, t: int) -> list[Hit]:
    """About a thousand searches a minute for three minutes; the portal slows, then sheds."""
    v = Visit(rng, t, ip, _GO, FLOOD)
    when, shed, end = t, t + 2 * _MINUTE, t + 3 * _MINUTE
    while when < end:
        v.t = when  # many connections at once: the next starts before this one is answered
        status, size = (503, 197) if when > shed else (200, SIZE["/traffic/incidents"])
        district = pick(rng, city.districts).id
        v.send("GET", f"/traffic/incidents?district={district}&page=1", status, size, "any")
        when += between(rng, 30, 90)
    return v.hits


def _mass_moves(rng: Random, city: City, ip: str, t: int, span_ms: int) -> list[Hit]:
    """Forty address changes from one session and one script, to addresses it controls."""
    v = Visit(rng, t, ip, _PYTHON, MASS, cookie=f"aldsid={token(rng)}")
    count = 40
    for i in range(count):
        v.t = t + i * span_ms // count + between(rng, 0, span_ms // (4 * count))
        district = pick(rng, city.districts)
        fields = [
            ("street", "Industrijska"),
            ("number", str(between(rng, 2, 9))),
            ("postcode", district.postcode),
            ("city", city.name),
            ("district", str(district.id)),
            ("moved_on", "2026-03-01"),
        ]
        v.post("/address/change", fields, 303, SIZE["redirect"])
    return v.hits
