"""The explicit, bounded state of :mod:`.logins`: windows of login attempts per key.

A client's or an account's key keeps its attempts in the short window
(parallel lists behind a head index, compacted now and then) and its known
failures in the long one; the portal-wide key keeps every attempt in the
window with the aggregates its campaign rule reads, kept up to date as
attempts enter and leave. Every list is capped.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left
from collections.abc import Container

import msgspec

from citywatch.detect.base import Episode
from citywatch.detect.portal.logins_after import Login
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.enrich.identity import session_hash, session_or_agent
from citywatch.model import Event, HttpRequest

OUTCOME = {"failure": 0, "success": 1}
"""An attempt's outcome as the portal-wide window codes it (2: unknown)."""
PORTAL_CAP = 16384
"""Login attempts the portal-wide window keeps, at most."""
_SLOW_CAP = 2048
"""Failures a long window keeps, at most."""
WATCHED = 16
"""Takeover logins of one client watched for the requests after them, per episode."""


class PortalLogins(msgspec.Struct, kw_only=True, gc=False):
    """Login attempts across the portal within the window: who tried which accounts, how
    they were answered, and the usual number of failures (a decaying peak, the baseline)."""

    times: list[float] = msgspec.field(default_factory=list)
    rows: list[tuple[str, str, int]] = msgspec.field(default_factory=list)
    """(client, account, outcome: 0 failed, 1 succeeded, 2 unknown) of each attempt."""
    ids: list[str] = msgspec.field(default_factory=list)
    head: int = 0
    attempts: int = 0
    known: int = 0
    failed: int = 0
    suspects: int = 0
    clients: dict[str, int] = msgspec.field(default_factory=dict)
    """Suspect attempts per client."""
    accounts: dict[str, int] = msgspec.field(default_factory=dict)
    """Suspect attempts per account."""
    pairs: dict[str, int] = msgspec.field(default_factory=dict)
    """Suspect attempts per ``client account``."""
    per_client: dict[str, int] = msgspec.field(default_factory=dict)
    """Distinct accounts with suspect attempts per client."""
    multi: int = 0
    """Clients with suspect attempts on two accounts or more."""
    peak: float = 0.0
    bucket: int = -1
    recent: list[tuple[int, int]] = msgspec.field(default_factory=list)
    """(bucket, suspect attempts in the window then): they join ``peak`` a window later."""
    held: list[tuple[float, str, str, str]] = msgspec.field(default_factory=list)
    """(time, client, account, event id) of an open campaign's failures younger than
    ``typo_s``: evidence once that passes without the client logging in to the account."""
    alone: dict[str, list[tuple[float, str]]] = msgspec.field(default_factory=dict)
    """(time, event id) of an open campaign's unanswered attempts (no outcome) per client
    that has tried one account in the window: evidence once it tries a second."""
    logged: dict[str, int] = msgspec.field(default_factory=dict)
    """Successful logins per ``client account``."""
    fixed: dict[str, int] = msgspec.field(default_factory=dict)
    """Per client: accounts it has both suspect attempts on and logged in to (its typos'
    accounts, its own)."""
    pool: dict[str, str] = msgspec.field(default_factory=dict)
    """An open campaign's clients (its evidence's) and the account they failed on, ``*`` for
    two or more: the pool's addresses, beyond the window too."""
    waiting: dict[str, list[Login]] = msgspec.field(default_factory=dict)
    """An open campaign's successful logins, per client, of clients that had not failed on
    another account yet: takeovers if they do within the window (see
    :func:`.logins_campaign.of_pool`)."""

    def __post_init__(self) -> None:
        """Count the window's attempts into the aggregates again (on decode): they are the
        rows' tally, and a checkpoint of a release that kept fewer of them (no ``logged`` nor
        ``fixed``) would leave them wrong, then below zero as its rows leave the window."""
        if self.head < len(self.rows):
            self.attempts = self.known = self.failed = self.suspects = self.multi = 0
            self.clients, self.accounts, self.pairs = {}, {}, {}
            self.per_client, self.logged, self.fixed = {}, {}, {}
            for client, account, outcome in self.rows[self.head :]:
                _tally(self, client, account, outcome, 1)


