"""Crowd or DoS: what a portal-wide flood's requests say about who sends them.

A public alert pushed to the city's app, or the evening of the tax deadline,
brings thousands of people to the portal within minutes: the rate is a
flood's, but each client sends a human number of requests, the requests
spread over the usual pages, and nearly all are answered. A denial of
service shows the opposite signs: few sources sending most of it, many
sources hammering one endpoint, or the portal failing (5xx, 429) or
answering misses. The portal-wide flood keeps firing on the rate (capacity
matters either way) but says which it most likely is, from a :class:`Tally`
of its requests (bounded: the first sources as a set of hashes, all of them
as a k-minimum-values sketch, paths, the GETs' URLs and sources as
heavy-hitter counters, :mod:`.behaviour_heavy`).

>>> tally = Tally()
>>> for i in range(3000):
...     add(tally, f"client{i // 3}", ("/api/v1/alerts", "/api/v1/config", "/")[i % 3], 200)
>>> verdict(tally)
('crowd', [])
>>> bots = Tally()
>>> for i in range(3000):
...     add(bots, f"bot{i % 40}", "/search", 200)
>>> verdict(bots)
('dos', ['75 requests per client', 'one path takes 100 %'])

A public alert (CAP, a web push, the app's notification) sends people to one
page: thousands open it within minutes, and when its assets come from a CDN
the portal's log holds little else, one path nearly all of the flood. One
path taking most is a DoS sign only when the flood on it is not people opening
a page (:func:`one_page`): GETs of a few URLs (what a cache answers; an attack
busting caches varies the query, a login flood POSTs), by browsers (whose
habits then judge them, as any crowd's), a handful per client (hammering one
endpoint takes more), their answers known (a portal failing under them answers
5xx or 429, a DoS sign of its own).

>>> alert = Tally()
>>> for i in range(3000):
...     add(alert, f"phone{i // 2}", "/alerts/flood", 200, BROWSER | LANGUAGE, url="/alerts/flood")
>>> verdict(alert), one_page(alert)
(('crowd', []), '/alerts/flood')
>>> busting = Tally()
>>> for i in range(3000):
...     add(busting, f"bot{i // 2}", "/search", 200, BROWSER | LANGUAGE, url=f"/search?q={i}")
>>> verdict(busting)
('dos', ['one path takes 100 %'])

Accepted: a botnet sending from each address a handful of the same GET of one
page, claiming a browser and keeping its habits, passes for such a crowd. It
costs the portal least of any flood: one URL that a cache can answer, no
search run, no password hashed, no more from an address than a person sends;
to cost more it must vary the URL, POST or send more, each a sign. It is
still reported as a flood (capacity advised, DDoS protection once errors or
timeouts rise), and a portal failing under it answers 5xx or 429, a DoS sign
of its own. Judging it a DoS instead would advise rate-limiting the
residents who open an alert in an emergency, the worst of the two mistakes.

A botnet of thousands of addresses can send each a human handful of requests
over the usual pages, all answered: by those signs alone a crowd. What it
rarely does is behave like the browsers it names. A person's browser keeps
the cookie the portal set on its first answer and sends it back, sends a
Referer for a page's assets and for links within the portal, and an
Accept-Language on every request, and fetches the page's assets (scripts,
styles, images: what an access log shows besides the Referer); a flooding
tool does none of these, or not all. So the requests whose user agent claims a
web browser are also counted by what they carry (:func:`habits_of`), and
compared with what the portal's own browser traffic usually carries
(:class:`Habits`, learned outside floods): a header the log does not record,
or the portal's people do not send, proves nothing. Two such habits missing
from most of a flood of browsers make it a botnet imitating browsing (a
denial of service, T1498); one alone does not, nor do the cookie and the
Referer together, both judged on an address's repeats (behind a mobile
carrier's NAT those are other people's first requests, which have neither).

>>> usual = Habits(seen=5000, cookie=0.8, referer=0.85, language=0.99)
>>> botnet = Tally(usual=usual)
>>> for i in range(3000):
...     add(botnet, f"bot{i // 5}", ("/", "/alerts", "/traffic")[i % 3], 200, BROWSER)
>>> verdict(botnet)[0]
'botnet'
"""

