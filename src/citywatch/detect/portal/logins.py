"""Login abuse on the portal: brute force, credential stuffing, account attacks.

Keyed per client (``src:<pseudonym>``) and per account (``acct:<pseudonym>``)
over sliding event-time windows of login attempts. An attempt is *suspect*
when it failed, or when the source cannot tell (``http-jsonl`` mirrors carry
no response). Rules (ATT&CK T1110):

- credential stuffing (T1110.004): one client, suspect attempts on at least
  ``stuffing_accounts`` distinct accounts within the window;
- password guessing (T1110.001): one client, ``failures`` suspect attempts
  on fewer accounts;
- repeated failed logins (T1110): the same from a source that does not show
  the account (access logs), where guessing and stuffing look alike;
- slow failed logins (T1110.001, T1110.003): low and slow from a source that
  does not show the account, ``slow_failures`` known failures from one client
  within ``slow_window_s`` (hours), each short window under ``failures``;
  not from an address whose logins mostly succeed (``shared_logins``) from
  ``shared_agents`` user agents or more (one valid account of the guesser's
  own, logged in to again and again, does not make an address shared);
- account under attack (T1110.001): one account, ``account_failures``
  suspect attempts from any clients; or, low and slow, ``slow_failures``
  known failures within ``slow_window_s`` (hours);
- credential stuffing from many clients (T1110.004), keyed ``portal``: a
  proxy pool's hundreds of addresses each try a few accounts, under every
  per-client threshold, but across the portal the failures in the window
  are far above its usual (a decaying peak) from many clients; mostly
  failed where outcomes are known (a deadline's rush of people mistypes a
  few per cent), else with many clients trying two accounts or more. Its
  evidence is the campaign's attempts, not the residents' of those minutes
  (see :func:`_campaigns`): a failure the same client follows within
  ``typo_s`` with a login to the same account is a typo and is left out
  (the evidence waits that long for it); without outcomes, the attempts of a
  client that tried one account. Where the source shows no account (an
  access log) a client's login takes its failures of the ``typo_s`` before
  out, a proxy's too when it got in. A login during the campaign from one of
  its addresses (one that failed on another account, see :func:`_of_pool`)
  is a takeover: its account is listed, pseudonymised, and resets proposed.

A client's failures on an account it then logged in to within the window are
typos, not evidence (many people behind one address, an office's or a mobile
carrier's, log in, a few after a typo); failures on accounts it never got
into are. Stuffing succeeds on a few per cent of a list: a client whose
logins are many beside its failures is an address many people share, one
verdict for every rule (:func:`_sharing`): with failures as few as their
typos (``shared_logins``) no attack; with more, a detection that calls their
logins no takeover and never proposes blocking the address.
Without outcomes (a mirror with no response), many accounts each tried once
at a human pace is what a crowd behind a proxy looks like: there the
attempts must come at a machine's pace (``blind_burst_s``) or repeat
accounts. Successful logins by a client already flagged, and on an account under attack
by a client that failed on it, are reported as possible account takeovers,
unless they are so many that they are the address's own users logging in
(then the detection says so and asks for a check, not a reset for all).
On an account under attack, a successful login from a client that has not
failed on it within the window is the owner's, most likely: it is counted
(``owner_logins``) but is no evidence of the attack. The requests of the
client and agent that took an account over, for ``follow_s`` after the login,
are the detection's evidence and its ``after_takeover`` (see
:mod:`.logins_after`). One episode per key: the
attack is one detection whose evidence grows, not an alert per request; a
low-and-slow episode stays open across ``slow_gap_s`` between attempts, and
the failures of a closed episode are reported: the long window starts over.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left
from typing import ClassVar

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.portal.hits import BLOCK_CLIENTS, DATASETS, TARGET
from citywatch.detect.portal.logins_after import Login, endpoint, follows
from citywatch.detect.portal.logins_after import summary as summary_after
from citywatch.model import Detection, Event, HttpRequest

_STUFFING = ("portal.login.stuffing", "Credential stuffing", "attack.T1110.004")
_GUESSING = ("portal.login.bruteforce", "Password brute force", "attack.T1110.001")
_FAILURES = ("portal.login.failures", "Repeated failed logins", "attack.T1110")
_SLOW = ("portal.login.slow-guessing", "Low-and-slow failed logins", "attack.T1110.001")
_ALSO: dict[str, tuple[str, ...]] = {_SLOW[0]: ("attack.T1110.003",)}
"""Techniques a rule's detections may be besides its own: without the account, slow guessing
at one and a few passwords sprayed over many look alike."""
_ACCOUNT = ("portal.login.account-attack", "Account under password attack", "attack.T1110.001")
_SPREAD = (
    "portal.login.stuffing-spread",
    "Credential stuffing from many clients",
    "attack.T1110.004",
)
_CHECK_ACCOUNTS = "Check the application log for the accounts these clients tried"
_MEASURES = {
    _STUFFING[0]: [
        BLOCK_CLIENTS,
        "Require a second factor or a challenge on login while the campaign lasts",
    ],
    _GUESSING[0]: [BLOCK_CLIENTS],
    _FAILURES[0]: [BLOCK_CLIENTS, _CHECK_ACCOUNTS],
    _SLOW[0]: [BLOCK_CLIENTS, _CHECK_ACCOUNTS],
    _ACCOUNT[0]: [
        "Lock the account temporarily and tell its owner through a channel already on file",
    ],
    _SPREAD[0]: [
        "Require a second factor or a challenge on login while the campaign lasts",
        "Rate-limit logins per account and reject passwords known from breaches",
    ],
}
PORTAL = "portal"
_OUTCOME = {"failure": 0, "success": 1}
_PORTAL_CAP = 16384
"""Login attempts the portal-wide window keeps, at most."""
_SLOW_CAP = 2048
"""Failures a long window keeps, at most."""
_BUCKET_S = 600.0
"""How often the portal's failures in the window are sampled for its baseline, seconds."""
_TAKEOVER = ["Force a password reset and end all sessions of the accounts that logged in"]
_CHECK_LOGINS = [
    "Check the accounts that logged in for signs of takeover (a new device, changed contact "
    "details) before forcing resets: most are likely their owners behind a shared address"
]
_WATCHED = 16
"""Takeover logins of one client watched for the requests after them, per episode."""
_NOT_SHARED, _SHARED, _TYPOS = 0, 1, 2
"""Verdicts of :func:`_sharing` on a client's address."""
_SHARED_SEVERITY = 50
"""A flagged address many people share: under the 60 at which the city's playbook blocks
the source (``contain-web-attack``), in the band where it tells the SOC to look."""
_DONT_BLOCK = (
    "Do not block the address: many people log in from it. Limit failed logins per account "
    "and put a challenge (CAPTCHA) on logins from it, and look at the accounts it failed on "
    "in the application log before limiting more"
)


