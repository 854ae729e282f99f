"""Whether a client's address is one many people share: the one verdict of :mod:`.logins`.

Stuffing gets in on a few per cent of a list, guessing on one account; an
address whose successful logins are many beside its failures is a carrier's
NAT, an office proxy or a university, whose people log in (a few after a
typo). Every rule, and every detection's wording and measures, takes the
verdict of :func:`sharing` on such an address, never a threshold of its own.
"""

from __future__ import annotations

from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.logins_state import LoginState

NOT_SHARED, SHARED, TYPOS = 0, 1, 2
"""Verdicts of :func:`sharing` on a client's address."""


def typos(state: LoginState) -> int:
    """A client's suspect attempts in the window on accounts it then logged in to (a typo,
    then the right password); not where the source shows no account (``?``)."""
    if not state.distinct:
        return 0
    logged_in = {
        state.others[i] for i in range(state.head, len(state.times)) if not state.suspect[i]
    }
    logged_in.discard("?")
    return sum(n for other, n in state.distinct.items() if other in logged_in)


def logged_in(state: LoginState) -> tuple[int, int | None]:
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


def sharing(
    logins: int,
    failures: int,
    cfg: LoginAbuseConfig,
    agents: int | None = None,
    people: bool = True,
) -> int:
    """What a client's address is, by its successful logins beside its failures: the one
    verdict every rule and every detection's wording and measures take.

    - :data:`TYPOS`: many people log in from it (a carrier's CGNAT, an office proxy, a
      university) and it fails no more than their typos and forgotten passwords make
      (``shared_logins`` logins per failure or more): no attack, in the short window or the
      long one;
    - :data:`SHARED`: many people log in from it (more than ``shared_hits`` logins per
      failure: stuffing gets in on a few per cent of a list, guessing on one account), and it
      fails more than their typos explain: a detection, but its logins are the residents' (no
      takeover is assumed) and it proposes nothing that locks them all out (no block of the
      address: per-account limits, a challenge, a look at the accounts first). Where the
      source shows the accounts, only if the logins are each a person's (``people``, see
      :func:`many_people`): a stuffer's list can yield 20 % (over ``shared_hits``), and one
      with a dozen accounts of his own logs in to them between guesses, both from his tool's
      one agent and no session;
    - :data:`NOT_SHARED`: one party, whose logins may be the attack's hits.

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
    decides.

    >>> cfg = LoginAbuseConfig()  # 3 logins per failure: typos; over 0.25: shared
    >>> [sharing(logins, 10, cfg) for logins in (30, 5, 2)] == [TYPOS, SHARED, NOT_SHARED]
    True
    >>> sharing(30, 10, cfg, agents=1) == NOT_SHARED  # one browser's logins: one party
    True
    >>> sharing(5, 10, cfg, people=False) == NOT_SHARED  # hits on a list, from one tool
    True

    ``people`` decides no :data:`TYPOS`: three logins per failure is beyond any list's
    yield, and the logins of a carrier's residents in its app send no session and the
    agents of a few phone models (300 logins came from eight), fewer than their accounts.
    """
    if agents is not None and agents < cfg.shared_agents:
        return NOT_SHARED
    if logins >= cfg.shared_logins * failures:
        return TYPOS
    return SHARED if people and logins > cfg.shared_hits * failures else NOT_SHARED


def many_people(identities: int, accounts: int, cfg: LoginAbuseConfig) -> bool:
    """Attempts on ``accounts`` accounts from ``identities`` distinct identities
    (:func:`.logins_state.identity_of`: a session, else a user agent) are each a person's:
    ``blind_people`` identities per account or more.

    The people behind an office's, a university's or a carrier's address each log in from
    a browser session or a phone of their own: about one identity per account, a few fewer
    where a household shares a browser or phones of one model show one user agent. A
    stuffing tool goes through its list with the few user agents it has and sends no
    session, or a new one now and then: a proxy of a pool tried 52 accounts in 25 minutes
    with 16 agents and 19 sessions, one 55 accounts with one agent and none.

    >>> cfg = LoginAbuseConfig()  # 0.8 identities per account
    >>> many_people(9, 10, cfg), many_people(1, 10, cfg)
    (True, False)
    """
    return identities >= cfg.blind_people * accounts


def login_person(state: LoginState, identity: int) -> None:
    """Count who made a client's episode login (:func:`.logins_state.identity_of`), up to as
    many as the accounts it logged in to (``taken_over``): :func:`many_people` needs no more."""
    if identity not in state.ep_people and len(state.ep_people) < len(state.taken_over):
        state.ep_people.append(identity)


def login_agent(state: LoginState, agent: int, cfg: LoginAbuseConfig) -> None:
    """Count a client's episode login that shows no account by its user agent (none: 0)."""
    if agent and agent not in state.ep_agents and len(state.ep_agents) < cfg.shared_agents:
        state.ep_agents.append(agent)


def typos_over_hours(state: LoginState, cfg: LoginAbuseConfig) -> bool:
    """:func:`sharing` on a client's long window, where its source shows no account (an
    access log), says typos: there a typo cannot be told from a guess by the account it was
    on, and half an hour of a busy shared address holds ten typos by chance (a university's
    400 logins in six hours, one in eight after a typo, did); its hours do not."""
    failures = len(state.slow) - state.slow_head
    agents = len(set(state.slow_agents)) if state.named_agents else None
    return failures > 0 and sharing(len(state.slow_logins), failures, cfg, agents) == TYPOS


def episode_shared(state: LoginState, cfg: LoginAbuseConfig) -> bool:
    """:func:`sharing` on a client's open episode: its logins are many people's. As in the
    short window (:func:`logged_in`), where the source shows the account they are the
    distinct accounts logged in to (``taken_over``): a stuffer logging in to one account of
    his own again and again is one party; and they must be each a person's
    (:func:`many_people`, by ``ep_people``) unless none showed a session or an agent, where
    their number alone decides. Where the source shows no account, the logins, from
    ``shared_agents`` agents or more."""
    failed = state.ep_attempts - state.ep_successes
    if "?" not in state.ep_others:
        accounts = len(state.taken_over)
        people = not any(state.ep_people) or many_people(len(state.ep_people), accounts, cfg)
        return sharing(accounts, failed, cfg, people=people) != NOT_SHARED
    agents = len(state.ep_agents) if state.named_agents else None
    return sharing(state.ep_successes, failed, cfg, agents) != NOT_SHARED