class LoginState(msgspec.Struct, kw_only=True):
    """Login attempts of one client or account within the window, and its open episode."""

    times: list[float] = msgspec.field(default_factory=list)
    others: list[str] = msgspec.field(default_factory=list)
    suspect: list[bool] = msgspec.field(default_factory=list)
    ids: list[str] = msgspec.field(default_factory=list)
    agents: list[int] = msgspec.field(default_factory=list)
    """The user agent (:func:`agent_of`) of each attempt."""
    identities: list[int] = msgspec.field(default_factory=list)
    """Who made each attempt (:func:`identity_of`): its session, else its user agent."""
    head: int = 0
    suspects: int = 0
    distinct: dict[str, int] = msgspec.field(default_factory=dict)
    """Suspect attempts per other party (account or client) in the window."""
    episode: Episode | None = None
    slow: list[tuple[float, str]] = msgspec.field(default_factory=list)
    """(time, event id) of the known failures within the long window: an account's, or a
    client's where its source does not show the account."""
    slow_head: int = 0
    slow_logins: list[float] = msgspec.field(default_factory=list)
    """A client's: times of its successful logins that show no account, within the long
    window, kept while it has failures there (to tell an address many people share)."""
    slow_agents: list[int] = msgspec.field(default_factory=list)
    """Their user agents (:func:`agent_of`)."""
    named_agents: bool = False
    """A client's: one of its attempts that show no account named a user agent."""
    ep_slow: bool = False
    """The open episode is low and slow (fired on the long window)."""
    ep_blind: bool = False
    """A client's open episode fired on attempts whose outcomes the source does not record."""
    portal: PortalLogins | None = None
    """The portal-wide key's attempts (none on a client's or an account's key)."""
    address: str | None = None
    """The client's raw address, kept only while it is under an open episode."""
    ep_attempts: int = 0
    ep_successes: int = 0
    ep_others: dict[str, int] = msgspec.field(default_factory=dict)
    taken_over: list[str] = msgspec.field(default_factory=list)
    """Accounts a flagged client logged in to, or clients that logged in to an attacked
    account after failing on it."""
    ep_owner: int = 0
    """Successful logins to an attacked account from clients that never failed on it."""
    ep_accounts: int = 0
    """The portal-wide key's: the most distinct accounts failed in its window during it."""
    ep_agents: list[int] = msgspec.field(default_factory=list)
    """A client's: distinct user agents of the episode's logins that show no account, at
    most ``shared_agents`` (enough for :func:`.logins_sharing.sharing`)."""
    ep_people: list[int] = msgspec.field(default_factory=list)
    """A client's: distinct identities (:func:`identity_of`) of the episode's logins, at most
    as many as ``taken_over`` (enough for :func:`.logins_sharing.episode_shared`)."""
    watch: dict[str, list[Login]] = msgspec.field(default_factory=dict)
    """The episode's takeovers per taking-over client, with the requests after each (see
    :mod:`.logins_after`)."""

    def __post_init__(self) -> None:
        """A checkpoint of a release that kept no user agents (nor identities) per attempt:
        unknown (0) for its attempts, so that the lists stay parallel to ``times`` (and
        ``slow_logins``)."""
        if missing := len(self.times) - len(self.agents):
            self.agents[:0] = [0] * missing
        if missing := len(self.times) - len(self.identities):
            self.identities[:0] = [0] * missing
        if missing := len(self.slow_logins) - len(self.slow_agents):
            self.slow_agents[:0] = [0] * missing

    def evict(self, before: float) -> None:
        """Drop attempts older than ``before`` from the window."""
        head, times = self.head, self.times
        while head < len(times) and times[head] < before:
            if self.suspect[head]:
                self.suspects -= 1
                other = self.others[head]
                left = self.distinct[other] - 1
                if left:
                    self.distinct[other] = left
                else:
                    del self.distinct[other]
            head += 1
        self.head = head
        if head > 256 and head * 2 > len(times):
            del self.times[:head], self.others[:head], self.suspect[:head], self.ids[:head]
            del self.agents[:head], self.identities[:head]
            self.head = 0


def count(state: LoginState, other: str, suspect: bool) -> None:
    """Count an attempt with ``other`` (its account or client) in the open episode."""
    state.ep_attempts += 1
    state.ep_successes += not suspect
    state.ep_others[other] = state.ep_others.get(other, 0) + 1


