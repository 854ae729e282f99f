"""Benign portal traffic: who visits when, from where, and what they do.

:class:`Portal` turns one visit's start time into the requests of that visit.
Residents browse anonymously, or log in (about one in twenty mistypes the
password once or twice first) to run errands; app users call the JSON API.
Students and library patrons share a NAT address with many others, and phones
share their carriers' NAT addresses. Crawlers, feed readers and an uptime
monitor make the background.
"""

from __future__ import annotations

from random import Random

from citywatch.simulate import agents, clients
from citywatch.simulate.city import City, Resident
from citywatch.simulate.errands import ERRANDS, incidents_uri
from citywatch.simulate.net import CRAWLER_NETS, FEED_NETS, Allocator
from citywatch.simulate.rand import between, pick
from citywatch.simulate.records import Agent, Hit
from citywatch.simulate.site import EXTERNAL_REFERERS, NEWS, SIZE, STALE
from citywatch.simulate.visit import Visit, vary


def _crawler_net(agent: Agent) -> str:
    if "bing" in agent.ua:
        return CRAWLER_NETS["bing"]
    return CRAWLER_NETS["google" if "Google" in agent.ua else "other"]


class Portal:
    """Generates the benign visits to Aldmere's portal."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city = city
        self.rng = rng
        alloc = Allocator(rng)
        self.crawlers = [(a, alloc.within(_crawler_net(a))) for a in agents.CRAWLERS]
        self.feeds = [(a, alloc.within(FEED_NETS[i % 3])) for i, a in enumerate(agents.FEEDS)]
        self.monitor_ip = alloc.within(FEED_NETS[0])
        self.districts = [d.id for d in city.districts]
        self.site_ips = {s.id: s.ip for s in city.sites}

    def resident_visit(self, t: int) -> list[Hit]:
        """A resident's visit starting at ``t`` (epoch ms)."""
        rng = self.rng
        r = pick(rng, self.city.residents)
        ip = self._ip(r)
        if r.device == "app" and rng.random() < 0.8:
            v = Visit(rng, t, ip, r.agent)
            clients.app(v, r, self.districts)
            return v.hits
        agent = r.agent if r.device != "app" else agents.browser(rng, True, r.agent.lang)
        consent = "consent=necessary" if rng.random() < 0.5 else ""
        v = Visit(rng, t, ip, agent, cookie=consent, cached=rng.random() < 0.55)
        roll = rng.random()
        if roll < 0.48:
            self.account(v, r)
        elif roll < 0.95:
            self.browse(v)
        else:
            self.stale(v)
        return v.hits

    def background_visit(self, t: int) -> list[Hit]:
        """A crawler, feed reader or monitor request starting at ``t``."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            agent, ip = self.crawlers[0] if rng.random() < 0.5 else pick(rng, self.crawlers)
            v = Visit(rng, t, ip, agent)
            clients.crawl(v, self.districts)
        elif roll < 0.8:
            agent, ip = pick(rng, self.feeds)
            v = Visit(rng, t, ip, agent)
            clients.poll_feed(v)
        else:
            v = Visit(rng, t, self.monitor_ip, agents.MONITOR)
            clients.monitor(v)
        return v.hits

    def _ip(self, r: Resident) -> str:
        rng = self.rng
        if r.site is not None and rng.random() < 0.7:
            return self.site_ips[r.site]
        if r.device != "desktop" and rng.random() < 0.45:
            return pick(rng, self.city.mobile_pool)
        return r.ip

    def _entry(self, v: Visit, path: str, size: int) -> None:
        rng = self.rng
        v.page(path, size, referer=pick(rng, EXTERNAL_REFERERS) if rng.random() < 0.45 else "")

    def browse(self, v: Visit, pages: int | None = None) -> None:
        """An anonymous look at alerts, traffic and news."""
        rng = self.rng
        incidents = incidents_uri(rng, self.districts)
        start = pick(rng, ("/", "/", "/alerts", "/traffic", pick(rng, NEWS), incidents))
        self._entry(v, start, SIZE.get(start.split("?")[0], SIZE["/news"]))
        for _ in range(between(rng, 0, 5) if pages is None else pages):
            v.think(12.0)
            roll = rng.random()
            if roll < 0.4:
                v.page(incidents_uri(rng, self.districts), SIZE["/traffic/incidents"])
            elif roll < 0.55:
                v.page("/traffic/cameras", SIZE["/traffic/cameras"])
            elif roll < 0.75:
                v.page("/alerts", SIZE["/alerts"])
            elif roll < 0.8:
                v.send(
                    "GET", "/alerts/feed.atom", 200, vary(rng, SIZE["/alerts/feed.atom"]), "atom"
                )
            else:
                v.page(pick(rng, NEWS), SIZE["/news"])

    def stale(self, v: Visit) -> None:
        """A visitor follows an old link, lands on a 404, and sometimes carries on."""
        rng = self.rng
        v.page(pick(rng, STALE), SIZE["/404"], 404, referer=pick(rng, EXTERNAL_REFERERS))
        if rng.random() < 0.6:
            v.think(6.0)
            v.page("/", SIZE["/"])
            self.browse(v, pages=between(rng, 0, 3))

    def login(self, v: Visit, r: Resident) -> None:
        """The web login form, with the odd typo first."""
        rng = self.rng
        v.page("/login", SIZE["/login"])
        user = r.username if rng.random() < 0.7 else r.email
        roll = rng.random()
        fails = 0 if roll > 0.05 else (1 if roll > 0.015 else 2)
        for _ in range(fails):
            v.think(9.0)
            wrong = [("username", user), ("password", clients.typo(v, r.password))]
            v.post("/login", wrong, 401, vary(rng, SIZE["/login-failed"]))
        v.think(9.0)
        v.post("/login", [("username", user), ("password", r.password)], 302, SIZE["redirect"])
        v.relogin()
        v.page("/account", SIZE["/account"])

    def account(self, v: Visit, r: Resident) -> None:
        """Log in, run one to three errands, maybe log out."""
        rng = self.rng
        self._entry(v, "/", SIZE["/"])
        v.think(5.0)
        self.login(v, r)
        for _ in range(between(rng, 1, 4)):
            v.think(15.0)
            ERRANDS.draw(rng)(v, r, self.city)
        if rng.random() < 0.4:
            v.think(10.0)
            v.send("GET", "/logout", 302, SIZE["redirect"])
            v.relogin()
            v.page("/", SIZE["/"])
