"""What the behaviour rules say: names, ATT&CK techniques, measures, and the summary of a key."""

from __future__ import annotations

from typing import Final, NamedTuple

from citywatch.detect.portal import behaviour_crowd as crowd
from citywatch.detect.portal.behaviour_config import BehaviourConfig
from citywatch.detect.portal.behaviour_state import BehaviourState
from citywatch.detect.portal.hits import BLOCK_CLIENTS, TARGET
from citywatch.model import SPARED


class RuleSpec(NamedTuple):
    rule_id: str
    name: str
    attack_class: str
    techniques: tuple[str, ...]
    severity: int
    confidence: float
    measures: tuple[str, ...]


_CARRYING: Final = "people's sessions come through it"
"""Why a flood's shared address is spared any block (:data:`~citywatch.model.SPARED`)."""
LIMIT_HEAVIEST: Final = "Rate-limit the heaviest sources"
"""A portal-wide denial of service's measure against its heaviest sources, said only when it
names some (:func:`limit_heaviest`)."""
_NAMED: Final = 5
"""Addresses a measure names; the detection's ``top_addresses`` has them all."""


def limit_heaviest(top: list[str]) -> str:
    """:data:`LIMIT_HEAVIEST`, naming the addresses (the flood's shared ones, carrying
    people's sessions, are spared: the incident's first measure names them).

    >>> print(limit_heaviest(["198.51.100.7"]))
    Rate-limit the heaviest sources: 198.51.100.7 (the detection's top_addresses)
    >>> print(limit_heaviest([f"198.51.100.{i}" for i in range(8)]).partition(", 198.51.100.3")[2])
    , 198.51.100.4 and 3 more (the detection's top_addresses has all)
    """
    named = ", ".join(top[:_NAMED])
    if len(top) > _NAMED:
        more = len(top) - _NAMED
        return f"{LIMIT_HEAVIEST}: {named} and {more} more (the detection's top_addresses has all)"
    return f"{LIMIT_HEAVIEST}: {named} (the detection's top_addresses)"


RULES: Final = {
    "scan": RuleSpec(
        "portal.behaviour.scan",
        "Web scanning",
        "reconnaissance",
        ("T1595.003", "T1595"),
        40,
        0.8,
        (BLOCK_CLIENTS, "Check that none of the probed paths answered with content"),
    ),
    "flood": RuleSpec(
        "portal.behaviour.flood",
        "Request flood from one client",
        "denial-of-service",
        ("T1499.002", "T1499"),
        55,
        0.75,
        (BLOCK_CLIENTS,),
    ),
    "portal-flood": RuleSpec(
        "portal.behaviour.portal-flood",
        "Request flood on the portal",
        "denial-of-service",
        ("T1499.002", "T1498"),
        70,
        0.7,
        ("Turn on the upstream DDoS protection or the CDN's challenge mode", LIMIT_HEAVIEST),
    ),
    "enumeration": RuleSpec(
        "portal.behaviour.enumeration",
        "Enumeration of citizen records (IDOR)",
        "broken-access-control",
        ("T1190", "T1213"),
        70,
        0.75,
        (
            BLOCK_CLIENTS,
            "Check the record endpoint's authorisation: every id must belong to the session's user",
            "Find which records were answered with 200 and notify the people concerned",
        ),
    ),
    "spraying": RuleSpec(
        "portal.behaviour.spraying",
        "Password spraying",
        "credential-access",
        ("T1110.003", "T1110"),
        60,
        0.75,
        (
            BLOCK_CLIENTS,
            "Make the accounts it tried that logged in change password, and have the portal "
            "refuse common passwords (spraying tries them; which were tried is not kept)",
        ),
    ),
    "slow-stuffing": RuleSpec(
        "portal.behaviour.slow-stuffing",
        "Slow credential stuffing",
        "credential-access",
        ("T1110.004", "T1110"),
        55,
        0.7,
        (
            BLOCK_CLIENTS,
            "Require a second factor or a challenge on login for the client's address range",
        ),
    ),
    "mass-action": RuleSpec(
        "portal.behaviour.mass-action",
        "Mass business actions",
        "abuse",
        ("T1565.001", "T1565"),
        50,
        0.7,
        (
            "Hold the actions for review before they take effect",
            "Contact the account owners through a channel already on file",
        ),
    ),
}

