"""A client's visit to the portal: its clock, address, cookies, and the requests it makes.

Sessions (benign and malicious) are written as short scripts against a
:class:`Visit`: ``page()`` for an HTML page with its assets, ``post()`` for a
form, ``api()`` for a JSON call, ``think()`` for the human pause between them.
"""

from __future__ import annotations

import base64
import math
import uuid
from random import Random
from statistics import NormalDist
from typing import Final

from citywatch.simulate.rand import between, pick
from citywatch.simulate.records import BENIGN, ORIGIN, Agent, Body, Hit, Label
from citywatch.simulate.site import ASSETS, HERO_IMAGES

_QUANTILES: Final = 1024
# exp(0.6 Z) at the mid-quantiles of a standard normal Z: a log-normal draw from one uniform.
_LOGNORMAL: Final = tuple(
    math.exp(0.6 * NormalDist().inv_cdf((i + 0.5) / _QUANTILES)) for i in range(_QUANTILES)
)
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json; charset=utf-8"


def token(rng: Random, nbytes: int = 16) -> str:
    """A random URL-safe token, like a session id."""
    raw = rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def vary(rng: Random, size: int) -> int:
    """A response size near ``size``: pages differ a little by content."""
    return int(size * (0.94 + 0.12 * rng.random()))


class Visit:
    """One client's visit; appends a :class:`Hit` per request to ``hits``."""

    __slots__ = ("agent", "auth", "cached", "cookie", "here", "hits", "ip", "label", "rng", "t")

    def __init__(
        self,
        rng: Random,
        t: int,
        ip: str,
        agent: Agent,
        label: Label = BENIGN,
        *,
        cookie: str = "",
        cached: bool = False,
    ) -> None:
        self.rng = rng
        self.t = t
        self.ip = ip
        self.agent = agent
        self.label = label
        self.cookie = cookie
        self.auth = ""
        self.here = ""  # the page the client is on: the Referer of its next request
        self.cached = cached
        self.hits: list[Hit] = []

    def think(self, median_s: float) -> None:
        """A human pause: log-normal around ``median_s``, at most ten minutes."""
        pause = median_s * _LOGNORMAL[int(self.rng.random() * _QUANTILES)]
        self.t += int(1000 * min(pause, 600.0))

    def wait(self, low_s: float, high_s: float) -> None:
        self.t += int(1000 * self.rng.uniform(low_s, high_s))

    def send(
        self,
        method: str,
        uri: str,
        status: int,
        size: int,
        kind: str = "html",
        *,
        body: Body = "",
        ctype: str = "",
        referer: str | None = None,
    ) -> Hit:
        """Record one request; the clock moves on by the response time."""
        hit = Hit(
            self.t,
            self.ip,
            self.agent,
            method,
            uri,
            status,
            size,
            kind,
            self.here if referer is None else referer,
            self.cookie,
            self.auth,
            body,
            ctype,
            self.label,
        )
        self.hits.append(hit)
        self.t += 25 + int(self.rng.random() * 195)  # the response time
        return hit

    def page(self, path: str, size: int, status: int = 200, *, referer: str | None = None) -> None:
        """GET an HTML page, then the assets a first view needs."""
        rng = self.rng
        self.send("GET", path, status, vary(rng, size) if status == 200 else size, referer=referer)
        if "aldsid=" not in self.cookie:  # the portal sets a session cookie on first contact
            sid = f"aldsid={token(rng)}"
            self.cookie = f"{self.cookie}; {sid}" if self.cookie else sid
        here = ORIGIN + path
        if status == 200 and not self.cached:
            self.cached = True
            self._assets(here)
            if path == "/":
                self.send(
                    "GET",
                    pick(rng, HERO_IMAGES),
                    200,
                    between(rng, 90_000, 240_000),
                    "img",
                    referer=here,
                )
            if "consent=" not in self.cookie and rng.random() < 0.85:
                self.cookie = f"consent=necessary; {self.cookie}"
        self.here = here

    def _assets(self, here: str) -> None:
        """The stylesheets, scripts, fonts and icons of a first view, fetched in parallel."""
        rand, hits = self.rng.random, self.hits
        t, ip, agent, cookie, label = self.t, self.ip, self.agent, self.cookie, self.label
        for path, kind, size in ASSETS:
            t += 5 + int(rand() * 85)
            hits.append(Hit(t, ip, agent, "GET", path, 200, size, kind, here, cookie, label=label))
        self.t = t + 25 + int(rand() * 195)

    def post(self, path: str, fields: list[tuple[str, str]], status: int, size: int) -> None:
        """Submit a web form."""
        self.send("POST", path, status, size, body=tuple(fields), ctype=FORM)

    def api(
        self,
        method: str,
        path: str,
        status: int,
        size: int,
        payload: dict[str, object] | None = None,
    ) -> None:
        """A JSON call of the mobile app (no Referer, bearer token when logged in)."""
        body: Body = "" if payload is None else payload
        self.send(
            method, path, status, size, "json", body=body, ctype=JSON if body else "", referer=""
        )

    def relogin(self) -> None:
        """The portal issues a fresh session id after a successful login."""
        sid = f"aldsid={token(self.rng)}"
        kept = [c for c in self.cookie.split("; ") if c and not c.startswith("aldsid=")]
        self.cookie = "; ".join([*kept, sid])
