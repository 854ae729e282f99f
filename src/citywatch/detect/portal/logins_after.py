"""What a taken-over account was used for: the requests after the login (part of :mod:`.logins`).

A takeover's detection must scope the breach: which records the attacker read
or changed with the account. The portal's request logs carry no session that
ties a request to the login that opened it (the new session cookie or bearer
token is in the login's response, which they do not record), so the requests
that follow a takeover are the taking-over client's: the same address *and*
the same user agent as the successful login, within ``follow_s`` of it (a
stuffing tool reads what it came for in seconds to minutes). Where a source
shows the account on every request (an access log's authenticated user), a
request must name the account too.

What this cannot tell: the attacker's session used from another address or
with another agent, and, at an address many people share, a resident's
requests with the attacker's agent; the detector watches no address it judges
shared (see :func:`citywatch.detect.portal.logins_sharing.sharing`).

Bounded in memory: at most :data:`AFTER_CAP` requests per login, and the list
of what they touched keeps at most :data:`PATHS_CAP` endpoints (path
templates, ids collapsed, so no record number of a resident is reported).
"""

from __future__ import annotations

import msgspec

from citywatch.detect.portal.paths import path_forms
from citywatch.enrich.identity import request_path
from citywatch.model import Event, HttpRequest

AFTER_CAP = 50
"""Requests after one takeover kept as evidence, at most."""
PATHS_CAP = 32
"""Distinct endpoints listed as touched after the takeovers of one detection, at most."""


class Login(msgspec.Struct, kw_only=True, gc=False):
    """A successful login that is, or may turn out to be, a takeover, and the requests of
    its client and agent after it."""

    ts: float
    client: str
    account: str
    agent: int
    id: str
    after: list[tuple[float, str, str]] = msgspec.field(default_factory=list)
    """(time, event id, ``METHOD /template``) of the requests after it."""


def endpoint(event: Event) -> str:
    """``METHOD /template`` of a request: what it touched, with ids collapsed."""
    payload = event.payload
    if not isinstance(payload, HttpRequest):
        return "?"
    return f"{payload.method} {path_forms(request_path(payload.uri))[2]}"


def follows(login: Login, event: Event, agent: int, follow_s: float) -> bool:
    """The request is the taking-over client's, within ``follow_s`` after the login."""
    return (
        event.source_pseudonym == login.client
        and agent == login.agent
        and 0 <= event.timestamp - login.ts <= follow_s
        and (event.user_id is None or event.user_id == login.account)
        and len(login.after) < AFTER_CAP
    )


def summary(logins: list[Login]) -> dict[str, object]:
    """The ``after_takeover`` attribute: how many requests followed the takeovers and the
    endpoints they touched (at most :data:`PATHS_CAP`, first seen first)."""
    paths: dict[str, None] = {}
    requests = 0
    for login in logins:
        requests += len(login.after)
        for _, _, path in login.after:
            if len(paths) < PATHS_CAP:
                paths[path] = None
    return {"requests": requests, "paths": list(paths)}
