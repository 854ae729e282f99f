"""The thresholds of :mod:`.logins`, the login-abuse detector's config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    blind_accounts: int = Field(
        20,
        ge=2,
        description="without outcomes, distinct accounts one client tries within the window "
        "that can be stuffing at a human pace: more than a household has, and than the "
        "people behind an office's or a university's address log in to in half an hour "
        "(a campus's busiest half hour was 12)",
    )
    blind_people: float = Field(
        0.8,
        gt=0,
        le=1,
        description="the identities (a session, else a user agent) per account of a client's "
        "attempts below which they are not each a person's login: without outcomes, of its "
        "attempts on many accounts at a human pace (no stuffing above it); with them, of its "
        "logins (an address many people share, no block proposed, only above it). People "
        "behind one address log in from browsers and phones of their own, a stuffing tool "
        "goes through its list with a few agents (16 for 52 accounts)",
    )
    session_cookies: tuple[str, ...] = Field(
        ("aldsid", "sessionid", "session", "jsessionid", "phpsessid", "asp.net_sessionid"),
        description="cookies that carry a session id (kept only as a hash)",
    )
