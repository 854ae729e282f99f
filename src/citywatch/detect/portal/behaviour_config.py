"""The thresholds of :mod:`.behaviour`, with why each default is what it is."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from citywatch.detect.portal.logins import LoginAbuseConfig

_LOGIN_ABUSE = LoginAbuseConfig.model_fields


class BehaviourConfig(BaseModel):
    """Windows and thresholds of the portal behaviour rules (rates are per minute)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gap_s: float = Field(900.0, gt=0, description="idle time that closes a detection, seconds")
    window_cap: int = Field(512, ge=16, description="events a window keeps per key, at most")

    crawler_ranges: Path | None = Field(
        None,
        description="the search crawlers' ranges `citywatch crawlers refresh` fetched (default:"
        " DATA_DIR/crawler-ranges.json); of each operator's list the newer of it and the"
        " package's is used: a crawler's misses are no scan, a forger's are",
    )
    crawler_ranges_days: int = Field(
        30,
        ge=1,
        description="age of the refreshed crawler ranges in use, days, beyond which every run"
        " says the refresh has stopped (operators add ranges: a real crawler's new address"
        " passes for forged); the installed release's own lists are never said to be old",
    )

    scan_window_s: float = Field(300.0, gt=0, description="scanning window, seconds")
    scan_paths: int = Field(
        25, ge=2, description="distinct paths answered 4xx (403, 404...) that make a scan"
    )
    scan_share: float = Field(
        0.5, gt=0, le=1, description="share of the client's requests in the window that missed"
    )

    scan_long_s: float = Field(
        7200.0,
        gt=0,
        description="slow scanning's window, seconds (18 misses in 5 min, or a miss then a "
        "page, stay under the short window's)",
    )
    scan_long_paths: int = Field(
        60, ge=2, description="distinct paths answered 4xx within the long window for a scan"
    )
    scan_long_share: float = Field(
        0.3, gt=0, le=1, description="share of the client's requests in the long window missed"
    )
    flood_client_rate: float = Field(
        300.0,
        gt=0,
        description="requests per minute from one client that can be a flood (a person's "
        "browser sends a few dozen; one program at 5 a second for minutes is no person)",
    )
    flood_factor: float = Field(
        5.0, gt=1, description="times the client's own recent peak that makes a flood"
    )
    flood_agents: int = Field(
        2, ge=1, description="user agents at most in a flood minute (a NAT has many)"
    )
    flood_hard_rate: float = Field(
        6000.0, gt=0, description="requests per minute that flood whatever the user agents"
    )
    flood_half_life_s: float = Field(
        6 * 3600.0, gt=0, description="half-life of a client's peak rate (its baseline)"
    )
    portal_rate: float = Field(
        3000.0, gt=0, description="portal-wide requests per minute that can be a flood"
    )
    portal_dos_rate: float = Field(
        600.0,
        gt=0,
        description="portal-wide requests per minute that flood when they show a denial of "
        "service's signs (one path taking most, many requests per client): below the crowd's "
        "floor, so that 40 bots each under a client's floor are not hidden by it",
    )
    portal_factor: float = Field(
        3.0, gt=1, description="times the learned or rolling peak that makes a portal flood"
    )
    portal_half_life_s: float = Field(
        24 * 3600.0, gt=0, description="half-life of the portal's rolling peak rate"
    )
    portal_rise: float = Field(
        1.25,
        gt=1,
        description="times per hour, at most, that busier minutes lift the portal's rolling "
        "peak (after the warm-up): a morning rush of 20 to 100 a minute over 3 h stays under "
        "the flood factor, hours of an attacker's traffic under it lift its bar little",
    )
    portal_learned_bound: float = Field(
        2.0,
        ge=1,
        description="times the learned rate of the hour (--learn) that the portal's rolling "
        "peak counts for at most: however long traffic under the flood factor lasts, a flood "
        "fires at this times the flood factor times the learned rate",
    )
    warmup_s: float = Field(
        1800.0, ge=0, description="history before the rolling portal baseline is trusted"
    )

    object_prefixes: tuple[str, ...] = Field(
        (
            "/tax/returns/",
            "/documents/",
            "/api/v1/tax/returns/",
            "/api/v1/documents/",
            "/account/records/",
        ),
        description="path prefixes of citizen records, whose next segment is a record id",
    )
    idor_window_s: float = Field(600.0, gt=0, description="enumeration window, seconds")
    idor_ids: int = Field(15, ge=2, description="distinct record ids that can be enumeration")
    idor_sequential: float = Field(
        0.6, gt=0, le=1, description="share of requests one id step after the previous"
    )
    idor_denied: float = Field(
        0.5, gt=0, le=1, description="share of requests denied (401/403/404)"
    )
    idor_per_identity: float = Field(
        100.0,
        gt=1,
        description="distinct ids per session (or user agent) that is enumeration on the count "
        "alone: far more than a person reads (an accountant opens 40 clients' returns in 10 min)",
    )

    spray_window_s: float = Field(
        8 * 3600.0,
        gt=0,
        description="password-spraying window, seconds (20 accounts one every 18 min is 6 h)",
    )
    spray_gap_s: float = Field(
        3600.0,
        gt=0,
        description="idle time that closes a spraying detection, seconds: spraying is slow by "
        "nature (a guess every 17 min was 7 detections with the 15 min of the others)",
    )
    spray_accounts: int = Field(
        15, ge=2, description="accounts failed and never logged into that make spraying"
    )
    spray_per_account: float = Field(
        3.0,
        gt=0,
        description="attempts per account at most (spraying tries each a few times: three "
        "passwords, account by account, is three each)",
    )
    spray_passwords: int = Field(
        4, ge=1, description="distinct passwords at most, when the bodies show them"
    )
    spray_cap: int = Field(4096, ge=64, description="login attempts a client's window keeps")
    stuffing_window_s: float = Field(
        _LOGIN_ABUSE["window_s"].default,
        gt=0,
        description="login-abuse's window (keep them equal): faster attacks are left to it",
    )
    stuffing_failures: int = Field(
        _LOGIN_ABUSE["failures"].default,
        ge=2,
        description="login-abuse's failures per window (keep them equal): faster is left to it",
    )
    password_fields: tuple[str, ...] = Field(
        ("password", "passwd", "pass", "pwd", "j_password"),
        description="fields that carry a login's password (only a one-byte hash is kept)",
    )
    session_cookies: tuple[str, ...] = Field(
        _LOGIN_ABUSE["session_cookies"].default,
        description="cookies that carry a session id (kept only as a hash)",
    )

    actions: dict[str, str] = Field(
        {
            "POST /address/change": "address change",
            "POST /tax/file": "tax filing",
            "POST /complaints": "complaint",
            "POST /api/v1/complaints": "complaint",
        },
        description="business actions by 'METHOD template'",
    )
    action_window_s: float = Field(3600.0, gt=0, description="mass-action window, seconds")
    action_count: int = Field(10, ge=2, description="actions of one kind that can be mass actions")
    action_per_identity: float = Field(
        3.0, gt=1, description="actions per session (or user agent) that are not one person's"
    )
    action_agents: int = Field(
        1, ge=0, description="user agents at most of many actions in many sessions (one program)"
    )
    action_per_address: int = Field(
        40,
        ge=2,
        description="actions of one kind from one client per window that are mass actions "
        "whatever its sessions and agents: above a NAT's (its people move house or file a "
        "return a few times an hour), below the hard limit that also binds sessions",
    )
    action_hard: int = Field(
        100, ge=2, description="actions of one kind per window that are mass actions regardless"
    )