CROWD_SEVERITY: Final = 30
CROWD_CONFIDENCE: Final = 0.4
CROWD_MEASURES: Final = (
    "Check that the portal keeps up (response times, errors) and add capacity if it does not",
    "Look for the cause: a public alert, a deadline, news that sends people to the portal",
    "Turn on the DDoS protection only if errors or timeouts rise or a few sources stand out",
)
"""A portal-wide flood that looks like a crowd (:mod:`.behaviour_crowd`): a surge of people
needs capacity, not DDoS protection."""
BOTNET_MEASURES: Final = (
    "Turn on the upstream DDoS protection or the CDN's challenge mode: a JavaScript or cookie "
    "challenge stops clients that keep no session, however many addresses they have",
    "Expect nothing of per-address rate limits: each bot sends no more than a person does",
)
"""A portal-wide flood of browsers without a browser's habits (:mod:`.behaviour_crowd`): a
botnet imitating browsing, thousands of addresses that each stay under any per-client limit."""
SHARED_SEVERITY: Final = 50
SHARED_CONFIDENCE: Final = 0.5
SHARED_MEASURES: Final = (
    "Find whose the busiest addresses are before limiting them: a mobile carrier's NAT carries "
    "thousands of citizens (a stadium's phones after an alert push), and blocking it cuts "
    "them off",
    "Turn on the CDN's challenge mode: people's browsers and the city's app pass it, a tool "
    "making up sessions rarely does",
    "Check that the portal keeps up (response times, errors) and add capacity if it does not",
)
"""A portal-wide flood from addresses that each send many requests, in sessions of a human
size (:mod:`.behaviour_crowd`): people behind shared addresses, or a tool making up sessions;
nothing in the requests tells which."""

Stats = dict[str, object]


def describe(
    key: str, state: BehaviourState, rule: str, cfg: BehaviourConfig, last: Stats
) -> tuple[str, dict[str, str], Stats]:
    """The summary, entity and figures of a key's detection for ``rule``.

    The figures are taken from the key's window when it still holds the
    activity, else ``last`` (those of the previous emission) stand.
    """
    kind, _, ident = key.partition(":")
    entity = {"target": TARGET}
    if kind == "src":
        entity["source.pseudonym"] = ident
        if state.address:
            entity["source.ip"] = state.address
        who = state.address or "one client"
    elif kind == "sid":
        entity["session.id"] = ident
        who = f"one session used from {len(state.sources)} clients"
    elif kind == "acct":
        entity["user.id"] = ident
        who = f"one account used from {len(state.sources)} clients"
    else:
        who = "many clients"
        flood = state.open.get(rule)
        # the heavy-hitter counts are lower bounds: the heaviest sent at least this many
        if flood is not None and state.top and max(state.top.values()) * 2 >= flood.total:
            who = "mostly one client"
    stats = _figures(state, rule, last) or last
    return _summary(rule, who, stats, cfg), entity, stats


def heaviest(state: BehaviourState, tally: crowd.Tally) -> tuple[list[str], list[str]]:
    """The addresses of the portal-wide flood's heaviest sources, each of which sent more
    than a person does (:data:`~.behaviour_crowd.PER_SOURCE`; the counts are lower bounds),
    all of them (a flood of a thousand equal bots has a thousand to limit), the heaviest
    first: those to limit ("rate-limit the heaviest sources"), and those whose requests
    carry people's sessions (:func:`~.behaviour_crowd.carrying_people`: a carrier's NAT in
    a crowd the portal fails under), to be looked into first."""
    top, kept = state.top, state.top_addresses
    heavy = [s for s in sorted(top, key=lambda s: -top[s]) if top[s] >= crowd.PER_SOURCE]
    named = [s for s in heavy if s in kept]
    shared = crowd.carrying_people(tally, named)
    return [kept[s] for s in named if s not in shared], [kept[s] for s in named if s in shared]


