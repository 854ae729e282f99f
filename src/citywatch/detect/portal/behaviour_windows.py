"""Events in and out of the windows of :mod:`.behaviour_state`, aggregates kept exact.

Each ``add_*`` folds one event in (first letting out what the window has
passed) and each ``evict_*`` lets out what is older than a time; both touch
only the entries that move, so the cost is O(1) amortised per event.
"""

from __future__ import annotations

from citywatch.detect.portal.behaviour_state import Actions, Logins, Objects, Scan, bump

DENIED = 1
STEP = 2
FAILED, SUCCEEDED, UNKNOWN = 0, 1, 2
MAX_STEP = 25
"""The largest difference between two record numbers that is still one step of a walk."""


def evict_scan(scan: Scan, before: float, cap: int) -> None:
    q = scan.misses
    for _, path, _, _ in q.leaving(before, cap):
        bump(scan.paths, path, -1)
    q.compact()


def add_miss(scan: Scan, ts: float, path: str, event_id: str, window_s: float, cap: int) -> None:
    evict_scan(scan, ts - window_s, cap - 1)
    scan.misses.push(ts, path, 0, event_id)
    scan.paths[path] = scan.paths.get(path, 0) + 1


def evict_objects(objects: Objects, before: float, cap: int) -> None:
    q = objects.q
    for _, key, flags, _ in q.leaving(before, cap):
        bump(objects.ids, key, -1)
        objects.denied -= flags & DENIED
        objects.steps -= (flags & STEP) >> 1
        bump(objects.identities, flags >> 2, -1)
    q.compact()


def add_object(
    objects: Objects,
    ts: float,
    ref: tuple[str, str, int],
    denied: bool,
    identity: int,
    event_id: str,
    window_s: float,
    cap: int,
) -> None:
    """One request for the record ``ref`` (prefix, id, number in the id or -1)."""
    evict_objects(objects, ts - window_s, cap - 1)
    prefix, ident, number = ref
    # a step either way, small and constant or not: a walk down, or by 11 to 23, is a walk too
    step = (
        number >= 0
        and objects.last_number >= 0
        and prefix == objects.last_prefix
        and 0 < abs(number - objects.last_number) <= MAX_STEP
    )
    objects.last_prefix, objects.last_number = prefix, number
    key = f"{prefix}{ident}"
    objects.q.push(ts, key, int(denied) | (int(step) << 1) | (identity << 2), event_id)
    objects.ids[key] = objects.ids.get(key, 0) + 1
    objects.identities[identity] = objects.identities.get(identity, 0) + 1
    objects.denied += denied
    objects.steps += step


def _unresolved_change(logins: Logins, account: str, outcome: int, by: int) -> None:
    """Keep ``unresolved`` (failed, never succeeded) right as an attempt enters (+1) or leaves."""
    if account == "?":
        return
    failed, succeeded = logins.failed, logins.succeeded
    was = account in failed and account not in succeeded
    counts = succeeded if outcome == SUCCEEDED else failed
    bump(counts, account, by)
    now = account in failed and account not in succeeded
    logins.unresolved += int(now) - int(was)


def evict_logins(logins: Logins, before: float, cap: int) -> None:
    q = logins.q
    start = q.head
    for i, (_, account, code, _) in enumerate(q.leaving(before, cap), start):
        outcome, password = code & 3, (code >> 2) - 1
        if i >= logins.short_head and outcome != SUCCEEDED:
            logins.short_suspect -= 1
        _unresolved_change(logins, account, outcome, -1)
        if account != "?":
            bump(logins.accounts, account, -1)
        if outcome != UNKNOWN:
            logins.known_outcomes -= 1
        if password >= 0:
            bump(logins.passwords, password, -1)
            logins.with_password -= 1
    logins.short_head = max(logins.short_head, q.head)
    logins.short_head -= q.compact()


def add_login(
    logins: Logins,
    ts: float,
    account: str,
    outcome: int,
    password: int,
    event_id: str,
    window_s: float,
    short_s: float,
    cap: int,
) -> None:
    """One login attempt; ``password`` is a small bucket of the password, or -1."""
    evict_logins(logins, ts - window_s, cap - 1)
    q = logins.q
    q.push(ts, account, outcome | ((password + 1) << 2), event_id)
    if outcome != SUCCEEDED:
        logins.short_suspect += 1
    head, items = logins.short_head, q.items
    while items[head][0] < ts - short_s:
        if items[head][2] & 3 != SUCCEEDED:
            logins.short_suspect -= 1
        head += 1
    logins.short_head = head
    _unresolved_change(logins, account, outcome, 1)
    if account != "?":
        logins.accounts[account] = logins.accounts.get(account, 0) + 1
    if outcome != UNKNOWN:
        logins.known_outcomes += 1
    if password >= 0:
        logins.passwords[password] = logins.passwords.get(password, 0) + 1
        logins.with_password += 1


def _distinct(actions: Actions, kind: str, pair: str, counts: dict[str, int], by: int) -> None:
    """Count ``pair`` (a kind and an identity or agent) in or out; keep ``counts`` per kind."""
    had = pair in actions.pairs
    bump(actions.pairs, pair, by)
    if had != (pair in actions.pairs):
        bump(counts, kind, by)


def evict_actions(actions: Actions, before: float, cap: int) -> None:
    q = actions.q
    for _, kind, who, _ in q.leaving(before, cap):
        bump(actions.kinds, kind, -1)
        _distinct(actions, kind, f"{kind} {who & 0xFFFFFFFF}", actions.identities, -1)
        _distinct(actions, kind, f"{kind} a{who >> 32}", actions.agents, -1)
    q.compact()


def add_action(
    actions: Actions,
    ts: float,
    kind: str,
    identity: int,
    agent: int,
    event_id: str,
    window_s: float,
    cap: int,
) -> None:
    """One business action by a session (or agent) ``identity`` with user agent ``agent``."""
    evict_actions(actions, ts - window_s, cap - 1)
    actions.q.push(ts, kind, identity | (agent << 32), event_id)
    actions.kinds[kind] = actions.kinds.get(kind, 0) + 1
    _distinct(actions, kind, f"{kind} {identity}", actions.identities, 1)
    _distinct(actions, kind, f"{kind} a{agent}", actions.agents, 1)


def add_long_miss(
    scan: Scan, ts: float, path: str, event_id: str, window_s: float, cap: int
) -> None:
    """One miss in the long window of a scan."""
    q = scan.long_misses
    for _, old, _, _ in q.leaving(ts - window_s, cap - 1):
        bump(scan.long_paths, old, -1)
    q.compact()
    q.push(ts, path, 0, event_id)
    scan.long_paths[path] = scan.long_paths.get(path, 0) + 1