class LoginAbuseConfig(BaseModel):
    """Thresholds of the login-abuse rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(1800.0, gt=0, description="sliding window of attempts, seconds")
    failures: int = Field(10, ge=2, description="suspect attempts from one client to fire")
    stuffing_accounts: int = Field(8, ge=2, description="distinct accounts that make it stuffing")
    account_failures: int = Field(10, ge=2, description="suspect attempts on one account to fire")
    gap_s: float = Field(900.0, gt=0, description="idle time that closes an episode, seconds")
    shared_logins: float = Field(
        3.0,
        gt=0,
        description="successful logins per failure, at least, at an address many people share "
        "(a carrier's CGNAT, an office proxy) whose failures are their typos: no detection",
    )
    shared_hits: float = Field(
        0.25,
        gt=0,
        description="successful logins per failure above which they are not an attack's hits "
        "(stuffing gets in on a few per cent of a list) but the logins of the people who share "
        "the address: a detection there calls them no takeover and proposes no block",
    )
    slow_window_s: float = Field(
        6 * 3600.0,
        gt=0,
        description="long window of failed logins on one account, or from one client where "
        "the source does not show the account (an access log), seconds (low and slow: a "
        "guess every 4 minutes is 7 in the short window, 90 in six hours)",
    )
    slow_failures: int = Field(
        20,
        ge=2,
        description="failed logins (outcome known) within the long window to fire: a person "
        "who forgot a password tries a few, then resets it",
    )
    slow_gap_s: float = Field(
        3600.0,
        gt=0,
        description="idle time that closes a low-and-slow episode, seconds: the slowest pace "
        "the long window catches is a guess every 18 min, and ``gap_s`` would make each "
        "attempt past the threshold a detection of its own",
    )
    portal_failures: int = Field(
        100,
        ge=2,
        description="failed or unconfirmed logins across the portal within the window that "
        "can be stuffing through a proxy pool (each client under every per-client threshold)",
    )
    portal_clients: int = Field(
        20, ge=2, description="distinct clients of those attempts, at least (a spread)"
    )
    portal_factor: float = Field(
        4.0, gt=1, description="times the portal's usual failures per window (decaying peak)"
    )
    portal_failed_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="share of the attempts with outcomes that failed (people mistype a few "
        "per cent, even in a deadline's rush; a list's passwords fail at 95 % or more)",
    )
    portal_multi_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="without outcomes: share of the clients that tried two accounts or more "
        "(a rush is one person, one account per address, mostly)",
    )
    portal_half_life_s: float = Field(
        24 * 3600.0, gt=0, description="half-life of the portal's usual failures, seconds"
    )
    typo_s: float = Field(
        120.0,
        gt=0,
        description="a failure the same client follows, within this, with a login to the same "
        "account is a typo, not a campaign's: the portal-wide rule's evidence waits this long "
        "for it, seconds",
    )
    shared_agents: int = Field(
        3,
        ge=2,
        description="where the source shows no account: distinct user agents of its logins, "
        "at least, at an address many people share (they log in with browsers and phones of "
        "their own; one attacker with one valid account logs in with his tool or browser: "
        "one or two). Not more: a reduced user agent is one string for every user of a "
        "browser, platform and major version, so 150 people can show four",
    )
    follow_s: float = Field(
        1800.0,
        gt=0,
        description="after a takeover, the requests of its client and agent within this are "
        "the detection's evidence of what the account was used for, seconds",
    )
    blind_burst_s: float = Field(
        60.0,
        gt=0,
        description="without outcomes, the time within which a client's last `failures` "
        "attempts on distinct accounts must come to be stuffing, seconds",
    )


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
    another account yet: takeovers if they do within the window (see :func:`_of_pool`)."""