from __future__ import annotations

import hashlib
import zlib
from bisect import bisect_left
from typing import Final

import msgspec

from citywatch.detect.portal import behaviour_heavy as heavy
from citywatch.detect.portal.behaviour_habits import (
    ASSET,
    BROWSER,
    COOKIE,
    LANGUAGE,
    REFERER,
    Habits,
    habits_of,
    person_of,
)
from citywatch.model import HttpRequest

SOURCES_CAP: Final = 16384
"""Distinct sources a tally knows exactly (whether a request is a source's repeat); past it,
their number is estimated (:data:`LEAST`)."""
LEAST: Final = 1024
"""Smallest source hashes a tally keeps (a k-minimum-values sketch) to estimate how many
sources sent its requests, however many: within about 3 % (1/sqrt(1022)), the sources' hashes
being CRC-32s of keyed pseudonyms, uniform (those of sequential names, as tests use, measured no
worse). Counting only the first :data:`SOURCES_CAP` sources' requests let a botnet fill them
with one request from each of 16,384 addresses, then flood from a few hundred others
uncounted: "1 request per client", a crowd. Now the addresses filled first are worth a
person's share each, no more."""
_COUNTERS: Final = 16
"""Heavy-hitter counters kept of a flood's paths and URLs (:mod:`.behaviour_heavy`)."""
SOURCE_COUNTERS: Final = 2048
"""Heavy-hitter counters kept of a flood's sources (:mod:`.behaviour_heavy`; a table holds
up to twice as many): a denial of service from up to 1,000 addresses has each counted short
by at most a thousandth of everyone else's requests (their number over 2,049 - 1,000), so each
that sent more than a person's share is named (:data:`PER_SOURCE`). With 64 Misra-Gries
counters, 300 equal bots each counted none, and the flood named no one to rate-limit. Past a
few thousand addresses, each sends too little for per-address limits to answer it: DDoS
protection does."""
_MIN_REQUESTS: Final = 200
"""Requests before a tally is judged at all."""
PER_SOURCE: Final = 40.0
"""Requests per client over a flood that people send (a page and its assets, a few pages)."""
_HEAVY_SHARE: Final = 0.1
_ONE_CLIENT: Final = 0.5
_PATH_SHARE: Final = 0.6
_ERROR_SHARE: Final = 0.1
_MISS_SHARE: Final = 0.2
_HANDFUL: Final = 8.0
"""Requests per client, at most, of people opening one page (:func:`one_page`): opened from
each channel an alert came by (the app, an SMS, a web push) and reloaded for news, a few
people behind a home router; a fifth of what browsing sends (:data:`PER_SOURCE`)."""
_ANSWERED: Final = 0.5
"""Share of a flood's requests whose answers must be known for it to be judged one page
opened by people: whether the portal keeps up (its 5xx, 429) is the guard against a botnet
passing for them."""

_HABITS_WARM: Final = 100
"""Sampled browser requests seen outside floods before their habits are trusted."""
_USUAL: Final = 0.5
"""A habit is judged only where the portal's browsers usually show it this often (the log
records the header, the portal sets the cookie, people's browsers send it)."""
_LACKING: Final = 0.5
"""A flood's browsers lack a habit when they show it less than half as often as usual."""
_BROWSERS: Final = 0.5
"""Share of a flood's requests that must claim a browser for their habits to judge it."""
_MIN_REPEATS: Final = 100
"""Repeat browser requests (from a source already counted) before cookies and Referers judge."""
_MISSING: Final = 2
"""Habits missing that make a flood of browsers a botnet."""
_PEOPLE_SHARE: Final = 0.8
"""Share of a flood's requests that must come in sessions of two requests or more (a cookie
or an app's token sent again) for those sessions, not addresses, to count its clients."""


