"""Clients that are not a person at a browser: the mobile app, crawlers, feed readers, a monitor."""

from __future__ import annotations

from collections.abc import Sequence

from citywatch.simulate.city import Resident
from citywatch.simulate.errands import incidents_uri
from citywatch.simulate.rand import between, pick
from citywatch.simulate.site import (
    API_GETS,
    COMPLAINT_CATEGORIES,
    COMPLAINTS,
    NEWS,
    PUBLIC,
    SIZE,
    STALE,
)
from citywatch.simulate.visit import Visit, token, vary


def typo(v: Visit, password: str) -> str:
    """``password`` as a hurried finger types it."""
    rng = v.rng
    i = between(rng, 0, len(password))
    roll = rng.random()
    if roll < 0.4:
        return password[:i] + password[i + 1 :]
    if roll < 0.7:
        return password.swapcase()
    return password[:i] + pick(rng, "qwertyuiop1234") + password[i:]


def app(v: Visit, r: Resident, districts: Sequence[int]) -> None:
    """The Aldmere City app: config, maybe a login, a few API calls."""
    rng = v.rng
    platform = "android" if "Android" in v.agent.ua else "ios"
    v.auth = token(rng, 32)  # still logged in from last time
    v.api("GET", f"/api/v1/config?platform={platform}", 200, vary(rng, 1_480))
    if rng.random() < 0.3:
        v.auth = ""
        v.think(6.0)
        user = r.username if rng.random() < 0.6 else r.email
        if rng.random() < 0.05:
            wrong: dict[str, object] = {"username": user, "password": typo(v, r.password)}
            v.api("POST", "/api/v1/auth/login", 401, 96, wrong)
            v.think(8.0)
        right: dict[str, object] = {"username": user, "password": r.password}
        v.api("POST", "/api/v1/auth/login", 200, vary(rng, 712), right)
        v.auth = token(rng, 32)
    for _ in range(between(rng, 1, 6)):
        v.think(8.0)
        roll = rng.random()
        if roll < 0.08:
            report: dict[str, object] = {
                "category": pick(rng, COMPLAINT_CATEGORIES),
                "district": r.district,
                "text": pick(rng, COMPLAINTS),
                "lat": r.lat,
                "lon": r.lon,
            }
            if rng.random() < 0.15:  # location permission denied: the app sends no place
                report |= {"lat": None, "lon": None}
            v.api("POST", "/api/v1/complaints", 201, 214, report)
        elif roll < 0.12:
            service = "fcm" if platform == "android" else "apns"
            push: dict[str, object] = {"platform": service, "token": token(rng, 48)}
            v.api("POST", "/api/v1/push/register", 204, 0, push)
        else:
            path, size = pick(rng, API_GETS)
            since, district = "2026-03-14T00:00:00%2B01:00", pick(rng, districts)
            v.api("GET", path.format(since=since, district=district), 200, vary(rng, size))


def crawl(v: Visit, districts: Sequence[int]) -> None:
    """A search-engine crawler: robots.txt, public pages, some dead links."""
    rng = v.rng
    if rng.random() < 0.3:
        v.send("GET", "/robots.txt", 200, SIZE["/robots.txt"], "any", referer="")
        v.wait(1, 4)
    if rng.random() < 0.15:
        v.send("GET", "/sitemap.xml", 200, SIZE["/sitemap.xml"], "any", referer="")
    for _ in range(between(rng, 1, 10)):
        v.wait(2, 30)
        roll = rng.random()
        if roll < 0.1:
            path, status, size = pick(rng, STALE), 404, SIZE["/404"]
        elif roll < 0.4:
            path, status, size = pick(rng, NEWS), 200, vary(rng, SIZE["/news"])
        elif roll < 0.6:
            path, status = incidents_uri(rng, districts), 200
            size = vary(rng, SIZE["/traffic/incidents"])
        else:
            path, status = pick(rng, PUBLIC), 200
            size = vary(rng, SIZE.get(path, SIZE["/news"]))
        v.send("GET", path, status, size, referer="")


def poll_feed(v: Visit) -> None:
    """A feed reader asks whether the alerts feed changed."""
    rng = v.rng
    if rng.random() < 0.3:
        v.send(
            "GET",
            "/alerts/feed.atom",
            200,
            vary(rng, SIZE["/alerts/feed.atom"]),
            "atom",
            referer="",
        )
    else:
        v.send("GET", "/alerts/feed.atom", 304, 0, "atom", referer="")


def monitor(v: Visit) -> None:
    """An uptime check of the home page."""
    rng = v.rng
    if rng.random() < 0.5:
        v.send("HEAD", "/", 200, 0, "any", referer="")
    else:
        v.send("GET", "/", 200, vary(rng, SIZE["/"]), "any", referer="")