class LoginState(msgspec.Struct, kw_only=True):
    """Login attempts of one client or account within the window, and its open episode."""

    times: list[float] = msgspec.field(default_factory=list)
    others: list[str] = msgspec.field(default_factory=list)
    suspect: list[bool] = msgspec.field(default_factory=list)
    ids: list[str] = msgspec.field(default_factory=list)
    agents: list[int] = msgspec.field(default_factory=list)
    """The user agent (:func:`_agent`) of each attempt."""
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
    """Their user agents (:func:`_agent`)."""
    named_agents: bool = False
    """A client's: one of its attempts that show no account named a user agent."""
    ep_slow: bool = False
    """The open episode is low and slow (fired on the long window)."""
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
    most ``shared_agents`` (enough for :func:`_sharing`)."""
    watch: dict[str, list[Login]] = msgspec.field(default_factory=dict)
    """The episode's takeovers per taking-over client, with the requests after each (see
    :mod:`.logins_after`)."""

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
            del self.agents[:head]
            self.head = 0


class LoginAbuse(Detector[LoginState]):
    """Brute force, credential stuffing and attacks on one account, from login attempts."""

    name: ClassVar[str] = "login-abuse"
    description: ClassVar[str] = "portal login brute force, credential stuffing, account attacks"
    config_model: ClassVar[type[BaseModel]] = LoginAbuseConfig
    state_type: ClassVar[type[msgspec.Struct]] = LoginState
    datasets: ClassVar[frozenset[str]] = DATASETS

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, LoginAbuseConfig)
        self.cfg: LoginAbuseConfig = self.config

    def keys(self, event: Event) -> tuple[str, ...]:
        if event.action != "login":
            return ()
        keys: tuple[str, ...] = (PORTAL,)
        if event.source_pseudonym is not None:
            keys += (f"src:{event.source_pseudonym}",)
        if event.user_id is not None:
            keys += (f"acct:{event.user_id}",)
        return keys

    def follow_keys(self, event: Event) -> tuple[str, ...]:
        """A request that is no login may follow a takeover: the keys that may watch it."""
        if event.action == "login":
            return ()
        keys: tuple[str, ...] = (PORTAL,)
        if event.source_pseudonym is not None:
            keys += (f"src:{event.source_pseudonym}",)
        if event.user_id is not None:
            keys += (f"acct:{event.user_id}",)
        return keys

    def new_state(self, key: str) -> LoginState:
        return LoginState()

    def update(self, key: str, state: LoginState, event: Event, out: list[Detection]) -> None:
        if event.action != "login":
            self._after(key, state, event, out)
            return
        if key == PORTAL:
            self._portal(state, event, out)
            return
        by_client = key.startswith("src:")
        other = (event.user_id if by_client else event.source_pseudonym) or "?"
        suspect = event.outcome != "success"
        ts = event.timestamp
        if state.episode is not None and ts - state.episode.last > self._gap(state):
            self._close(key, state, out)  # the sweep has not come by yet: close it first
        state.evict(ts - self.cfg.window_s)
        state.times.append(ts)
        state.others.append(other)
        state.suspect.append(suspect)
        state.ids.append(event.id)
        agent = _agent(event)
        state.agents.append(agent)
        state.named_agents = state.named_agents or (by_client and other == "?" and agent != 0)
        if suspect:
            state.suspects += 1
            state.distinct[other] = state.distinct.get(other, 0) + 1
        if not by_client or other == "?":  # an account's, or a client's that shows none
            if event.outcome == "failure":
                state.slow.append((ts, event.id))
            elif by_client and event.outcome == "success" and state.slow:
                state.slow_logins.append(ts)
                state.slow_agents.append(agent)
        if state.slow:
            _evict_slow(state, ts - self.cfg.slow_window_s, self.cfg)
        episode = state.episode
        if episode is not None:
            if by_client and not suspect and other == "?":
                _login_agent(state, agent, self.cfg)
            if not by_client and not suspect and other not in state.distinct:
                state.ep_owner += 1  # the owner, most likely: no evidence of the attack
                return
            self._count(state, other, suspect)
            if not suspect:
                self._took(key, state, other, ts, agent, event.id)
            if episode.add(event.id, ts):
                out.append(self._emit(key, state))
            return
        threshold = self.cfg.failures if by_client else self.cfg.account_failures
        if self._short_evidence(state, event, by_client, threshold):
            self._open(key, state, event, by_client, out)
            return
        if len(state.slow) - state.slow_head < self.cfg.slow_failures:
            return
        if by_client and _typos_over_hours(state, self.cfg):
            return  # many people's logins over the hours, and failures as few as their typos
        self._slow(key, state, event, out)

    def _short_evidence(
        self, state: LoginState, event: Event, by_client: bool, threshold: int
    ) -> bool:
        """The short window's suspect attempts are evidence enough to fire."""
        if state.suspects < threshold:
            return False
        if not by_client:
            return True
        evidence = state.suspects - _typos(state)
        if evidence < threshold:
            return False  # people behind one address who mistyped, then logged in
        logins, agents = _logged_in(state)
        if _sharing(logins, evidence, self.cfg, agents) == _TYPOS or _typos_over_hours(
            state, self.cfg
        ):
            return False  # many people's logins, and failures as few as their typos
        # without outcomes: distinct accounts once each, at a human pace, are no evidence
        return event.outcome is not None or _blind_evidence(state, threshold, self.cfg)

    def _open(
        self, key: str, state: LoginState, event: Event, by_client: bool, out: list[Detection]
    ) -> None:
        """Open an episode on the short window's attempts."""
        ts = event.timestamp
        window = [
            i
            for i in range(state.head, len(state.times))
            if by_client or state.suspect[i] or state.others[i] in state.distinct
        ]
        state.ep_owner = len(state.times) - state.head - len(window)
        state.episode = Episode(
            id=detection_id(self.name, "login", key, ts),
            fired=ts,
            first=state.times[window[0]],
            last=ts,
            evidence=[state.ids[i] for i in window],
        )
        state.address = event.source_ip if by_client else None
        for i in window:
            self._count(state, state.others[i], state.suspect[i])
            if not state.suspect[i] and state.others[i] == "?":
                _login_agent(state, state.agents[i], self.cfg)
        for i in window:
            if not state.suspect[i]:
                self._took(
                    key, state, state.others[i], state.times[i], state.agents[i], state.ids[i]
                )
        out.append(self._emit(key, state))

    def _took(
        self, key: str, state: LoginState, other: str, ts: float, agent: int, event_id: str
    ) -> None:
        """A successful login during a client's or an account's episode: a takeover (listed in
        ``taken_over``), whose requests after it are watched unless the client's address is
        one many people share (its logins are theirs, and so are its requests)."""
        if other not in state.taken_over:
            state.taken_over.append(other)
        if key.startswith("src:"):
            if _episode_shared(state, self.cfg):
                return
            client, account = key[4:], other
        else:
            client, account = other, key[5:]
        logins = state.watch.setdefault(client, [])
        if len(logins) < _WATCHED:
            logins.append(Login(ts=ts, client=client, account=account, agent=agent, id=event_id))

    def _slow(self, key: str, state: LoginState, event: Event, out: list[Detection]) -> None:
        """Low and slow: an account's failures over hours, or a client's where the source
        does not show the account, under the short window's."""
        ts = event.timestamp
        window = state.slow[state.slow_head :]
        state.episode = Episode(
            id=detection_id(self.name, "login", key, ts),
            fired=ts,
            first=window[0][0],
            last=ts,
            evidence=[event_id for _, event_id in window],
        )
        state.ep_slow = True
        state.ep_attempts = len(window)
        if key.startswith("src:"):
            state.ep_others = {"?": len(window)}
            state.address = event.source_ip
        else:
            for i in range(state.head, len(state.times)):
                if state.suspect[i]:
                    state.ep_others[state.others[i]] = state.ep_others.get(state.others[i], 0) + 1
        out.append(self._emit(key, state))

    def _portal(self, state: LoginState, event: Event, out: list[Detection]) -> None:
        """Stuffing through a proxy pool: failures across the portal, far above its usual."""
        cfg, ts = self.cfg, event.timestamp
        portal = state.portal
        if portal is None:
            portal = state.portal = PortalLogins()
        if state.episode is not None:
            self._release(state, ts, out)
            if ts - state.episode.last > self._gap(state):
                self._close(PORTAL, state, out)
        _roll(portal, ts, cfg, state.episode is not None)
        _evict_portal(portal, ts - cfg.window_s)
        outcome = _OUTCOME.get(event.outcome or "", 2)
        client, account = event.source_pseudonym or "?", event.user_id or "?"
        if len(portal.times) - portal.head >= _PORTAL_CAP:
            _evict_portal(portal, portal.times[portal.head] + 1e-9)
        _push_portal(portal, ts, client, account, outcome, event.id)
        if state.episode is not None:
            state.ep_accounts = max(state.ep_accounts, len(portal.accounts))
            if outcome == 0:
                portal.held.append((ts, client, account, event.id))
            elif outcome == 2:
                self._unanswered(state, ts, client, event.id, out)
            else:
                state.ep_attempts += 1
                state.ep_successes += 1
                # the failures it follows on the account were its typos, not the campaign's
                portal.held = [h for h in portal.held if h[1] != client or h[2] != account]
                login = Login(
                    ts=ts, client=client, account=account, agent=_agent(event), id=event.id
                )
                if account != "?" and self._campaign_login(state, login):
                    out.append(self._emit(PORTAL, state))
            if outcome != 1 and client in portal.waiting:
                self._confirm(state, client, ts, out)
            return
        if (
            outcome == 1
            or portal.suspects < cfg.portal_failures
            or len(portal.clients) < cfg.portal_clients
            or portal.suspects < cfg.portal_factor * portal.peak
        ):
            return
        if portal.known >= 0.8 * portal.attempts:
            if portal.failed < cfg.portal_failed_share * portal.known:
                return  # mostly answered logins: a rush of people, a few mistyping
        elif portal.multi < cfg.portal_multi_share * len(portal.clients):
            return  # no outcomes: one account per address, as people log in
        self._open_portal(state, ts, out)

    def _open_portal(self, state: LoginState, ts: float, out: list[Detection]) -> None:
        """Open the portal-wide episode on the window's attempts that are the campaign's (see
        :func:`_campaigns`); failures too young to tell wait in ``held``."""
        portal = state.portal
        assert portal is not None
        evidence, portal.held, portal.alone = _campaigns(portal, ts, self.cfg)
        state.episode = Episode(
            id=detection_id(self.name, "login-spread", PORTAL, ts),
            fired=ts,
            first=portal.times[evidence[0]] if evidence else ts,
            last=ts,
            evidence=[portal.ids[i] for i in evidence],
        )
        for i in evidence:
            self._count(state, portal.rows[i][0], True)
            _pooled(portal, portal.rows[i][0], portal.rows[i][1])
        state.ep_successes = portal.attempts - portal.suspects
        state.ep_attempts += state.ep_successes
        state.ep_accounts = len(portal.accounts)
        for i in range(portal.head, len(portal.times)):
            client, account, outcome = portal.rows[i]
            if outcome == 1 and account != "?":
                # its requests before the opening are not kept: no agent to watch them by
                login = Login(
                    ts=portal.times[i], client=client, account=account, agent=-1, id=portal.ids[i]
                )
                self._campaign_login(state, login)
        out.append(self._emit(PORTAL, state))

    def _campaign_login(self, state: LoginState, login: Login) -> bool:
        """A successful login during the portal-wide campaign: a takeover when its client is
        one of the pool's (:func:`_of_pool`), else it waits for the client to show it; True
        when the detection should be re-emitted."""
        portal = state.portal
        assert portal is not None
        if _of_pool(portal, login.client, login.account):
            return self._take(state, login)
        waiting = portal.waiting
        if login.client not in waiting and len(waiting) >= _PORTAL_CAP:
            del waiting[next(iter(waiting))]
        logins = waiting.setdefault(login.client, [])
        if len(logins) < _WATCHED:
            logins.append(login)
        return False

    def _confirm(self, state: LoginState, client: str, now: float, out: list[Detection]) -> None:
        """A client whose logins wait failed or tried another account: they are takeovers if
        that makes it one of the pool's, within the window."""
        portal = state.portal
        assert portal is not None
        grown, kept = False, []
        for login in portal.waiting.pop(client):
            if login.ts < now - self.cfg.window_s:
                continue
            if _of_pool(portal, client, login.account):
                grown = self._take(state, login) or grown
            else:
                kept.append(login)
        if kept:
            portal.waiting[client] = kept
        if grown:
            out.append(self._emit(PORTAL, state))

    def _take(self, state: LoginState, login: Login) -> bool:
        """A takeover in the portal-wide campaign: its account listed, its login and the
        requests after it evidence; True when the detection should be re-emitted."""
        episode = state.episode
        assert episode is not None
        if login.account not in state.taken_over:
            state.taken_over.append(login.account)
        watched = state.watch.setdefault(login.client, [])
        if len(watched) < _WATCHED:
            watched.append(login)
        grown = episode.add(login.id, login.ts)
        for when, event_id, _ in login.after:
            grown = episode.add(event_id, when) or grown
        return grown

    def _after(self, key: str, state: LoginState, event: Event, out: list[Detection]) -> None:
        """A request that is no login: evidence of what a taken-over account was used for when
        it follows a takeover of the open episode (see :mod:`.logins_after`)."""
        episode, client, ts = state.episode, event.source_pseudonym, event.timestamp
        if episode is None or client is None or ts - episode.last > self._gap(state):
            return
        watched = state.watch.get(client)
        waiting = state.portal.waiting.get(client) if state.portal is not None else None
        if watched is None and waiting is None:
            return
        if key.startswith("src:") and _episode_shared(state, self.cfg):
            return  # many people's logins, and requests
        agent, follow_s = _agent(event), self.cfg.follow_s
        for login in reversed(watched or ()):
            if follows(login, event, agent, follow_s):
                login.after.append((ts, event.id, endpoint(event)))
                if episode.add(event.id, ts):
                    out.append(self._emit(key, state))
                return
        for login in reversed(waiting or ()):
            if follows(login, event, agent, follow_s):
                login.after.append((ts, event.id, endpoint(event)))
                return

    def _release(
        self, state: LoginState, now: float, out: list[Detection], *, closing: bool = False
    ) -> None:
        """Make the campaign's evidence of the held failures no login followed within
        ``typo_s`` (all of them when the episode closes)."""
        portal, episode = state.portal, state.episode
        assert portal is not None
        assert episode is not None
        held, before = portal.held, now - self.cfg.typo_s
        n = 0
        while n < len(held) and (closing or held[n][0] <= before):
            n += 1
        if not n:
            return
        grown = False
        for ts, client, account, event_id in held[:n]:
            self._count(state, client, True)
            _pooled(portal, client, account)
            grown = episode.add(event_id, ts) or grown
        del held[:n]
        if grown and not closing:
            out.append(self._emit(PORTAL, state))

    def _unanswered(
        self, state: LoginState, ts: float, client: str, event_id: str, out: list[Detection]
    ) -> None:
        """An attempt without outcome during the campaign: evidence, with the client's earlier
        ones, once the client has tried two accounts in the window; else it waits."""
        portal, episode = state.portal, state.episode
        assert portal is not None
        assert episode is not None
        if portal.per_client.get(client, 0) < 2:
            portal.alone.setdefault(client, []).append((ts, event_id))
            return
        grown = False
        portal.pool[client] = "*"  # two accounts or more
        for when, held_id in [*portal.alone.pop(client, []), (ts, event_id)]:
            if when >= ts - self.cfg.window_s:
                self._count(state, client, True)
                grown = episode.add(held_id, when) or grown
        if grown:
            out.append(self._emit(PORTAL, state))

    def _count(self, state: LoginState, other: str, suspect: bool) -> None:
        state.ep_attempts += 1
        state.ep_successes += not suspect
        state.ep_others[other] = state.ep_others.get(other, 0) + 1

    def expire(self, key: str, state: LoginState, watermark: float, out: list[Detection]) -> bool:
        portal = state.portal
        if portal is not None:
            _evict_portal(portal, watermark - self.cfg.window_s)
            if state.episode is not None:
                self._release(state, watermark, out)
                _forget_alone(portal, watermark - self.cfg.window_s)
                _forget_waiting(portal, watermark - self.cfg.window_s)
                if watermark - state.episode.last > self._gap(state):
                    self._close(key, state, out)
            return state.episode is None and portal.head >= len(portal.times)
        state.evict(watermark - self.cfg.window_s)
        if state.slow:
            _evict_slow(state, watermark - self.cfg.slow_window_s, self.cfg)
        episode = state.episode
        if episode is not None and watermark - episode.last > self._gap(state):
            self._close(key, state, out)
        return state.episode is None and state.head >= len(state.times) and not state.slow

    def _gap(self, state: LoginState) -> float:
        """The idle time that closes the open episode: longer for a low-and-slow one."""
        return self.cfg.slow_gap_s if state.ep_slow else self.cfg.gap_s

    def _close(self, key: str, state: LoginState, out: list[Detection]) -> None:
        """Emit the episode's final version and forget it, and the long window's failures
        with it (they are reported: a new episode needs failures of its own)."""
        if state.portal is not None:
            self._release(state, math.inf, out, closing=True)
            state.portal.alone = {}
            state.portal.waiting = {}
            state.portal.pool = {}
        out.append(self._emit(key, state))
        state.episode = None
        state.ep_slow = False
        state.slow.clear()
        state.slow_head = 0
        state.slow_logins.clear()
        state.slow_agents.clear()
        state.address = None
        state.ep_attempts = state.ep_successes = 0
        state.ep_others = {}
        state.taken_over = []
        state.ep_owner = state.ep_accounts = 0
        state.ep_agents = []
        state.watch = {}

    def _slow_summary(self, state: LoginState, episode: Episode) -> str:
        """A client's low-and-slow failures, and what the missing account means."""
        failed = state.ep_attempts - state.ep_successes
        span = episode.last - episode.first
        return (
            f"{failed} failed logins in {span / 3600:.1f} h from "
            f"{state.address or 'one client'}, one every {span / 60 / max(1, failed - 1):.1f} "
            f"min on average, too slow for the {self.cfg.window_s / 60:.0f} min window; the "
            "source does not show the account, so a slow guess at one account's password and a "
            "few passwords sprayed over many accounts look alike (so does a device retrying a "
            "stale saved password): the application log shows which accounts it tried"
        )

    def _emit(self, key: str, state: LoginState) -> Detection:
        episode = state.episode
        assert episode is not None
        by_client = key.startswith("src:")
        n_others = len(state.ep_others)
        shared = False
        if key == PORTAL:
            rule, label, tag = _SPREAD
            severity, summary = _spread_summary(state)
            entity = {"target": TARGET}
        elif not by_client:
            rule, label, tag = _ACCOUNT
            severity = 55
            clients = "one client" if n_others == 1 else f"{n_others} clients"
            summary = (
                f"{state.ep_attempts} login attempts on one account from {clients} "
                f"({state.ep_attempts - state.ep_successes} failed or unconfirmed)"
            )
            if state.taken_over:
                severity += 20
                summary += (
                    f"; {len(state.taken_over)} of them logged in after failing: "
                    "possible account takeover"
                )
            entity = {"user.id": key[5:], "target": TARGET}
        else:
            unseen = set(state.ep_others) == {"?"}  # access logs do not show the account
            stuffing = not unseen and n_others >= self.cfg.stuffing_accounts
            severity = 65 if stuffing else 55 if unseen else 50
            if state.ep_slow:
                rule, label, tag = _SLOW
                summary = self._slow_summary(state, episode)
            else:
                rule, label, tag = _FAILURES if unseen else _STUFFING if stuffing else _GUESSING
                accounts = (
                    "accounts the source does not show"
                    if unseen
                    else "one account"
                    if n_others == 1
                    else f"{n_others} accounts"
                )
                summary = (
                    f"{state.ep_attempts} login attempts on {accounts} from "
                    f"{state.address or 'one client'}"
                )
            succeeded = state.ep_successes if unseen else len(state.taken_over)
            shared = _episode_shared(state, self.cfg)
            if shared:
                severity = min(severity, _SHARED_SEVERITY)
                summary += (
                    f"; {succeeded} succeeded, too many for an attack's hits: an address many "
                    "people share, whose failures are more than their typos (check them "
                    "before assuming a takeover; do not block the address)"
                )
            elif succeeded:
                severity += 20
                summary += f"; {succeeded} succeeded: possible account takeover"
            entity = {"target": TARGET}
            if state.address:
                entity["source.ip"] = state.address
            entity["source.pseudonym"] = key[4:]
        measures = _measures(rule, state, by_client and shared)
        after = {}
        watched = [login for logins in state.watch.values() for login in logins]
        if watched and not (by_client and shared):
            after["after_takeover"] = summary_after(watched)
        confidence = min(0.99, 0.5 + 0.05 * (state.ep_attempts - state.ep_successes))
        return self.detection(
            episode,
            rule_id=rule,
            rule_name=label,
            severity=severity,
            confidence=confidence,
            category="cyber",
            summary=summary,
            entity=entity,
            tags=[tag, *_ALSO.get(rule, ()), "attack.credential_access"],
            attributes={
                "portal": {
                    "class": "credential-access",
                    "attack_technique": tag.removeprefix("attack."),
                    "location": "login",
                    "attempts": state.ep_attempts,
                    "failed_or_unconfirmed": state.ep_attempts - state.ep_successes,
                    "distinct": n_others,
                    "taken_over": list(state.taken_over),
                    "owner_logins": state.ep_owner,
                    "measures": measures,
                    **after,
                }
            },
        )


