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
  (see :func:`.logins_campaign.campaigns`): a failure the same client follows within
  ``typo_s`` with a login to the same account is a typo and is left out
  (the evidence waits that long for it); without outcomes, the attempts of a
  client that tried one account. Where the source shows no account (an
  access log) a client's login takes its failures of the ``typo_s`` before
  out, a proxy's too when it got in. A login during the campaign from one of
  its addresses (one that failed on another account, see :func:`.logins_campaign.of_pool`)
  is a takeover: its account is listed, pseudonymised, and resets proposed.

A client's failures on an account it then logged in to within the window are
typos, not evidence (many people behind one address, an office's or a mobile
carrier's, log in, a few after a typo); failures on accounts it never got
into are. Stuffing succeeds on a few per cent of a list: a client whose
logins are many beside its failures is an address many people share, one
verdict for every rule (:func:`.logins_sharing.sharing`): with failures as few as their
typos (``shared_logins``) no attack; with more, a detection that calls their
logins no takeover and never proposes blocking the address. Where the
source shows the accounts, the logins must also come from about as many
sessions or user agents as accounts (``blind_people``): a stuffer's high-yield
list, or his own accounts, log in from his tool's few.
Without outcomes (a mirror with no response), many accounts each tried once
at a human pace is what a crowd behind a proxy looks like: there the
attempts must come at a machine's pace (``blind_burst_s``), repeat accounts,
or name more accounts than people behind one address log in to
(``blind_accounts``) from fewer sessions and user agents than a crowd's
(``blind_people``; see :func:`.logins_keys.blind_evidence`); such a
detection says the outcomes are unknown, under the playbook's block and
less sure than one on known failures.

Successful logins by a client already flagged, and on an account under attack
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

Modules: the thresholds in :mod:`.logins_config`, the windows in
:mod:`.logins_state`, the shared-address verdict in :mod:`.logins_sharing`,
the rules of a client's or an account's key in :mod:`.logins_keys`, the
portal-wide campaign in :mod:`.logins_campaign`, the requests after a
takeover in :mod:`.logins_after`, and what the detections say in
:mod:`.logins_emit`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import msgspec
from pydantic import BaseModel

from citywatch.detect.base import Detector
from citywatch.detect.portal.hits import DATASETS
from citywatch.detect.portal.logins_after import Login, endpoint, follows
from citywatch.detect.portal.logins_campaign import (
    PORTAL,
    campaign_login,
    confirm,
    open_campaign,
    release,
    roll,
    spreading,
    unanswered,
)
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.logins_emit import describe
from citywatch.detect.portal.logins_keys import open_short, open_slow, short_evidence, took
from citywatch.detect.portal.logins_sharing import episode_shared, login_agent, typos_over_hours
from citywatch.detect.portal.logins_state import (
    OUTCOME,
    PORTAL_CAP,
    LoginState,
    PortalLogins,
    agent_of,
    count,
    evict_portal,
    evict_slow,
    forget_alone,
    forget_waiting,
    identity_of,
    push_portal,
)
from citywatch.model import Detection, Event

__all__ = ["PORTAL", "LoginAbuse", "LoginAbuseConfig", "LoginState"]


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
        self._cookies = frozenset(c.lower() for c in self.cfg.session_cookies)
        self._open: set[str] = set()
        """The keys with an open episode: the only ones a request that is no login may be
        evidence for (what a taken-over account was used for). Most requests are no login,
        and routing each to every key that has a state cost the access-log job 3 %."""
        self._takers: dict[str, list[str]] = {}
        """Per client: the account keys whose open episode watches its requests (it logged in
        to the account after failing on it). Its requests name no account where the source
        records none on them, so the account's key cannot be found from the request."""

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
        open_ = self._open
        if not open_ or event.action == "login":  # no attack under way: the common case
            return ()
        keys = [PORTAL] if PORTAL in open_ else []
        if (client := event.source_pseudonym) is not None:
            if (key := f"src:{client}") in open_:
                keys.append(key)
            keys += self._takers.get(client, ())
        user = event.user_id
        if user is not None and (key := f"acct:{user}") in open_ and key not in keys:
            keys.append(key)  # not twice where its taker's request names it
        return tuple(keys)

    def restored(self, states: Mapping[str, LoginState]) -> None:
        self._open, self._takers = set(), {}
        for key, state in states.items():
            self._track(key, state)

    def _track(self, key: str, state: LoginState) -> None:
        """Keep :attr:`_open` and :attr:`_takers` right after ``state`` (of ``key``) changed
        (:meth:`_close` takes an account's takers out)."""
        if state.episode is None:
            self._open.discard(key)
            return
        self._open.add(key)
        if key.startswith("acct:"):
            for client in state.watch:
                if key not in (keys := self._takers.setdefault(client, [])):
                    keys.append(key)

    def new_state(self, key: str) -> LoginState:
        return LoginState()

    def update(self, key: str, state: LoginState, event: Event, out: list[Detection]) -> None:
        if event.action != "login":
            self._after(key, state, event, out)
            return
        if key == PORTAL:
            self._portal(state, event, out)
        else:
            self._attempt(key, state, event, out)
        self._track(key, state)

    def _attempt(self, key: str, state: LoginState, event: Event, out: list[Detection]) -> None:
        """A login attempt on a client's or an account's key (see :mod:`.logins_keys`)."""
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
        agent = agent_of(event)
        state.agents.append(agent)
        state.identities.append(identity_of(event, agent, self._cookies) if by_client else 0)
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
            evict_slow(state, ts - self.cfg.slow_window_s, self.cfg)
        episode = state.episode
        if episode is not None:
            if by_client and not suspect and other == "?":
                login_agent(state, agent, self.cfg)
            if not by_client and not suspect and other not in state.distinct:
                state.ep_owner += 1  # the owner, most likely: no evidence of the attack
                return
            count(state, other, suspect)
            if not suspect:
                took(key, state, len(state.times) - 1, self.cfg)
            if episode.add(event.id, ts):
                out.append(self._emit(key, state))
            return
        threshold = self.cfg.failures if by_client else self.cfg.account_failures
        if short_evidence(state, event, by_client, threshold, self.cfg):
            open_short(self.name, key, state, event, by_client, self.cfg)
            out.append(self._emit(key, state))
            return
        if len(state.slow) - state.slow_head < self.cfg.slow_failures:
            return
        if by_client and typos_over_hours(state, self.cfg):
            return  # many people's logins over the hours, and failures as few as their typos
        open_slow(self.name, key, state, event)
        out.append(self._emit(key, state))

    def _portal(self, state: LoginState, event: Event, out: list[Detection]) -> None:
        """Stuffing through a proxy pool: failures across the portal, far above its usual
        (see :mod:`.logins_campaign`)."""
        cfg, ts = self.cfg, event.timestamp
        portal = state.portal
        if portal is None:
            portal = state.portal = PortalLogins()
        if state.episode is not None:
            if release(state, ts, cfg):
                out.append(self._emit(PORTAL, state))
            if ts - state.episode.last > self._gap(state):
                self._close(PORTAL, state, out)
        roll(portal, ts, cfg, state.episode is not None)
        evict_portal(portal, ts - cfg.window_s)
        outcome = OUTCOME.get(event.outcome or "", 2)
        client, account = event.source_pseudonym or "?", event.user_id or "?"
        if len(portal.times) - portal.head >= PORTAL_CAP:
            evict_portal(portal, portal.times[portal.head] + 1e-9)
        push_portal(portal, ts, client, account, outcome, event.id)
        if state.episode is None:
            if outcome != 1 and spreading(portal, cfg):
                open_campaign(self.name, state, ts, cfg)
                out.append(self._emit(PORTAL, state))
            return
        state.ep_accounts = max(state.ep_accounts, len(portal.accounts))
        grown = False
        if outcome == 0:
            portal.held.append((ts, client, account, event.id))
        elif outcome == 2:
            grown = unanswered(state, ts, client, event.id, cfg)
        else:
            state.ep_attempts += 1
            state.ep_successes += 1
            # the failures it follows on the account were its typos, not the campaign's
            portal.held = [h for h in portal.held if h[1] != client or h[2] != account]
            login = Login(ts=ts, client=client, account=account, agent=agent_of(event), id=event.id)
            grown = account != "?" and campaign_login(state, login)
        if grown:
            out.append(self._emit(PORTAL, state))
        if outcome != 1 and client in portal.waiting and confirm(state, client, ts, cfg):
            out.append(self._emit(PORTAL, state))

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
        if key.startswith("src:") and episode_shared(state, self.cfg):
            return  # many people's logins, and requests
        agent, follow_s = agent_of(event), self.cfg.follow_s
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

    def expire(self, key: str, state: LoginState, watermark: float, out: list[Detection]) -> bool:
        portal = state.portal
        if portal is not None:
            evict_portal(portal, watermark - self.cfg.window_s)
            if state.episode is not None:
                if release(state, watermark, self.cfg):
                    out.append(self._emit(PORTAL, state))
                forget_alone(portal, watermark - self.cfg.window_s)
                forget_waiting(portal, watermark - self.cfg.window_s)
                if watermark - state.episode.last > self._gap(state):
                    self._close(key, state, out)
            self._track(key, state)
            return state.episode is None and portal.head >= len(portal.times)
        state.evict(watermark - self.cfg.window_s)
        if state.slow:
            evict_slow(state, watermark - self.cfg.slow_window_s, self.cfg)
        episode = state.episode
        if episode is not None and watermark - episode.last > self._gap(state):
            self._close(key, state, out)
        self._track(key, state)
        return state.episode is None and state.head >= len(state.times) and not state.slow

    def _gap(self, state: LoginState) -> float:
        """The idle time that closes the open episode: longer for a low-and-slow one."""
        return self.cfg.slow_gap_s if state.ep_slow else self.cfg.gap_s

    def _close(self, key: str, state: LoginState, out: list[Detection]) -> None:
        """Emit the episode's final version and forget it, and the long window's failures
        with it (they are reported: a new episode needs failures of its own)."""
        if state.portal is not None:
            release(state, math.inf, self.cfg, closing=True)
            state.portal.alone = {}
            state.portal.waiting = {}
            state.portal.pool = {}
        out.append(self._emit(key, state))
        state.episode = None
        state.ep_slow = state.ep_blind = False
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
        state.ep_people = []
        for client in state.watch if key.startswith("acct:") else ():
            if key in (keys := self._takers.get(client, [])):
                keys.remove(key)
                if not keys:
                    del self._takers[client]
        state.watch = {}

    def _emit(self, key: str, state: LoginState) -> Detection:
        episode = state.episode
        assert episode is not None
        said = describe(key, state, self.cfg)
        return self.detection(
            episode,
            rule_id=said.rule,
            rule_name=said.label,
            severity=said.severity,
            confidence=said.confidence,
            category="cyber",
            summary=said.summary,
            entity=said.entity,
            tags=said.tags,
            attributes=said.attributes,
        )