def _figures(state: BehaviourState, rule: str, last: Stats) -> Stats | None:
    """The rule's figures from the key's window now (None when the window is empty)."""
    if rule == "scan" and state.scan is not None and state.scan.misses:
        scan = state.scan
        # the long window's, when it saw more (a slow scan, or one between normal pages)
        misses, counts = scan.misses, scan.paths
        if len(scan.long_paths) > len(counts):
            misses, counts = scan.long_misses, scan.long_paths
        paths = sorted(counts, key=lambda p: -counts[p])
        span = misses.newest() - misses.oldest()
        return {
            "misses": len(misses),
            "distinct_paths": len(paths),
            "paths": paths[:8],
            "span_s": round(span),
        }
    if rule in ("flood", "portal-flood") and state.rate is not None:
        rate = state.rate
        # the busier of the last full minute and this one so far (a minute just begun has
        # seen few), and never less than an earlier emission of the episode said: its peak
        earlier = last.get("per_minute")
        flood = state.open.get(rule)
        peak = int(flood.peak) if flood is not None else 0
        busiest = max(rate.count, rate.prev, earlier if isinstance(earlier, int) else 0, peak)
        # the usual rate it was compared with when it fired, not what the flood has taught since
        usual = flood.baseline if flood is not None and flood.baseline >= 0 else rate.peak
        stats: Stats = {"per_minute": busiest, "baseline_per_minute": round(usual, 1)}
        if rule == "portal-flood":
            stats["top_sources"] = sorted(state.top, key=lambda s: -state.top[s])[:8]
            if flood is not None and flood.tally is not None:
                tally = flood.tally
                likely, signs = crowd.verdict(tally)
                flood.dos |= likely == "dos"
                flood.botnet |= likely == "botnet"
                # once a DoS (or a botnet), always: a sign may fade as a crowd joins in
                sticky = "dos" if flood.dos else "botnet" if flood.botnet else likely
                if sticky != likely:
                    earlier = last.get("dos_signs")
                    likely, signs = sticky, earlier if isinstance(earlier, list) else []
                stats["likely"] = likely
                stats["dos_signs"] = signs
                if likely in ("dos", "shared"):  # the measures name them: never a crowd's
                    stats["top_addresses"], shared = heaviest(state, tally)
                    stats["shared_addresses"] = shared
                    stats[SPARED] = dict.fromkeys(shared, _CARRYING)
                stats["clients"] = crowd.clients(tally)
                people = stats["sessions"] = crowd.sessions_behind(tally)
                # the addresses' requests over the addresses, however many there are
                per = tally.requests / people if people else crowd.per_client(tally)
                stats["per_client"] = round(per, 1)
                stats["one_page"] = crowd.one_page(tally) or ""  # an alert's, most likely
                stats["browser_habits"] = crowd.habit_figures(tally)
                stats["browsers_keep"] = crowd.browser_signs(tally)[0]
        return stats
    if rule == "enumeration" and state.objects is not None and state.objects.q:
        objects = state.objects
        n = len(objects.q)
        return {
            "requests_in_window": n,
            "distinct_ids": len(objects.ids),
            "denied": objects.denied,
            "sequential": objects.steps,
            "identities": len(objects.identities),
        }
    if rule in ("spraying", "slow-stuffing") and state.logins is not None and state.logins.q:
        logins = state.logins
        return {
            "attempts": len(logins.q),
            "accounts": len(logins.accounts),
            "unresolved_accounts": logins.unresolved,
            "span_s": round(logins.q.newest() - logins.q.oldest()),
            "distinct_passwords": len(logins.passwords) if logins.with_password else -1,
            "succeeded": sorted(logins.succeeded)[:20],
        }
    if rule == "mass-action" and state.actions is not None and state.actions.q:
        actions = state.actions
        return {
            "actions": dict(actions.kinds),
            "identities": dict(actions.identities),
            "user_agents": dict(actions.agents),
        }
    return None