def _spread_summary(state: LoginState) -> tuple[int, str]:
    """Severity and summary of the portal-wide campaign."""
    failed = state.ep_attempts - state.ep_successes
    n_accounts = state.ep_accounts
    summary = (
        f"{failed} failed or unconfirmed logins across the portal from "
        f"{len(state.ep_others)} clients"
        + (f" on {n_accounts} accounts at once" if n_accounts > 1 else "")
        + f" ({failed / max(1, state.ep_attempts):.0%} of {state.ep_attempts} attempts)"
        ", far above its usual: credential stuffing through many addresses"
    ).replace("%", " %")
    if not state.taken_over:
        return 70, summary
    n = len(state.taken_over)
    return 90, summary + (
        f"; {n} account{'s' if n > 1 else ''} logged in from the campaign's addresses (each "
        "had failed on other accounts in the campaign): account takeover"
    )


def _measures(rule: str, state: LoginState, shared: bool) -> list[str]:
    """What to do: at an address many people share nothing that locks them all out, and a
    check of its logins rather than resets; after a takeover, resets."""
    if shared:
        kept = [m for m in _MEASURES[rule] if m != BLOCK_CLIENTS]
        return [_DONT_BLOCK, *kept, *(_CHECK_LOGINS if state.taken_over else [])]
    if state.taken_over:
        return _MEASURES[rule] + _TAKEOVER
    return _MEASURES[rule]


