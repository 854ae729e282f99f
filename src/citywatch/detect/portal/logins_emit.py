"""What the login-abuse rules of :mod:`.logins` say: names, techniques, measures, summaries."""

from __future__ import annotations

from typing import NamedTuple

from citywatch.detect.base import Episode
from citywatch.detect.portal.hits import BLOCK_CLIENTS, TARGET
from citywatch.detect.portal.logins_after import summary as summary_after
from citywatch.detect.portal.logins_campaign import PORTAL
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.logins_sharing import episode_shared
from citywatch.detect.portal.logins_state import LoginState
from citywatch.model import SPARED

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
_TAKEOVER = ["Force a password reset and end all sessions of the accounts that logged in"]
_CHECK_LOGINS = [
    "Check the accounts that logged in for signs of takeover (a new device, changed contact "
    "details) before forcing resets: most are likely their owners behind a shared address"
]
_LOOK_SEVERITY = 50
"""A flagged address many people share, or a client's attempts whose outcomes are unknown:
under the 60 at which the city's playbook blocks the source (``contain-web-attack``), in
the band where it tells the SOC to look."""
_BLIND_CONFIDENCE = 0.6
"""The most a client's detection on attempts whose outcomes are unknown is sure of: they
show the trying, not that the passwords were wrong."""
_CHECK_OUTCOMES = (
    "Check the application log for the outcomes of these attempts (the source records none) "
    "and block the address if most failed"
)
_DONT_BLOCK = (
    "Do not block the address: many people log in from it. Limit failed logins per account "
    "and put a challenge (CAPTCHA) on logins from it, and look at the accounts it failed on "
    "in the application log before limiting more"
)


_MANY = "many people log in from it"
_MANY_UNSEEN = (
    "many people log in from it, by their user agents: the log shows no accounts, and an "
    "attacker with one of his own could vary his"
)
"""Why an address is spared any block: its logins are many people's, by their accounts or,
where the source shows none (an access log), by their user agents, which one attacker with
an account of his own can imitate (the responder who reads it can still block by hand)."""


class Said(NamedTuple):
    """A detection's content but for its episode (see :func:`describe`)."""

    rule: str
    label: str
    tags: list[str]
    severity: int
    confidence: float
    summary: str
    entity: dict[str, str]
    attributes: dict[str, object]


def describe(key: str, state: LoginState, cfg: LoginAbuseConfig) -> Said:
    """What the detection of ``key``'s open episode says: its rule, severity, summary,
    entity and figures."""
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
        (rule, label, tag), severity, summary, shared = _client_summary(state, episode, cfg)
        entity = {"target": TARGET}
        if state.address:
            entity["source.ip"] = state.address
        entity["source.pseudonym"] = key[4:]
    measures = _measures(rule, state, by_client and shared, state.ep_blind)
    extra: dict[str, object] = {}  # what only some detections carry
    watched = [login for logins in state.watch.values() for login in logins]
    if watched and not (by_client and shared):
        extra["after_takeover"] = summary_after(watched)
    if by_client and shared and state.address:  # no block takes it (respond.evidence)
        unseen = set(state.ep_others) == {"?"}
        extra[SPARED] = {state.address: _MANY_UNSEEN if unseen else _MANY}
    confidence = min(
        _BLIND_CONFIDENCE if state.ep_blind else 0.99,
        0.5 + 0.05 * (state.ep_attempts - state.ep_successes),
    )
    return Said(
        rule=rule,
        label=label,
        tags=[tag, *_ALSO.get(rule, ()), "attack.credential_access"],
        severity=severity,
        confidence=confidence,
        summary=summary,
        entity=entity,
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
                **extra,
            }
        },
    )


def _client_summary(
    state: LoginState, episode: Episode, cfg: LoginAbuseConfig
) -> tuple[tuple[str, str, str], int, str, bool]:
    """Rule, severity and summary of a client's episode, and whether its address is one many
    people share; where its attempts' outcomes are unknown, it says so at a severity under
    the playbook's block."""
    n_others = len(state.ep_others)
    unseen = set(state.ep_others) == {"?"}  # access logs do not show the account
    stuffing = not unseen and n_others >= cfg.stuffing_accounts
    severity = 65 if stuffing else 55 if unseen else 50
    if state.ep_slow:
        rule, label, tag = _SLOW
        summary = _slow_summary(state, episode, cfg)
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
            f"{state.ep_attempts} login attempts on {accounts} from {state.address or 'one client'}"
        )
    succeeded = state.ep_successes if unseen else len(state.taken_over)
    shared = episode_shared(state, cfg)
    if shared:
        severity = min(severity, _LOOK_SEVERITY)
        summary += (
            f"; {succeeded} succeeded, too many for an attack's hits: an address many "
            "people share, whose failures are more than their typos (check them "
            "before assuming a takeover; do not block the address)"
        )
    elif succeeded:
        severity += 20
        summary += f"; {succeeded} succeeded: possible account takeover"
    if state.ep_blind:
        severity = min(severity, _LOOK_SEVERITY)
        summary += "; outcomes unknown (the source records no response)"
    return (rule, label, tag), severity, summary, shared


def _slow_summary(state: LoginState, episode: Episode, cfg: LoginAbuseConfig) -> str:
    """A client's low-and-slow failures, and what the missing account means."""
    failed = state.ep_attempts - state.ep_successes
    span = episode.last - episode.first
    return (
        f"{failed} failed logins in {span / 3600:.1f} h from "
        f"{state.address or 'one client'}, one every {span / 60 / max(1, failed - 1):.1f} "
        f"min on average, too slow for the {cfg.window_s / 60:.0f} min window; the "
        "source does not show the account, so a slow guess at one account's password and a "
        "few passwords sprayed over many accounts look alike (so does a device retrying a "
        "stale saved password): the application log shows which accounts it tried"
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


def _measures(rule: str, state: LoginState, shared: bool, blind: bool) -> list[str]:
    """What to do: at an address many people share nothing that locks them all out, and a
    check of its logins rather than resets; where the outcomes are unknown, a look at them
    before a block; after a takeover, resets."""
    if shared:
        kept = [m for m in _MEASURES[rule] if m != BLOCK_CLIENTS]
        return [_DONT_BLOCK, *kept, *(_CHECK_LOGINS if state.taken_over else [])]
    if blind:
        return [_CHECK_OUTCOMES if m == BLOCK_CLIENTS else m for m in _MEASURES[rule]]
    if state.taken_over:
        return _MEASURES[rule] + _TAKEOVER
    return _MEASURES[rule]
