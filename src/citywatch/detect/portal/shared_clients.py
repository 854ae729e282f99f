"""Client addresses many people share (a campus's NAT, a carrier's CGNAT), learned from the
portal's trusted ``--learn`` traffic.

One student's SQL injection from a university's address, or a phone's from a carrier's,
is an attack to report; a block of the address cuts off everyone behind it. When nothing
else in the incident says the address is shared (no login-abuse verdict, no flood), what
the portal's normal traffic showed of it does: the per-request detectors
(:class:`~citywatch.detect.portal.hits.HitDetector`) declare such an address spared
(``attributes.portal.spared``), and no block nor partner intel takes it.

The rule: a client key (the address's pseudonym) is shared once, within one window of
``shared_window_s`` (an hour) of the learning traffic, it showed ``shared_people`` (20)
distinct sessions or logged-in accounts, each kind counted apart, and sent no request a
detector flags while learning (a scanner's made-up sessions are many too). A window, not
the whole learning: a person's session ends with each visit and login, so a household that
comes back every hour shows twenty sessions in a day and one in an hour, where a campus
shows its sixty in its busy hour. Each kind apart: one person's login and session counted
as two would bring a household nearer a crowd. An access log shows no cookie: there only
the accounts the log names count; full requests (``http-jsonl``) show the sessions.

The model keeps only pseudonyms and counts (:class:`SharedModel`). While learning, the
open window's identities are counted as hashes in memory, each key's at most
``shared_people`` (a shared key's up to :data:`SAY_UP_TO` times that, to say how many), for
at most :data:`MAX_TRACKED` keys per window; the window's counts go when it closes, so
memory follows the busiest hour, not the length of the learning.

>>> from citywatch.model import Event, HttpRequest
>>> shared = SharedClients(people=3, window_s=3600.0, session_cookies=("sid",))
>>> def visit(n, key):
...     request = HttpRequest(method="GET", uri="/", headers=(("Cookie", f"sid={n}"),))
...     return Event(id=str(n), timestamp=60.0 * n, dataset="portal.http",
...                  source_pseudonym=key, payload=request)
>>> for n in range(4):
...     shared.learn(visit(n, "ip:campus"), flagged=False)
>>> shared.learn(visit(9, "ip:home"), flagged=False)
>>> shared.why("ip:campus").partition(":")[0]
'4 sessions from it within an hour of the learning traffic'
>>> shared.why("ip:home") is None
True
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from citywatch.enrich.identity import session_hash
from citywatch.model import Event, HttpRequest

MAX_TRACKED: Final = 65536
"""Keys (of each kind) counted in one window: a city portal's busiest hour has fewer clients;
beyond, a key first seen late in the window is not counted in it (a NAT is busy early)."""
MAX_SHARED: Final = 16384
"""Shared keys kept: a city's campuses, offices and its carriers' CGNAT addresses."""
SAY_UP_TO: Final = 5
"""How far past ``shared_people`` a shared key's identities are counted, to say how many."""
KINDS: Final = ("sessions", "accounts")
"""What is counted of a key's requests, each apart, as a reason names it. Not user agents: a
scanner rotates its own (``sqlmap --random-agent``), and reduced agents are one string for
every user of a browser on a platform, so they tell neither a crowd nor a person."""
_SESSION, _ACCOUNT = range(2)


class Sharing(msgspec.Struct, array_like=True, frozen=True):
    """The most distinct identities of one kind a shared key showed within one window."""

    people: int
    kind: str


class SharedModel(msgspec.Struct):
    """What was learned: the shared keys (pseudonyms) with their crowd; nothing else."""

    shared: dict[str, Sharing] = msgspec.field(default_factory=dict)


class SharedClients:
    """Learns :class:`SharedModel` from trusted requests and says why a key is spared."""

    def __init__(self, *, people: int, window_s: float, session_cookies: tuple[str, ...]) -> None:
        self.model = SharedModel()
        self._people = people
        self._window_s = window_s
        self._cookies = frozenset(c.lower() for c in session_cookies)
        self._start = -math.inf
        self._seen: tuple[dict[str, list[int]], ...] = ({}, {})
        """The open window's identities (hashes) per key, by kind (sessions, accounts)."""
        self._attacked: set[str] = set()
        """Keys that sent a flagged request while learning: never learned shared."""

    def learn(self, event: Event, flagged: bool) -> None:
        """Count the identities of one trusted request from its client key; a ``flagged`` one
        (an attack in the learning traffic) makes its key one never learned shared. A tool's
        made-up sessions are many identities too: the key that also attacks is no crowd, nor
        kept out of blocks by what it made up (a campus with an attacking student then has
        its block approved by hand, or spared by ``respond.shared_networks``)."""
        key = event.source_pseudonym
        request = event.payload
        if key is None or not isinstance(request, HttpRequest) or key in self._attacked:
            return
        if flagged:
            if len(self._attacked) < MAX_TRACKED:
                self._attacked.add(key)
            self.model.shared.pop(key, None)
            return
        ts = event.timestamp
        start, window = self._start, self._window_s
        # a record late by less than a window is counted in the open one; one from earlier
        # (a second file of the same day) opens its own, never adds to another hour's
        if ts >= start + window or ts < start - window:
            self._start = ts - ts % window
            for seen in self._seen:
                seen.clear()
        if request.headers and (session := session_hash(request, self._cookies)):
            self._count(_SESSION, key, hash(session))
        if event.user_id is not None and event.outcome != "failure":
            self._count(_ACCOUNT, key, hash(event.user_id))

    def _count(self, kind: int, key: str, identity: int) -> None:
        seen_by_key = self._seen[kind]
        seen = seen_by_key.get(key)
        if seen is None:
            if len(seen_by_key) >= MAX_TRACKED:
                return
            seen = seen_by_key[key] = []
        shared = self.model.shared
        crowd = shared.get(key)
        limit = self._people if crowd is None else self._people * SAY_UP_TO
        if len(seen) >= limit or identity in seen:
            return
        seen.append(identity)
        n = len(seen)
        if n >= self._people and (crowd.people < n if crowd else len(shared) < MAX_SHARED):
            shared[key] = Sharing(people=n, kind=KINDS[kind])

    def why(self, key: str) -> str | None:
        """Why no one should block ``key``'s address, for a responder; None when it is not
        known to be shared."""
        crowd = self.model.shared.get(key)
        if crowd is None:
            return None
        more = " or more" if crowd.people >= self._people * SAY_UP_TO else ""
        return (
            f"{crowd.people}{more} {crowd.kind} from it within {_span(self._window_s)} of the "
            "learning traffic: many people share it (a campus or a carrier NAT); block the "
            "account or session instead"
        )


def _span(seconds: float) -> str:
    """A window's length in words.

    >>> _span(3600.0), _span(7200.0), _span(1800.0), _span(90.0)
    ('an hour', '2 hours', '30 minutes', '90 seconds')
    """
    if seconds == 3600:
        return "an hour"
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:g} seconds"