def _typos(state: LoginState) -> int:
    """A client's suspect attempts in the window on accounts it then logged in to (a typo,
    then the right password); not where the source shows no account (``?``)."""
    if not state.distinct:
        return 0
    logged_in = {
        state.others[i] for i in range(state.head, len(state.times)) if not state.suspect[i]
    }
    logged_in.discard("?")
    return sum(n for other, n in state.distinct.items() if other in logged_in)


def _logged_in(state: LoginState) -> tuple[int, int | None]:
    """A client's successful logins in the window: distinct accounts, or attempts where the
    source does not show the account; and then the distinct user agents of those (None
    where it shows accounts, or where none of the client's attempts named an agent)."""
    accounts = {
        state.others[i] for i in range(state.head, len(state.times)) if not state.suspect[i]
    }
    if "?" not in accounts:
        return len(accounts), None
    accounts.discard("?")
    unseen = [
        i
        for i in range(state.head, len(state.times))
        if not state.suspect[i] and state.others[i] == "?"
    ]
    agents = len({state.agents[i] for i in unseen}) if state.named_agents else None
    return len(accounts) + len(unseen), agents


def _sharing(logins: int, failures: int, cfg: LoginAbuseConfig, agents: int | None = None) -> int:
    """What a client's address is, by its successful logins beside its failures: the one
    verdict every rule and every detection's wording and measures take.

    - :data:`_TYPOS`: many people log in from it (a carrier's CGNAT, an office proxy, a
      university) and it fails no more than their typos and forgotten passwords make
      (``shared_logins`` logins per failure or more): no attack, in the short window or the
      long one;
    - :data:`_SHARED`: many people log in from it (more than ``shared_hits`` logins per
      failure: stuffing gets in on a few per cent of a list, guessing on one account), and it
      fails more than their typos explain: a detection, but its logins are the residents' (no
      takeover is assumed) and it proposes nothing that locks them all out (no block of the
      address: per-account limits, a challenge, a look at the accounts first);
    - :data:`_NOT_SHARED`: one party, whose logins may be the attack's hits.

    Where the source shows no account (an access log) the logins could all be one account's:
    an attacker with a valid account of his own logs in three times per guess. There the
    logins must also come from ``shared_agents`` distinct user agents (``agents``) or more:
    people behind a shared address log in with browsers and phones of their own (a
    university's 390 logins in six hours came from 40 kinds, a carrier's 300 from phones of
    eight models), an attacker with his one tool or browser. The number is not scaled with
    the failures: one user agent is the same string on every phone of a model and version,
    and on every desktop of a browser's major version, so a busy address can show few.

    What an access log cannot tell: an attacker who varies the user agent of his logins as
    a crowd's would vary (the log has no cookie or account to count people by); and a
    client none of whose attempts names an agent (``agents`` None: a log in the common
    format, which has no agents, or a tool that sends none), where the logins' number alone
    decides."""
    if agents is not None and agents < cfg.shared_agents:
        return _NOT_SHARED
    if logins >= cfg.shared_logins * failures:
        return _TYPOS
    return _SHARED if logins > cfg.shared_hits * failures else _NOT_SHARED