class Tally(msgspec.Struct, kw_only=True, gc=False):
    """Who sent a flood's requests, on which paths, and how the portal answered."""

    requests: int = 0
    sources: set[int] = msgspec.field(default_factory=set)
    """The first :data:`SOURCES_CAP` sources' hashes (:func:`_source_hash`)."""
    counted: int = 0
    """Requests of the sources counted in ``least``: over their number (:func:`clients`), what
    a client sends, however many clients there are. All of them, but in a tally of a
    checkpoint from before ``least``, whose requests past the cap were not counted."""
    least: list[int] = msgspec.field(default_factory=list)
    """The :data:`LEAST` smallest source hashes seen, ascending (all of them while fewer)."""
    people: dict[int, int] = msgspec.field(default_factory=dict)
    """Requests per (source, :func:`person_of`) pair, for the first :data:`SOURCES_CAP` pairs:
    the sessions behind the addresses."""
    heavy: dict[str, int] = msgspec.field(default_factory=dict)
    """Heavy-hitter counters of the sources (:data:`SOURCE_COUNTERS`): lower bounds of their
    requests."""
    heaviest: int = 0
    """The highest of ``heavy``, kept beside it so that judging a flood (asked at each of its
    requests) scans none of its thousands; worked out again on load (a checkpoint from before
    it has none)."""
    paths: dict[str, int] = msgspec.field(default_factory=dict)
    """Heavy-hitter counters of the paths."""
    urls: dict[str, int] = msgspec.field(default_factory=dict)
    """Heavy-hitter counters of the URLs of the GETs, each as a hash of the whole URL (16 hex
    digits: a long query is not cut short, nor a long path) and its path as counted."""
    answered: int = 0
    errors: int = 0
    """Answered 5xx or 429: the portal failing or throttling."""
    misses: int = 0
    """Answered 4xx (but 429)."""
    browser: int = 0
    """Requests whose user agent claims a browser."""
    repeats: int = 0
    """Browser requests from a source counted before: a browser has the portal's cookie by
    then, and a Referer for assets and links."""
    cookie: int = 0
    """Repeat browser requests with a cookie."""
    referer: int = 0
    """Repeat browser requests with a Referer."""
    language: int = 0
    """Browser requests with an Accept-Language."""
    asset: int = 0
    """Browser requests for a page's asset."""
    usual: Habits | None = None
    """The portal's usual habits when the tally began (None: not known, not judged)."""

    def __post_init__(self) -> None:
        # a checkpoint's from before ``least``: its sources are those counted (``counted``)
        if self.sources and not self.least:
            self.least = sorted(self.sources)[:LEAST]
        self.heaviest = max(self.heavy.values(), default=0)


def add(
    tally: Tally,
    source: str,
    path: str,
    status: int | None,
    flags: int = 0,
    person: int = 0,
    url: str | None = None,
) -> None:
    """Count one request of ``source`` on ``path`` answered ``status`` (None: not known),
    carrying ``flags`` (:func:`habits_of`), sent by ``person`` (:func:`person_of`), a GET of
    ``url`` (its path and query; None: another method)."""
    tally.requests += 1
    tally.counted += 1
    sources = tally.sources
    source_hash = _source_hash(source)
    repeat = source_hash in sources
    if not repeat:  # (a repeat's hash was offered to ``least`` the first time)
        if len(sources) < SOURCES_CAP:
            sources.add(source_hash)
        least = tally.least
        if len(least) < LEAST or source_hash < least[-1]:
            _keep_least(least, source_hash)
    if person:
        people, pair = tally.people, source_hash << 32 | person
        if pair in people:
            people[pair] += 1
        elif len(people) < SOURCES_CAP:
            people[pair] = 1
    if flags & BROWSER:
        tally.browser += 1
        tally.language += bool(flags & LANGUAGE)
        tally.asset += bool(flags & ASSET)
        if repeat:
            tally.repeats += 1
            tally.cookie += bool(flags & COOKIE)
            tally.referer += bool(flags & REFERER)
    sent = heavy.count(tally.heavy, source, SOURCE_COUNTERS)
    if sent > tally.heaviest:
        tally.heaviest = sent
    elif not sent:  # every counter was lowered
        tally.heaviest = max(tally.heavy.values(), default=0)
    heavy.count(tally.paths, path[:200], _COUNTERS)
    if url is not None and _page(url):
        digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8)
        heavy.count(tally.urls, digest.hexdigest() + path[:200], _COUNTERS)
    if status is not None:
        tally.answered += 1
        if status >= 500 or status == 429:
            tally.errors += 1
        elif status >= 400:
            tally.misses += 1


