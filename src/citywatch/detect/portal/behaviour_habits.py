"""Browser habits: what a request carries, and what the portal's browsers usually carry.

A person's browser keeps the cookie the portal set, sends a Referer for a
page's assets and links within the portal, an Accept-Language on every
request, and fetches the page's assets; a flooding tool does none of these, or
not all. :func:`habits_of` says which a request shows; :class:`Habits` are
the shares the portal's own browser traffic usually shows, learned outside
floods (:func:`learn`), which :mod:`.behaviour_crowd` compares a flood's with.
:func:`person_of` tells one person's requests behind an address from another's.
"""

from __future__ import annotations

import functools
import zlib
from typing import Final

import msgspec

from citywatch.detect.portal.crawlers import search_crawler
from citywatch.model import HttpRequest

BROWSER, COOKIE, REFERER, LANGUAGE, ASSET = 1, 2, 4, 8, 16
"""What a request carries (:func:`habits_of`): it claims a web browser, and sends a cookie,
a Referer, an Accept-Language, or asks for a page's asset (a script, a style sheet, an image,
a font)."""
_ASSETS: Final = (
    ".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".ico",
    ".woff", ".woff2", ".ttf", ".map",
)  # fmt: skip
"""Ends of the paths of a page's assets, which a browser fetches with the page and a flooding
tool rarely does; the one browser habit an access log shows besides the Referer."""
SAMPLE: Final = 8
"""The usual habits are learned from one request in this many: they need a share, not every
request (on the simulated city's day, learning from each cost 29 % more of the behaviour
detector's time, one in eight 5 %)."""


def sampled(count: int, minute: int) -> bool:
    """Whether the ``count``-th request of a ``minute`` is one the usual habits learn from:
    one in :data:`SAMPLE`, counted on from minute to minute, so a quiet portal's minutes of
    fewer requests than that are sampled too (by its number within the minute alone, a portal
    of seven requests a minute learned nothing).

    >>> sum(sampled(c, m) for m in range(80) for c in range(1, 6))
    50
    """
    return (count + minute) % SAMPLE == 0


_HABITS_OF: Final = 2048
"""Sampled browser requests the first day's habits average over, before a day has settled
(a moving average of ~16,000 requests: hours of a city's traffic)."""
_DAY_SAMPLES: Final = 500
"""Sampled browser requests (~4,000 browser requests) a day needs to move the usual habits; a
quieter day's join the next one's."""
_DAY_STEP: Final = 0.1
"""How far one day may move the usual share of a habit, either way."""


class Habits(msgspec.Struct, kw_only=True, gc=False):
    """What the portal's browser requests usually carry: the shares with a cookie, a Referer
    and an Accept-Language, and for a page's asset, sampled outside floods.

    Over all browser requests, a visit's first among them (no session cookie yet, no
    Referer when typed or opened from a notification): lower than a person's repeat
    requests show, so a flood's repeats are compared with a bar that people clear.

    The usual shares are a baseline an attacker can feed: bots sending habit-less browser
    requests under the flood rates (150 a minute for two hours) dragged a moving average
    of a few hours below :data:`~.behaviour_crowd._USUAL`, the habits were no longer judged, and the
    botnet's flood after it passed for a crowd. So the usual shares move by days, not by
    requests: within a day they stand still while the day's samples are counted, and when
    the day ends (in event time, UTC; a day of fewer than :data:`_DAY_SAMPLES` joins the
    next) each moves towards the day's share by :data:`_DAY_STEP` at most. Bots then bend
    a habit's 80 % below the bar in four days at the fastest, the last of them as many
    bots as people all day long: no longer a baseline bent but the traffic changed. A
    genuine change (a redesign that stops setting the cookie, or inlines the assets) is
    followed at that pace, days not hours: a habit no longer shown is judged no more
    after two days from 67 %, four from 80 %, six at most. Until
    then it counts against people's floods; one habit is one sign (the cookie and the
    Referer one between them) and a botnet takes two, so only a change of two habits at
    once makes a crowd look like a botnet, until the first is followed.

    The first day has no settled day before it: its moving average (over
    :data:`_HABITS_OF` samples) is the usual until it ends, which bots feeding it could
    bend; the habits learned from trusted records (``--learn``, kept with
    :class:`~.behaviour_baseline.HourlyBaseline`) start the live ones settled instead.
    Not chosen: a baseline per hour of the day (the habits are people's browsers', much
    the same at any hour; each hour's would learn from a 24th of the samples, and bots
    feed the hour they will flood in as easily), nor learning each habit only from
    returning clients (a returning client is told by the cookie it keeps, one of the
    habits measured, whose share would be learned as nearly 1; and bots return as
    easily as they come).

    >>> habits = None
    >>> for day, flags in ((0, BROWSER | COOKIE), (1, BROWSER), (2, BROWSER), (3, BROWSER)):
    ...     for _ in range(1000):  # the portal stops setting its cookie on day 1
    ...         habits = learn(habits, flags, day)
    ...     print(day, habits.cookie)  # a day moves them when the next begins
    0 1.0
    1 1.0
    2 0.9
    3 0.8
    """

    seen: int = 0
    """Sampled browser requests (the warm-up: judged from
    :data:`~.behaviour_crowd._HABITS_WARM`)."""
    cookie: float = 0.0
    referer: float = 0.0
    language: float = 0.0
    asset: float = 0.0
    settled: bool = False
    """Whether a day has settled (else the first day's moving average is the usual)."""
    day: int = -1
    """The day (UTC, event time) being counted, and its samples: browser requests, and those
    with a cookie, a Referer, an Accept-Language, for an asset."""
    day_seen: int = 0
    day_cookie: int = 0
    day_referer: int = 0
    day_language: int = 0
    day_asset: int = 0