def agent_of(event: Event) -> int:
    """The user agent an attempt names, as a CRC-32 (0: none)."""
    payload = event.payload
    if not isinstance(payload, HttpRequest):
        return 0
    agent = payload.user_agent or payload.header("user-agent")
    return (zlib.crc32(agent.encode()) or 1) if agent else 0


def identity_of(event: Event, agent: int, cookies: Container[str]) -> int:
    """Who made an attempt, as far as the request tells: its session (a hash of one of
    ``cookies``), else its user agent ``agent`` (:func:`agent_of`)."""
    payload = event.payload
    session = session_hash(payload, cookies) if isinstance(payload, HttpRequest) else ""
    return session_or_agent(session, agent)


def push_portal(
    portal: PortalLogins, ts: float, client: str, account: str, outcome: int, event_id: str
) -> None:
    portal.times.append(ts)
    portal.rows.append((client, account, outcome))
    portal.ids.append(event_id)
    _tally(portal, client, account, outcome, 1)


def _tally(portal: PortalLogins, client: str, account: str, outcome: int, by: int) -> None:
    """Count an attempt in (``by`` 1) or out of (-1) the portal-wide aggregates."""
    portal.attempts += by
    if outcome != 2:
        portal.known += by
        portal.failed += by * (outcome == 0)
    pair = f"{client} {account}"
    if outcome == 1:
        before = portal.logged.get(pair, 0)
        _bump(portal.logged, pair, by)
        if (before == 0) != (pair not in portal.logged) and pair in portal.pairs:
            _bump(portal.fixed, client, by)  # logged in to an account it failed on, or gone
        return
    portal.suspects += by
    _bump(portal.clients, client, by)
    _bump(portal.accounts, account, by)
    before = portal.pairs.get(pair, 0)
    _bump(portal.pairs, pair, by)
    if (before == 0) != (pair not in portal.pairs):  # a new account for it, or gone
        was = portal.per_client.get(client, 0)
        _bump(portal.per_client, client, by)
        now = was + by
        portal.multi += (now >= 2) - (was >= 2)
        if pair in portal.logged:
            _bump(portal.fixed, client, by)


def _bump(counts: dict[str, int], key: str, by: int) -> None:
    left = counts.get(key, 0) + by
    if left:
        counts[key] = left
    else:
        del counts[key]


def evict_portal(portal: PortalLogins, before: float) -> None:
    head, times = portal.head, portal.times
    while head < len(times) and times[head] < before:
        client, account, outcome = portal.rows[head]
        _tally(portal, client, account, outcome, -1)
        head += 1
    portal.head = head
    if head > 256 and head * 2 > len(times):
        del portal.times[:head], portal.rows[:head], portal.ids[:head]
        portal.head = 0


def forget_alone(portal: PortalLogins, before: float) -> None:
    """Drop the waiting attempts without outcome older than ``before``: their clients tried
    one account in a window, as people do."""
    for client in list(portal.alone):
        kept = [entry for entry in portal.alone[client] if entry[0] >= before]
        if kept:
            portal.alone[client] = kept
        else:
            del portal.alone[client]


def forget_waiting(portal: PortalLogins, before: float) -> None:
    """Drop the waiting logins older than ``before``: their clients showed no sign of the
    pool within the window."""
    for client in list(portal.waiting):
        kept = [login for login in portal.waiting[client] if login.ts >= before]
        if kept:
            portal.waiting[client] = kept
        else:
            del portal.waiting[client]


def evict_slow(state: LoginState, before: float, cfg: LoginAbuseConfig) -> None:
    """Drop the failures older than ``before`` (or beyond the cap) from the long window, and
    a client's successful logins with them (all of them once no failure is left)."""
    slow, head = state.slow, state.slow_head
    while head < len(slow) and (slow[head][0] < before or len(slow) - head > _SLOW_CAP):
        head += 1
    if head > 64 and head * 2 > len(slow):
        del slow[:head]
        head = 0
    state.slow_head = head
    logins = state.slow_logins
    if head >= len(slow):
        slow.clear()
        state.slow_head = 0
        logins.clear()
        state.slow_agents.clear()
    elif logins:
        # as many as make any count of failures under the cap a shared address's, no more
        cap = math.ceil(cfg.shared_logins * _SLOW_CAP)
        old = max(bisect_left(logins, before), len(logins) - cap)
        del logins[:old], state.slow_agents[:old]
