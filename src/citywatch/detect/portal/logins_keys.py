"""The rules on one client's or one account's key of :mod:`.logins`: when its window fires.

A client's key fires on its short window's suspect attempts (stuffing on many
accounts, guessing on few), net of its typos and unless its address is one
many people share (:mod:`.logins_sharing`); an account's on the attempts of
any clients. Both fire low and slow on the known failures of the long window.
Once open, an episode's successful logins are takeovers (:func:`took`).
"""

from __future__ import annotations

from citywatch.detect.base import Episode, detection_id
from citywatch.detect.portal.logins_after import Login
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.logins_sharing import (
    TYPOS,
    episode_shared,
    logged_in,
    login_agent,
    login_person,
    many_people,
    sharing,
    typos,
    typos_over_hours,
)
from citywatch.detect.portal.logins_state import WATCHED, LoginState, count
from citywatch.model import Event


def short_evidence(
    state: LoginState, event: Event, by_client: bool, threshold: int, cfg: LoginAbuseConfig
) -> bool:
    """The short window's suspect attempts are evidence enough to fire."""
    if state.suspects < threshold:
        return False
    if not by_client:
        return True
    evidence = state.suspects - typos(state)
    if evidence < threshold:
        return False  # people behind one address who mistyped, then logged in
    logins, agents = logged_in(state)
    if sharing(logins, evidence, cfg, agents) == TYPOS or typos_over_hours(state, cfg):
        return False  # many people's logins, and failures as few as their typos
    # without outcomes: distinct accounts once each, at a human pace, are no evidence
    return event.outcome is not None or blind_evidence(state, threshold, cfg)


def open_short(
    name: str, key: str, state: LoginState, event: Event, by_client: bool, cfg: LoginAbuseConfig
) -> None:
    """Open an episode of detector ``name`` on the short window's attempts."""
    ts = event.timestamp
    window = [
        i
        for i in range(state.head, len(state.times))
        if by_client or state.suspect[i] or state.others[i] in state.distinct
    ]
    state.ep_owner = len(state.times) - state.head - len(window)
    state.episode = Episode(
        id=detection_id(name, "login", key, ts),
        fired=ts,
        first=state.times[window[0]],
        last=ts,
        evidence=[state.ids[i] for i in window],
    )
    state.address = event.source_ip if by_client else None
    state.ep_blind = by_client and event.outcome is None
    for i in window:
        count(state, state.others[i], state.suspect[i])
        if not state.suspect[i] and state.others[i] == "?":
            login_agent(state, state.agents[i], cfg)
    for i in window:
        if not state.suspect[i]:
            took(key, state, i, cfg)


def took(key: str, state: LoginState, i: int, cfg: LoginAbuseConfig) -> None:
    """The successful login ``i`` of the window during a client's or an account's episode:
    a takeover (listed in ``taken_over``, and who made it in ``ep_people``), whose requests
    after it are watched unless the client's address is one many people share (its logins
    are theirs, and so are its requests)."""
    other, ts, agent, event_id = state.others[i], state.times[i], state.agents[i], state.ids[i]
    if other not in state.taken_over:
        state.taken_over.append(other)
    if key.startswith("src:"):
        login_person(state, state.identities[i])
        if episode_shared(state, cfg):
            return
        client, account = key[4:], other
    else:
        client, account = other, key[5:]
    logins = state.watch.setdefault(client, [])
    if len(logins) < WATCHED:
        logins.append(Login(ts=ts, client=client, account=account, agent=agent, id=event_id))


def open_slow(name: str, key: str, state: LoginState, event: Event) -> None:
    """Open an episode of detector ``name``, low and slow: an account's failures over hours,
    or a client's where the source does not show the account, under the short window's."""
    ts = event.timestamp
    window = state.slow[state.slow_head :]
    state.episode = Episode(
        id=detection_id(name, "login", key, ts),
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


def blind_evidence(state: LoginState, threshold: int, cfg: LoginAbuseConfig) -> bool:
    """Without outcomes: the suspect attempts repeat accounts (guessing), name none (an
    access log), came fast (a tool: the last ``threshold`` of them within ``blind_burst_s``),
    or, at a human pace, name more accounts than people log in to (``blind_accounts``) from
    fewer people than accounts (``blind_people``).

    A person logs in to one account, a household to a few; the people behind an office's,
    a university's or a carrier's address log in to many, each as a person of their own
    (:func:`.logins_sharing.many_people`).

    What it cannot tell: a tool that makes up a session (or a user agent) for every attempt,
    at a human pace, looks like a crowd; and people who log in without sessions (an app)
    with phones that send one user agent, many of them within half an hour, look like a
    tool; where the requests show neither session nor agent, the accounts alone decide.
    The detection says that the outcomes are unknown, at a severity under the playbook's
    block (see :mod:`.logins_emit`)."""
    distinct = state.distinct
    if "?" in distinct or state.suspects >= 2 * len(distinct):
        return True
    if len(distinct) >= cfg.blind_accounts:
        people = {
            state.identities[i] for i in range(state.head, len(state.times)) if state.suspect[i]
        }
        if not many_people(len(people), len(distinct), cfg):
            return True
    seen = 0
    for i in range(len(state.times) - 1, state.head - 1, -1):
        if state.suspect[i]:
            seen += 1
            if seen >= threshold:
                return state.times[-1] - state.times[i] <= cfg.blind_burst_s
    return False