def learn(habits: Habits | None, flags: int, day: int) -> Habits | None:
    """Fold one sampled request's :func:`habits_of` on ``day`` (UTC, event time) into the
    usual habits (a browser's only; None: none seen yet); the habits."""
    if not flags & BROWSER:
        return habits
    if habits is None:
        habits = Habits(day=day)
    if day > habits.day:
        if habits.day_seen >= _DAY_SAMPLES:
            _settle(habits)
        habits.day = day
    habits.seen += 1
    habits.day_seen += 1
    cookie, referer = bool(flags & COOKIE), bool(flags & REFERER)
    language, asset = bool(flags & LANGUAGE), bool(flags & ASSET)
    habits.day_cookie += cookie
    habits.day_referer += referer
    habits.day_language += language
    habits.day_asset += asset
    if not habits.settled:
        weight = 1.0 / min(habits.seen, _HABITS_OF)
        habits.cookie += (cookie - habits.cookie) * weight
        habits.referer += (referer - habits.referer) * weight
        habits.language += (language - habits.language) * weight
        habits.asset += (asset - habits.asset) * weight
    return habits


def trusted(habits: Habits | None) -> Habits | None:
    """A copy of ``habits`` learned from trusted records (``--learn``) with their last day
    settled, to start the live ones from (None: none learned, or too few to go by). A last
    day of fewer than :data:`_DAY_SAMPLES` (the records ended past midnight) joins the first
    live day, as a quiet day joins the next: its few requests do not move a habit alone."""
    if habits is None or habits.seen < _DAY_SAMPLES:
        return None
    habits = msgspec.structs.replace(habits)
    if not habits.settled or habits.day_seen >= _DAY_SAMPLES:
        _settle(habits)
    return habits


def _settle(habits: Habits) -> None:
    """End the day being counted: its shares move the usual ones by :data:`_DAY_STEP` at most
    (the first day's, counted into the usual as they came, move nothing more)."""
    if habits.settled and (n := habits.day_seen):
        habits.cookie = _step(habits.cookie, habits.day_cookie / n)
        habits.referer = _step(habits.referer, habits.day_referer / n)
        habits.language = _step(habits.language, habits.day_language / n)
        habits.asset = _step(habits.asset, habits.day_asset / n)
    habits.settled = True
    habits.day_seen = habits.day_cookie = habits.day_referer = 0
    habits.day_language = habits.day_asset = 0


def _step(usual: float, day: float) -> float:
    return usual + max(-_DAY_STEP, min(_DAY_STEP, day - usual))


def habits_of(request: HttpRequest) -> int:
    """:data:`BROWSER` and what the request carries, when its user agent claims a browser (0
    otherwise: the app, crawlers, feed readers and tools owe no browser's habits).

    >>> ua = "Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0"
    >>> habits_of(HttpRequest(method="GET", uri="/", user_agent=ua,
    ...     headers=(("User-Agent", ua), ("accept-language", "hr-HR,hr;q=0.9"))))
    9
    >>> habits_of(HttpRequest(method="GET", uri="/", user_agent="okhttp/4.12.0"))
    0
    """
    if not claims_browser(request.user_agent or ""):
        return 0
    flags = BROWSER | (REFERER if request.referrer else 0)
    path = request.uri.partition("?")[0]
    if path[-8:].lower().endswith(_ASSETS):
        flags |= ASSET
    for name, value in request.headers:
        size = len(name)
        if size == 6 and value and name.lower() == "cookie":
            flags |= COOKIE
        elif size == 15 and value and name.lower() == "accept-language":
            flags |= LANGUAGE
    return flags


def person_of(request: HttpRequest) -> int:
    """A hash of what tells one person's requests behind an address from another's: the
    browser's cookies or the app's credentials as sent (0 with neither). Many people share an
    address behind a mobile carrier's NAT; each keeps a session of its own.

    Basic credentials are no session: they carry the password, and a short unkeyed hash of
    them (kept in a checkpoint) would confirm a guessed one.

    >>> a = HttpRequest(method="GET", uri="/", headers=(("Authorization", "Bearer t1"),))
    >>> b = HttpRequest(method="GET", uri="/", headers=(("Cookie", "sid=t2"),))
    >>> person_of(a) != person_of(b) != 0, person_of(HttpRequest(method="GET", uri="/"))
    (True, 0)
    >>> person_of(HttpRequest(method="GET", uri="/",
    ...     headers=(("Authorization", "basic YW5hOmxvemlua2Ex"),)))
    0
    """
    for name, value in request.headers:
        size = len(name)
        if not value:
            continue
        if size == 6 and name.lower() == "cookie":
            return zlib.crc32(value.encode("utf-8", "surrogatepass")) or 1
        if size == 13 and name.lower() == "authorization" and value[:6].lower() != "basic ":
            return zlib.crc32(value.encode("utf-8", "surrogatepass")) or 1
    return 0


@functools.lru_cache(maxsize=4096)
def claims_browser(agent: str) -> bool:
    """Whether a user agent names a web browser (``Mozilla/5.0 (...``), not a crawler or a
    tool that says it is "compatible".

    >>> claims_browser("Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) Safari/604.1")
    True
    >>> claims_browser("Mozilla/5.0 (compatible; bingbot/2.0)"), claims_browser("curl/8.5")
    (False, False)
    """
    return (
        agent.startswith("Mozilla/5.0 (")
        and "compatible" not in agent
        and search_crawler(agent) is None
    )