def _login_agent(state: LoginState, agent: int, cfg: LoginAbuseConfig) -> None:
    """Count a client's episode login that shows no account by its user agent (none: 0)."""
    if agent and agent not in state.ep_agents and len(state.ep_agents) < cfg.shared_agents:
        state.ep_agents.append(agent)


def _typos_over_hours(state: LoginState, cfg: LoginAbuseConfig) -> bool:
    """:func:`_sharing` on a client's long window, where its source shows no account (an
    access log), says typos: there a typo cannot be told from a guess by the account it was
    on, and half an hour of a busy shared address holds ten typos by chance (a university's
    400 logins in six hours, one in eight after a typo, did); its hours do not."""
    failures = len(state.slow) - state.slow_head
    agents = len(set(state.slow_agents)) if state.named_agents else None
    return failures > 0 and _sharing(len(state.slow_logins), failures, cfg, agents) == _TYPOS


def _episode_shared(state: LoginState, cfg: LoginAbuseConfig) -> bool:
    """:func:`_sharing` on a client's open episode: its logins are many people's (the
    episode's logins from ``shared_agents`` agents where the source shows no account)."""
    failed = state.ep_attempts - state.ep_successes
    agents = len(state.ep_agents) if "?" in state.ep_others and state.named_agents else None
    return _sharing(state.ep_successes, failed, cfg, agents) != _NOT_SHARED