def _summary(rule: str, who: str, stats: Stats, cfg: BehaviourConfig) -> str:
    name = RULES[rule].name
    if not stats:
        return f"{name} from {who}"
    if rule == "scan":
        span = stats.get("span_s")
        took = _took(span) if isinstance(span, int) else f"{cfg.scan_window_s / 60:.0f} min"
        return (
            f"Web scanning from {who}: {stats['misses']} requests answered 4xx "
            f"on {stats['distinct_paths']} paths in {took}"
        )
    if rule in ("flood", "portal-flood"):
        usual = stats["baseline_per_minute"]
        rate = f"up to {stats['per_minute']} requests per minute from {who} " + (
            f"(usually {usual})" if usual else "(none before)"
        )
        likely, signs = stats.get("likely"), stats.get("dos_signs")
        clients = stats.get("clients")
        # past the sources known exactly, an estimate (within a few per cent)
        estimated = isinstance(clients, int) and clients >= crowd.SOURCES_CAP
        many = f"about {clients}" if estimated else str(clients)
        people = stats.get("sessions")  # behind shared addresses (a carrier's NAT), or made up
        who = f"{people} sessions behind {many} addresses" if people else f"{many} clients"
        page = stats.get("one_page")
        where = f"on one page ({page})" if page else "on the usual paths"
        each = f"{who}, {stats.get('per_client')} requests each {where}"
        if likely == "crowd":
            keep = stats.get("browsers_keep")
            habits = (
                f", browsers {_habits(keep)} as people's do"
                if isinstance(keep, list) and keep
                else ""
            )
            return (
                f"Surge of requests on the portal: {rate}; a crowd most likely ({each}, nearly "
                f"all answered{habits}): no sign of a denial of service"
            )
        if likely == "botnet" and isinstance(signs, list):
            techniques = ", ".join(RULES[rule].techniques)
            return (
                f"{name}: {rate}; a botnet imitating browsing most likely, not a crowd ({each}, "
                f"answered, but {'; '.join(signs)}): a denial of service ({techniques})"
            )
        if likely == "shared" and isinstance(signs, list):
            return (
                f"Surge of requests on the portal: {rate}; people behind shared addresses (a "
                f"carrier's NAT) or a tool making up sessions ({each}, nearly all answered; "
                f"{', '.join(signs)}): whose the addresses are tells which"
            )
        if likely == "dos" and isinstance(signs, list) and signs:
            return f"{name}: {rate}; signs of a denial of service: {', '.join(signs)}"
        return f"{name}: {rate}"
    if rule == "enumeration":
        return (
            f"Enumeration of citizen records from {who}: {stats['distinct_ids']} distinct ids "
            f"in {cfg.idor_window_s / 60:.0f} min, {stats['denied']} denied, "
            f"{stats['sequential']} one step after the previous"
        )
    if rule in ("spraying", "slow-stuffing"):
        taken = stats["succeeded"]
        span = stats.get("span_s")  # an earlier version's figures may not have it
        took = _took(span) if isinstance(span, int) else f"{cfg.spray_window_s / 3600:.0f} h"
        text = (
            f"{name} from {who}: {stats['attempts']} attempts on "
            f"{stats['accounts']} accounts over {took}, "
            f"{stats['unresolved_accounts']} of them with no successful login"
        )
        if isinstance(taken, list) and taken:
            text += f"; {len(taken)} succeeded: possible account takeover"
        return text
    kinds = stats["actions"]
    identities = stats["identities"]
    assert isinstance(kinds, dict)
    assert isinstance(identities, dict)
    busiest = max(kinds, key=lambda k: kinds[k])
    by = identities.get(busiest, 0)
    whom = "one session or agent" if by == 1 else f"{by} sessions or agents"
    text = (
        f"Mass business actions from {who}: {kinds[busiest]} × {busiest} in "
        f"{cfg.action_window_s / 60:.0f} min by {whom}"
    )
    if by == 1:  # what an accountant or an employer does for others, or a fraud: say both
        text += (
            " (an accountant or an employer acting for others does this too: check that "
            "they are authorised before holding them)"
        )
    return text


def _took(seconds: int) -> str:
    """How long something took, in words a summary uses.

    >>> _took(40), _took(150), _took(3600), _took(17_640)
    ('40 s', '2.5 min', '60 min', '4.9 h')
    """
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return (
        f"{minutes:.0f} min" if minutes >= 10 or minutes == int(minutes) else f"{minutes:.1f} min"
    )


def _habits(keep: list[str]) -> str:
    """The browser habits a crowd keeps, in words (empty: none judged).

    >>> _habits(["cookie", "Referer", "assets"]), _habits(["assets"]), _habits([])
    ('sending cookie, Referer and fetching page assets', 'fetching page assets', '')
    """
    sent = [k for k in keep if k != "assets"]
    words = [f"sending {', '.join(sent)}"] if sent else []
    if "assets" in keep:
        words.append("fetching page assets")
    return " and ".join(words)
