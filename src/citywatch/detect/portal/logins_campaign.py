"""Credential stuffing from many clients: the portal-wide campaign rule of :mod:`.logins`.

A proxy pool's hundreds of addresses each try a few accounts, under every
per-client threshold; across the portal (the key :data:`PORTAL`) the
failures in the window are far above its usual (a decaying peak sampled
every :data:`BUCKET_S`, :func:`roll`) from many clients (:func:`spreading`).
Its evidence is the campaign's attempts, not the residents' of those minutes
(:func:`campaigns`), and a login from one of the pool's addresses
(:func:`of_pool`) during it is a takeover (:func:`take`).
"""

from __future__ import annotations

import math

from citywatch.detect.base import Episode, detection_id
from citywatch.detect.portal.logins_after import Login
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.logins_state import (
    PORTAL_CAP,
    WATCHED,
    LoginState,
    PortalLogins,
    count,
)

PORTAL = "portal"
"""The portal-wide key."""
BUCKET_S = 600.0
"""How often the portal's failures in the window are sampled for its baseline, seconds."""


def spreading(portal: PortalLogins, cfg: LoginAbuseConfig) -> bool:
    """The window's failed or unanswered logins are a campaign's: many, from many clients,
    far above the portal's usual; mostly failed where outcomes are known (a deadline's rush
    of people mistypes a few per cent), else with many clients trying two accounts or more."""
    if (
        portal.suspects < cfg.portal_failures
        or len(portal.clients) < cfg.portal_clients
        or portal.suspects < cfg.portal_factor * portal.peak
    ):
        return False
    if portal.known >= 0.8 * portal.attempts:
        if portal.failed < cfg.portal_failed_share * portal.known:
            return False  # mostly answered logins: a rush of people, a few mistyping
    elif portal.multi < cfg.portal_multi_share * len(portal.clients):
        return False  # no outcomes: one account per address, as people log in
    return True


def roll(portal: PortalLogins, ts: float, cfg: LoginAbuseConfig, attacked: bool) -> None:
    """Sample the window's failures every :data:`BUCKET_S` for the baseline: a sample joins
    the decaying peak a window later (a campaign's ramp is not its own baseline), and none is
    taken while a campaign is open."""
    bucket = int(ts // BUCKET_S)
    if bucket <= portal.bucket:
        return
    if portal.bucket >= 0:
        gap = bucket - portal.bucket
        portal.peak *= 0.5 ** (gap * BUCKET_S / cfg.portal_half_life_s)
        if not attacked:
            portal.recent.append((portal.bucket, portal.suspects))
        lag = int(cfg.window_s // BUCKET_S) + 1
        while portal.recent and portal.recent[0][0] <= bucket - lag:
            portal.peak = max(portal.peak, float(portal.recent.pop(0)[1]))
    portal.bucket = bucket


def open_campaign(name: str, state: LoginState, ts: float, cfg: LoginAbuseConfig) -> None:
    """Open the portal-wide episode of detector ``name`` on the window's attempts that are
    the campaign's (see :func:`campaigns`); failures too young to tell wait in ``held``."""
    portal = state.portal
    assert portal is not None
    evidence, portal.held, portal.alone = campaigns(portal, ts, cfg)
    state.episode = Episode(
        id=detection_id(name, "login-spread", PORTAL, ts),
        fired=ts,
        first=portal.times[evidence[0]] if evidence else ts,
        last=ts,
        evidence=[portal.ids[i] for i in evidence],
    )
    for i in evidence:
        count(state, portal.rows[i][0], True)
        pooled(portal, portal.rows[i][0], portal.rows[i][1])
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
            campaign_login(state, login)


def campaigns(
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


def campaign_login(state: LoginState, login: Login) -> bool:
    """A successful login during the portal-wide campaign: a takeover when its client is
    one of the pool's (:func:`of_pool`), else it waits for the client to show it; True
    when the detection should be re-emitted."""
    portal = state.portal
    assert portal is not None
    if of_pool(portal, login.client, login.account):
        return take(state, login)
    waiting = portal.waiting
    if login.client not in waiting and len(waiting) >= PORTAL_CAP:
        del waiting[next(iter(waiting))]
    logins = waiting.setdefault(login.client, [])
    if len(logins) < WATCHED:
        logins.append(login)
    return False


def confirm(state: LoginState, client: str, now: float, cfg: LoginAbuseConfig) -> bool:
    """A client whose logins wait failed or tried another account: they are takeovers if
    that makes it one of the pool's, within the window; True when the detection should be
    re-emitted."""
    portal = state.portal
    assert portal is not None
    grown, kept = False, []
    for login in portal.waiting.pop(client):
        if login.ts < now - cfg.window_s:
            continue
        if of_pool(portal, client, login.account):
            grown = take(state, login) or grown
        else:
            kept.append(login)
    if kept:
        portal.waiting[client] = kept
    return grown


def take(state: LoginState, login: Login) -> bool:
    """A takeover in the portal-wide campaign: its account listed, its login and the
    requests after it evidence; True when the detection should be re-emitted."""
    episode = state.episode
    assert episode is not None
    if login.account not in state.taken_over:
        state.taken_over.append(login.account)
    watched = state.watch.setdefault(login.client, [])
    if len(watched) < WATCHED:
        watched.append(login)
    grown = episode.add(login.id, login.ts)
    for when, event_id, _ in login.after:
        grown = episode.add(event_id, when) or grown
    return grown


def release(state: LoginState, now: float, cfg: LoginAbuseConfig, *, closing: bool = False) -> bool:
    """Make the campaign's evidence of the held failures no login followed within
    ``typo_s`` (all of them when the episode closes); True when the detection should be
    re-emitted."""
    portal, episode = state.portal, state.episode
    assert portal is not None
    assert episode is not None
    held, before = portal.held, now - cfg.typo_s
    n = 0
    while n < len(held) and (closing or held[n][0] <= before):
        n += 1
    if not n:
        return False
    grown = False
    for ts, client, account, event_id in held[:n]:
        count(state, client, True)
        pooled(portal, client, account)
        grown = episode.add(event_id, ts) or grown
    del held[:n]
    return grown


def unanswered(
    state: LoginState, ts: float, client: str, event_id: str, cfg: LoginAbuseConfig
) -> bool:
    """An attempt without outcome during the campaign: evidence, with the client's earlier
    ones, once the client has tried two accounts in the window; else it waits. True when
    the detection should be re-emitted."""
    portal, episode = state.portal, state.episode
    assert portal is not None
    assert episode is not None
    if portal.per_client.get(client, 0) < 2:
        portal.alone.setdefault(client, []).append((ts, event_id))
        return False
    grown = False
    portal.pool[client] = "*"  # two accounts or more
    for when, held_id in [*portal.alone.pop(client, []), (ts, event_id)]:
        if when >= ts - cfg.window_s:
            count(state, client, True)
            grown = episode.add(held_id, when) or grown
    return grown


def of_pool(portal: PortalLogins, client: str, account: str) -> bool:
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


def pooled(portal: PortalLogins, client: str, account: str) -> None:
    """The client's failure on ``account`` is the open campaign's evidence."""
    was = portal.pool.get(client)
    portal.pool[client] = account if was is None or was == account else "*"