def _source_hash(source: str) -> int:
    """How a tally knows a source (its pseudonym, as a CRC-32): in ``sources`` and, shifted,
    in the (source, person) pairs of ``people``."""
    return zlib.crc32(source.encode())


def _keep_least(least: list[int], source_hash: int) -> None:
    """Keep ``source_hash`` among the :data:`LEAST` smallest, ascending, if it is one and
    not there yet."""
    i = bisect_left(least, source_hash)
    if i == len(least) or least[i] != source_hash:
        least.insert(i, source_hash)
        if len(least) > LEAST:
            del least[-1]


def clients(tally: Tally) -> int:
    """How many sources sent the requests of ``tally`` (those in ``counted``): exactly up to
    :data:`SOURCES_CAP`, estimated past it from the :data:`LEAST` smallest hashes (the k-th
    smallest of n uniform hashes is about k/n of their range).

    >>> crowd = Tally()
    >>> for i in range(100_000):
    ...     add(crowd, f"resident{i}", "/", 200)
    >>> clients(crowd), len(crowd.sources)
    (100613, 16384)
    """
    exact = len(tally.sources)
    least = tally.least
    if exact < SOURCES_CAP or len(least) < LEAST:
        return exact
    return max(exact, (LEAST - 1) * 2**32 // (least[-1] + 1))


def per_client(tally: Tally) -> float:
    """Requests per client (:func:`clients`) in ``tally``."""
    return tally.counted / max(1, clients(tally))


def add_request(
    tally: Tally, source: str, path: str, status: int | None, request: HttpRequest
) -> None:
    """:func:`add` one request, with what it carries, whose session it is and, a GET's, its
    URL."""
    url = request.uri if request.method == "GET" else None
    add(tally, source, path, status, habits_of(request), person_of(request), url)


def merge(a: Tally, b: Tally) -> Tally:
    """Both tallies as one (the two minutes before a flood fired)."""
    out = Tally(
        requests=a.requests + b.requests,
        sources=set(a.sources) | b.sources,
        counted=a.counted + b.counted,
        least=sorted({*a.least, *b.least})[:LEAST],
        heavy=heavy.merged(a.heavy, b.heavy, SOURCE_COUNTERS),
        paths=heavy.merged(a.paths, b.paths, _COUNTERS),
        urls=heavy.merged(a.urls, b.urls, _COUNTERS),
        answered=a.answered + b.answered,
        errors=a.errors + b.errors,
        misses=a.misses + b.misses,
        browser=a.browser + b.browser,
        repeats=a.repeats + b.repeats,
        cookie=a.cookie + b.cookie,
        referer=a.referer + b.referer,
        language=a.language + b.language,
        asset=a.asset + b.asset,
        usual=a.usual or b.usual,
    )
    for pair, n in (*a.people.items(), *b.people.items()):
        if pair in out.people or len(out.people) < SOURCES_CAP:
            out.people[pair] = out.people.get(pair, 0) + n
    return out


def one_client(tally: Tally) -> bool:
    """Whether one client sends most of the tally's requests: a client flood, which the
    per-client rule finds with that client's own requests as its evidence."""
    return tally.heaviest > _ONE_CLIENT * tally.requests


def verdict(tally: Tally) -> tuple[str, list[str]]:
    """``crowd``, ``dos``, ``botnet``, ``shared`` or ``unknown`` (too few requests yet), and
    the signs seen.

    A crowd is many sources each sending a human number of requests over the
    usual paths, or on the one page an alert sent them to (:func:`one_page`),
    nearly all answered; any DoS sign makes it a DoS. A crowd by
    those signs whose browsers lack a browser's habits is a botnet imitating
    browsing (:func:`browser_signs`). Addresses that each send a flood's share
    in sessions of a human size (:func:`sessions_behind`) are ``shared``: people
    behind a carrier's NAT, or a tool making up sessions, which nothing in the
    requests tells apart (the portal's answers, which issue sessions, are not
    seen): neither a crowd to serve nor addresses to block unseen.
    """
    n = tally.requests
    if n < _MIN_REQUESTS:
        return "unknown", []
    signs = []
    per_source = per_client(tally)
    if per_source > PER_SOURCE:
        signs.append(f"{per_source:.0f} requests per client")
    if tally.heaviest > _HEAVY_SHARE * n:
        signs.append("a few clients send most of it")
    # people behind shared addresses, or a tool making up sessions (looked for only when the
    # addresses' signs would speak, a tally's sessions being thousands and a verdict asked
    # for every request)
    shared: list[str] = []
    if signs and (people := sessions_behind(tally)):
        shared, signs = [*signs, f"{people} sessions of a human size behind them"], []
    if tally.paths and max(tally.paths.values()) > _PATH_SHARE * n and one_page(tally) is None:
        share = max(tally.paths.values()) / n
        signs.append(f"one path takes {share:.0%}")
    if tally.answered:
        if tally.errors > _ERROR_SHARE * tally.answered:
            signs.append(f"{tally.errors / tally.answered:.0%} answered 5xx or 429")
        if tally.misses > _MISS_SHARE * tally.answered:
            signs.append(f"{tally.misses / tally.answered:.0%} answered 4xx")
    if signs:
        return "dos", [s.replace("%", " %") for s in signs]
    _, missing, lacking = browser_signs(tally)
    if lacking >= _MISSING:
        return "botnet", missing
    return ("shared", shared) if shared else ("crowd", [])


def evidence(tally: Tally, source: str, path: str) -> bool:
    """Whether a request of ``source`` on ``path`` is evidence of the flood ``tally`` counts:
    its source has sent more than a person does (:data:`PER_SOURCE`, by its heavy-hitter
    counter), or its path takes most of the flood (:data:`_PATH_SHARE`). A flood that shows
    neither (a crowd, or a botnet spread over the usual pages) is all evidence: nothing
    tells its senders from the residents browsing meanwhile. So the residents' requests of
    a denial of service's minutes, a few in a hundred of its evidence, are left out.

    >>> tally = Tally()
    >>> for i in range(3000):
    ...     add(tally, f"bot{i % 40}", "/search", 200)
    >>> evidence(tally, "bot3", "/search"), evidence(tally, "resident", "/alerts")
    (True, False)
    >>> evidence(tally, "resident", "/search")  # the flood's path: what it hammers
    True
    """
    if tally.heavy.get(source, 0) >= PER_SOURCE:
        return True
    top_path = max(tally.paths.values(), default=0)
    if top_path > _PATH_SHARE * tally.requests:
        return tally.paths.get(path[:200], 0) == top_path
    return tally.heaviest < PER_SOURCE


_LINK_PARAMS: Final = ("utm_", "mtm_", "pk_", "fbclid", "gclid", "msclkid", "ref", "source", "from")
"""The query parameters a link adds on its way (a push's campaign tags, an ad click's id):
a page opened from an alert may carry them and still be a page."""


def _page(url: str) -> bool:
    """Whether ``url`` asks for a page as a link gives it: no query, or only the parameters a
    link adds (:data:`_LINK_PARAMS`); a search's or an API call's query asks the portal to
    work, whatever a cache does with it.

    >>> _page("/alerts/flood"), _page("/alerts/flood?utm_source=push&utm_medium=app")
    (True, True)
    >>> _page("/search?q=%25a%25"), _page("/api/v1/alerts?district=3")
    (False, False)
    """
    query = url.partition("?")[2]
    return not query or all(
        pair.partition("=")[0].lower().startswith(_LINK_PARAMS) for pair in query.split("&")
    )


def one_page(tally: Tally) -> str | None:
    """The path of the one page people open that carries the flood (None: no such page): a
    public alert's, opened by thousands within minutes, with its assets from a CDN that the
    portal's log does not show. Its path takes most of the flood (:data:`_PATH_SHARE`) in GETs
    of a few URLs (up to 16), by browsers, a handful per client (:data:`_HANDFUL`), the
    portal's answers to most of it known.

    What each of those rules out: an attack busting caches varies the query (each URL a few
    requests), a repeated search or API call asks the portal to work (a page as a link gives
    it has no query but a link's own tags, :func:`_page`), a login flood POSTs, many sources
    hammering one endpoint send more than a handful each. A flood of clients that claim no
    browser (tools, and the app, whose requests show nothing of a person's) has no habits to
    judge it, so on one path it stays a DoS sign; a browsers' flood is judged by its habits
    as any crowd's (:func:`verdict`). A flood whose answers are not known shows nothing of
    the portal failing (5xx, 429), the guard against a botnet passing for people; it stays a
    DoS sign too. So does a push whose link carries a parameter of its own per person (a
    tracking id): that is a query varied as a cache buster's is, and nothing tells them
    apart.
    """
    n = tally.requests
    if (
        not tally.paths
        or per_client(tally) > _HANDFUL
        or tally.browser < _BROWSERS * n
        or tally.answered < _ANSWERED * n
    ):
        return None
    path = max(tally.paths, key=tally.paths.__getitem__)
    gets = sum(count for key, count in tally.urls.items() if key[16:] == path)
    return path if gets > _PATH_SHARE * n else None


def sessions_behind(tally: Tally) -> int:
    """The people behind the flood's addresses when their sessions carry it, else 0: most
    requests come in sessions sent again (a cookie, the app's token), each a human number of
    requests. Many people share an address behind a mobile carrier's NAT (a stadium's phones
    after an alert push): then an address's many requests, and the few addresses sending
    most, are no proof of a denial of service. A tool that makes up a session per request
    has none sent again; one that keeps a session sends a flood's number in it; one that
    keeps many short sessions looks like people (so :func:`verdict` calls it ``shared``,
    not a crowd).

    >>> app = ("/api/v1/config", "/api/v1/alerts", "/api/v1/news")
    >>> cgnat, tool = Tally(), Tally()
    >>> for i in range(6000):  # 1,500 people behind 10 addresses, four requests each
    ...     add(cgnat, f"nat{i % 10}", app[i % 3], 200, person=1 + i % 1500)
    ...     add(tool, f"bot{i % 10}", app[i % 3], 200, person=1 + i)  # a new session each time
    >>> verdict(cgnat), sessions_behind(cgnat)
    (('shared', ['600 requests per client', '1500 sessions of a human size behind them']), 1500)
    >>> verdict(tool)
    ('dos', ['600 requests per client'])
    """
    again = [n for n in tally.people.values() if n > 1]
    carried = sum(again)
    if carried < _PEOPLE_SHARE * tally.requests or carried > PER_SOURCE * len(again):
        return 0
    return len(again)


def carrying_people(tally: Tally, sources: list[str]) -> set[str]:
    """Those of ``sources`` whose requests in ``tally`` carry two sessions or more sent again,
    each of a human size, and enough of them for its requests: people behind one address (a
    carrier's NAT), or a tool keeping many short sessions, which nothing tells apart
    (:func:`sessions_behind`). Limiting such an address cuts the people behind it off: it
    is named to be looked into, not limited, and spared any block.

    >>> tally = Tally()
    >>> for i in range(600):
    ...     add(tally, "nat", "/alerts/quake", 200, person=1 + i % 200)
    ...     add(tally, "bot", "/alerts/quake", 200, person=0 if i % 2 else 7)
    >>> carrying_people(tally, ["nat", "bot", "absent"])
    {'nat'}
    """
    by_hash = {_source_hash(source): source for source in sources}
    sessions: dict[int, int] = {}
    for pair, n in tally.people.items():
        if (source := pair >> 32) in by_hash and 1 < n <= PER_SOURCE:
            sessions[source] = sessions.get(source, 0) + 1
    # and enough of them for what the address sent, a human number of requests per session
    # (as :func:`sessions_behind` asks of the whole flood): a tool's 5,000 requests with no
    # cookie beside two made-up sessions of two requests carry no one. Once the pairs are all
    # taken, a session begun since is not counted: then the sessions alone decide, as before
    full = len(tally.people) >= SOURCES_CAP
    heavy = tally.heavy
    return {
        by_hash[source]
        for source, count in sessions.items()
        if count > 1 and (full or count * PER_SOURCE >= heavy.get(by_hash[source], 0))
    }


def browser_signs(tally: Tally) -> tuple[list[str], list[str], int]:
    """The browser habits judged that a flood's browsers keep (their names), the signs of
    those they lack, against the portal's usual habits, and how many of those are signs of
    their own: the cookie and the Referer, judged on an address's repeat requests, count as
    one (behind a carrier's NAT an address's "repeats" are other people's first requests,
    which have neither: one confusion, not two signs).

    Judged only when most of the flood claims a browser and the usual habits are
    known; a habit only where the portal's browsers usually show it (an access log
    records no cookie: its absence then proves nothing), cookies and Referers on the
    repeat requests alone (a person's first request may have neither).

    >>> usual = Habits(seen=5000, cookie=0.8, referer=0.85, language=0.0)
    >>> bots = Tally(usual=usual, requests=1000, browser=1000, repeats=800, cookie=20,
    ...     referer=700, language=0)
    >>> browser_signs(bots)
    (['Referer'], ["no cookie on 98 % of the browsers' repeat requests (usually 80 % have one)"], 1)
    """
    usual = tally.usual
    kept: list[str] = []
    signs: list[str] = []
    lacking: set[str] = set()
    if usual is None or usual.seen < _HABITS_WARM or tally.browser < _BROWSERS * tally.requests:
        return kept, signs, 0
    judged = [
        ("Accept-Language", tally.language, tally.browser, "", usual.language),
        ("asset", tally.asset, tally.browser, "", usual.asset),
    ]
    if tally.repeats >= _MIN_REPEATS:
        judged[:0] = [
            ("cookie", tally.cookie, tally.repeats, "repeat ", usual.cookie),
            ("Referer", tally.referer, tally.repeats, "repeat ", usual.referer),
        ]
    for what, have, of, repeat, share in judged:
        if share < _USUAL:
            continue
        if have >= _LACKING * share * of:
            kept.append("assets" if what == "asset" else what)
            continue
        lacking.add(repeat or what)  # the repeat requests' habits: one sign between them
        if what == "asset":
            signs.append(
                f"page assets in {have / of:.0%} of the browsers' requests (usually "
                f"{share:.0%})".replace("%", " %")
            )
        else:
            signs.append(
                f"no {what} on {1 - have / of:.0%} of the browsers' {repeat}requests "
                f"(usually {share:.0%} have one)".replace("%", " %")
            )
    return kept, signs, len(lacking)


def habit_figures(tally: Tally) -> dict[str, float]:
    """The shares behind :func:`browser_signs`, in the flood and as usual (empty: not known)."""
    usual = tally.usual
    if usual is None or usual.seen < _HABITS_WARM or not tally.browser:
        return {}
    repeats = max(1, tally.repeats)
    return {
        "browser_requests": round(tally.browser / max(1, tally.requests), 3),
        "repeats_with_cookie": round(tally.cookie / repeats, 3),
        "repeats_with_referer": round(tally.referer / repeats, 3),
        "with_accept_language": round(tally.language / tally.browser, 3),
        "for_assets": round(tally.asset / tally.browser, 3),
        "usually_with_cookie": round(usual.cookie, 3),
        "usually_with_referer": round(usual.referer, 3),
        "usually_with_accept_language": round(usual.language, 3),
        "usually_for_assets": round(usual.asset, 3),
    }
