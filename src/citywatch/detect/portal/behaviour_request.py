"""What the behaviour rules need to know about one request, worked out once per request.

Cheap things for every request (path, status, whether it missed); the rest
(the record it names, the business action, the session and a password
bucket) only for the few requests that touch citizen records, business
actions or the login. The session id and the password are never kept: the
session as a hash, the password as one byte of a keyed hash, enough to tell
"the same few passwords" from "a different one per account".
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import Final

from citywatch.detect.portal.behaviour_config import BehaviourConfig
from citywatch.detect.portal.request import parse_request, path_template
from citywatch.enrich.identity import session_hash, session_or_agent
from citywatch.model import Event, HttpRequest

MISS: Final = frozenset({400, 403, 404, 405, 410, 501})
"""Statuses of a request that found nothing (what scanners collect)."""
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DIGITS: Final = re.compile(r"[0-9]+")
_SALT: Final = hashlib.blake2b(b"citywatch portal-behaviour password buckets").digest()[:16]
_PLAIN: Final = 65536
"""Plain requests (method, URI, status) whose facts are remembered."""


class Facts:
    """The facts of one request."""

    __slots__ = (
        "action",
        "agent",
        "identity",
        "miss",
        "object",
        "password",
        "path",
        "session",
        "status",
    )

    def __init__(self) -> None:
        self.path = ""
        self.status: int | None = None
        self.miss = False
        self.object: tuple[str, str, int] | None = None
        """The citizen record asked for: (prefix, id, the last number in the id)."""
        self.action: str | None = None
        self.session = ""
        self.identity = 0
        """A hash of the session, or of the user agent without one."""
        self.agent = 0
        """A hash of the user agent."""
        self.password = -1


class RequestFacts:
    """Works out :class:`Facts`.

    The facts of a request that names no record, no business action and is
    no login depend on its method, URI and status alone: those are remembered
    (and shared, as nobody changes facts once worked out).
    """

    def __init__(self, cfg: BehaviourConfig) -> None:
        self._prefixes = tuple(cfg.object_prefixes)
        self._actions = dict(cfg.actions)
        self._sessions = frozenset(c.lower() for c in cfg.session_cookies)
        self._passwords = frozenset(cfg.password_fields)
        self._plain: dict[tuple[str, str, int | None], Facts] = {}

    def of(self, event: Event, request: HttpRequest) -> Facts:
        key = (request.method, request.uri, request.status)
        facts = self._plain.get(key)
        if facts is None or event.action == "login":
            facts = self._work_out(event, request)
            if facts.object is None and facts.action is None and event.action != "login":
                if len(self._plain) >= _PLAIN:
                    self._plain.clear()
                self._plain[key] = facts
        return facts

    def _work_out(self, event: Event, request: HttpRequest) -> Facts:
        facts = Facts()
        uri = request.uri
        q = uri.find("?")
        facts.path = path = (uri if q < 0 else uri[:q])[:200]
        status = facts.status = request.status
        if path.startswith(self._prefixes):
            facts.object = self._object(path)
        facts.miss = status in MISS and facts.object is None  # records: enumeration's business
        login = event.action == "login"
        # an action the portal refused (a 422 for a form sqlmap filled) was not taken: no mass
        # action of the city's records (the refusals are other rules' evidence)
        if request.method in _WRITES and not login and (status is None or status < 400):
            facts.action = self._actions.get(f"{request.method} {path_template(path)}")
        if facts.object is not None or facts.action is not None or login:
            self._identify(request, facts, login)
        return facts

    def _object(self, path: str) -> tuple[str, str, int] | None:
        """The record a path names (``/tax/returns/2024-000123`` → number 123), if any.

        >>> RequestFacts(BehaviourConfig())._object("/tax/returns/2024-000123/pdf")
        ('/tax/returns/', '2024-000123', 123)
        """
        for prefix in self._prefixes:
            if path.startswith(prefix):
                ident = path[len(prefix) :].partition("/")[0][:64]
                if ident.isascii() and ident.isdigit():  # "1¹" is digits, no int
                    return prefix, ident, int(ident[-18:])
                digits = _DIGITS.findall(ident)
                if not digits:
                    return None
                return prefix, ident, int(digits[-1][-18:])
        return None

    def _identify(self, request: HttpRequest, facts: Facts, login: bool) -> None:
        """The session (hashed), an identity (session, else user agent), a password bucket."""
        facts.session = session_hash(request, self._sessions)
        if login and request.body:
            for param in parse_request(request).params:
                if param.location == "body" and param.name in self._passwords:
                    raw_password = param.value.encode()
                    digest = hashlib.blake2b(raw_password, digest_size=1, key=_SALT).digest()
                    facts.password = digest[0]
                    break
        facts.agent = zlib.crc32((request.user_agent or "").encode())
        facts.identity = session_or_agent(facts.session, facts.agent)