def _agent(event: Event) -> int:
    """The user agent an attempt names, as a CRC-32 (0: none)."""
    payload = event.payload
    if not isinstance(payload, HttpRequest):
        return 0
    agent = payload.user_agent or payload.header("user-agent")
    return (zlib.crc32(agent.encode()) or 1) if agent else 0


def _blind_evidence(state: LoginState, threshold: int, cfg: LoginAbuseConfig) -> bool:
    """Without outcomes: the suspect attempts repeat accounts (guessing), name none (an
    access log), or the last ``threshold`` of them came within ``blind_burst_s`` (a tool)."""
    distinct = state.distinct
    if "?" in distinct or state.suspects >= 2 * len(distinct):
        return True
    seen = 0
    for i in range(len(state.times) - 1, state.head - 1, -1):
        if state.suspect[i]:
            seen += 1
            if seen >= threshold:
                return state.times[-1] - state.times[i] <= cfg.blind_burst_s
    return False


def _campaigns(
    portal: PortalLogins, now: float, cfg: LoginAbuseConfig
) -> tuple[list[int], list[tuple[float, str, str, str]], dict[str, list[tuple[float, str]]]]:
    """The window's attempts that are a campaign's when it is found: its indexes, in time
    order; the failures younger than ``typo_s`` (a login may still follow); and the attempts
    without outcome of clients that tried one account so far.

    A failure the same client followed within ``typo_s`` with a login to the same account
    is a resident's typo; one that no login followed, the campaign's (a list's password
    for an account is wrong, and the tool moves on). Without outcomes an attempt is the
    campaign's when its client tried two accounts or more in the window, the sign the rule
    fired on; one account from one client is how people log in, typos and all.
    """
    evidence: list[int] = []
    held: list[tuple[float, str, str, str]] = []
    alone: dict[str, list[tuple[float, str]]] = {}
    login: dict[tuple[str, str], float] = {}
    """The nearest later login of each (client, account), going back in time."""
    for i in range(len(portal.times) - 1, portal.head - 1, -1):
        client, account, outcome = portal.rows[i]
        ts = portal.times[i]
        if outcome == 1:
            login[client, account] = ts
        elif outcome == 2:
            if portal.per_client.get(client, 0) >= 2:
                evidence.append(i)
            else:
                alone.setdefault(client, []).insert(0, (ts, portal.ids[i]))
        elif login.get((client, account), math.inf) - ts <= cfg.typo_s:
            continue  # a typo, then the right password
        elif ts > now - cfg.typo_s:
            held.insert(0, (ts, client, account, portal.ids[i]))
        else:
            evidence.append(i)
    evidence.reverse()
    return evidence, held, alone


