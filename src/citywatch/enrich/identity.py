"""Who a request acts as: login attempts and the account they name.

Finds login requests by path and reads the account name from a form or JSON
body (or HTTP Basic auth), so that it can be pseudonymised before any
detector sees it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Container
from urllib.parse import parse_qs

import msgspec

from citywatch.model import HttpRequest

_json = msgspec.json.Decoder()


def request_path(uri: str) -> str:
    """The path of a request URI, without query or fragment.

    >>> request_path("/a/b?x=1#f")
    '/a/b'
    """
    end = len(uri)
    for sep in ("?", "#"):
        i = uri.find(sep)
        if 0 <= i < end:
            end = i
    return uri[:end]


def session_hash(request: HttpRequest, cookies: Container[str]) -> str:
    """A hash of the session a request carries in one of ``cookies`` (lower case), or ``""``:
    enough to tell sessions apart, never the session itself.

    >>> r = HttpRequest(method="GET", uri="/", headers=(("Cookie", "a=1; SID=x"),))
    >>> len(session_hash(r, ("sid",))), session_hash(r, ("other",))
    (16, '')
    """
    session = ""
    for name, value in request.headers:
        if len(name) == 6 and name.lower() == "cookie":
            for pair in value.split(";", 64):
                cookie, _, raw = pair.strip().partition("=")
                if raw and cookie.lower() in cookies:
                    raw = raw.strip().strip('"')
                    session = hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
    return session


def session_or_agent(session: str, agent: int) -> int:
    """Who sent a request, as far as it tells: its session (a :func:`session_hash`), as a
    CRC-32, else ``agent`` (the user agent's CRC-32).

    >>> session_or_agent("", 7), session_or_agent("ab", 7) == session_or_agent("ab", 9)
    (7, True)
    """
    return zlib.crc32(session.encode()) if session else agent


def login_account(request: HttpRequest, fields: tuple[str, ...]) -> str | None:
    """The account a login request names in its body or Basic auth, if any.

    >>> req = HttpRequest(method="POST", uri="/login", body="username=%C3%95un&password=x")
    >>> login_account(req, ("username",))
    'Õun'
    """
    body = request.body
    if body:
        stripped = body.lstrip()
        if stripped.startswith("{"):
            try:
                doc = _json.decode(stripped)
            except msgspec.DecodeError:
                doc = None
            if isinstance(doc, dict):
                for name in fields:
                    value = doc.get(name)
                    if isinstance(value, str) and value:
                        return value
        else:
            form = parse_qs(body, keep_blank_values=False, max_num_fields=64)
            for name in fields:
                values = form.get(name)
                if values:
                    return values[0]
    auth = request.header("authorization")
    if auth and auth[:6].lower() == "basic ":
        try:
            user = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
        return user.split(":", 1)[0] or None
    return None