def _forget_alone(portal: PortalLogins, before: float) -> None:
    """Drop the waiting attempts without outcome older than ``before``: their clients tried
    one account in a window, as people do."""
    for client in list(portal.alone):
        kept = [entry for entry in portal.alone[client] if entry[0] >= before]
        if kept:
            portal.alone[client] = kept
        else:
            del portal.alone[client]


def _forget_waiting(portal: PortalLogins, before: float) -> None:
    """Drop the waiting logins older than ``before``: their clients showed no sign of the
    pool within the window."""
    for client in list(portal.waiting):
        kept = [login for login in portal.waiting[client] if login.ts >= before]
        if kept:
            portal.waiting[client] = kept
        else:
            del portal.waiting[client]


def _of_pool(portal: PortalLogins, client: str, account: str) -> bool:
    """The client failed (or tried without an answer) on an account it has not logged in to, in
    the window or as the open campaign's evidence (a pool paces each address's few attempts
    over an hour or more): the campaign's sign on an address. A proxy of the pool tries each
    account of its list once, with the list's password, and a hit is on an account it did
    not fail on; a resident fails on his own account, then logs in to it (or resets the
    password and logs in later). So a login from an address outside the pool, or a
    resident's to his own account after a typo or a reset, is no takeover; the pool's agents
    are not asked (a pool sends residents' own browsers' agents), nor is an account the pool
    tried (from an address outside it, that is the owner, as on the account's own key).

    What it gets wrong: a household that failed on one member's account and logs in to
    another's from the same address during a campaign."""
    if portal.per_client.get(client, 0) > portal.fixed.get(client, 0):
        return True
    return portal.pool.get(client, account) != account


def _pooled(portal: PortalLogins, client: str, account: str) -> None:
    """The client's failure on ``account`` is the open campaign's evidence."""
    was = portal.pool.get(client)
    portal.pool[client] = account if was is None or was == account else "*"


def _push_portal(
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


def _evict_portal(portal: PortalLogins, before: float) -> None:
    head, times = portal.head, portal.times
    while head < len(times) and times[head] < before:
        client, account, outcome = portal.rows[head]
        _tally(portal, client, account, outcome, -1)
        head += 1
    portal.head = head
    if head > 256 and head * 2 > len(times):
        del portal.times[:head], portal.rows[:head], portal.ids[:head]
        portal.head = 0


def _roll(portal: PortalLogins, ts: float, cfg: LoginAbuseConfig, attacked: bool) -> None:
    """Sample the window's failures every :data:`_BUCKET_S` for the baseline: a sample joins
    the decaying peak a window later (a campaign's ramp is not its own baseline), and none is
    taken while a campaign is open."""
    bucket = int(ts // _BUCKET_S)
    if bucket <= portal.bucket:
        return
    if portal.bucket >= 0:
        gap = bucket - portal.bucket
        portal.peak *= 0.5 ** (gap * _BUCKET_S / cfg.portal_half_life_s)
        if not attacked:
            portal.recent.append((portal.bucket, portal.suspects))
        lag = int(cfg.window_s // _BUCKET_S) + 1
        while portal.recent and portal.recent[0][0] <= bucket - lag:
            portal.peak = max(portal.peak, float(portal.recent.pop(0)[1]))
    portal.bucket = bucket


def _evict_slow(state: LoginState, before: float, cfg: LoginAbuseConfig) -> None:
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
