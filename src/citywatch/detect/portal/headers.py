"""Headers and cookies into parameters, with the protocol anomalies they show (part of
:mod:`.request`).

Every header becomes a parameter except the routine ones a browser sends on
every request (``Accept-Language``, ``Sec-Fetch-*``...; still a parameter
when long or holding ``{``), credentials (only when holding ``{``: Log4Shell
hides there too) and framing, which is checked here instead.

Anomalies noted here: request smuggling (``Content-Length`` twice or beside
``Transfer-Encoding``, an obfuscated ``Transfer-Encoding``, whitespace in a
header name, two ``Host`` headers, an ``h2c`` upgrade), header injection
(control characters in a value), a missing ``Host``, ``Range`` abuse,
hop-by-hop abuse in ``Connection``, method-override headers, URL-override
headers (``X-Original-URL``: a path the front end's access rules never saw)
and unusual request charsets (``ibm037``, ``utf-7``: WAF evasion). Basic
credentials are decoded when they hide a lookup (``${jndi:...}`` as the user name).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from citywatch.detect.portal.params import MAX_PARAMS, Collector, Param

if TYPE_CHECKING:
    from citywatch.model import HttpRequest

LONG_HEADER = 256
"""A header value at least this long is inspected whatever its name."""

(
    _INSPECTED,
    _SKIPPED,
    _CONTENT_TYPE,
    _CONTENT_LENGTH,
    _TRANSFER_ENCODING,
    _COOKIE,
    _USER_AGENT,
    _REFERER,
    _HOST,
    _RANGE,
    _CONNECTION,
    _UPGRADE,
    _OVERRIDE,
    _CREDENTIAL,
    _URL_OVERRIDE,
) = range(15)
_ROUTINE = (
    "accept-language accept-encoding accept-charset cache-control pragma keep-alive "
    "upgrade-insecure-requests dnt te priority if-none-match if-modified-since if-match "
    "if-unmodified-since if-range sec-gpc save-data purpose x-requested-with proxy-connection "
    "http2-settings"
)
_NAMED_KINDS = {
    **dict.fromkeys(_ROUTINE.split(), _SKIPPED),
    "content-type": _CONTENT_TYPE,
    "content-length": _CONTENT_LENGTH,
    "transfer-encoding": _TRANSFER_ENCODING,
    "cookie": _COOKIE,
    "user-agent": _USER_AGENT,
    "referer": _REFERER,
    "host": _HOST,
    "range": _RANGE,
    "connection": _CONNECTION,
    "upgrade": _UPGRADE,
    "x-http-method-override": _OVERRIDE,
    "x-http-method": _OVERRIDE,
    "x-method-override": _OVERRIDE,
    "authorization": _CREDENTIAL,
    "proxy-authorization": _CREDENTIAL,
    "x-original-url": _URL_OVERRIDE,
    "x-rewrite-url": _URL_OVERRIDE,
}
_KINDS: dict[str, int] = {}
"""Kind of each valid header name seen, in its own case (bounded; checking a name is slow)."""
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HOP_BY_HOP_OK = frozenset({"close", "keep-alive", "upgrade", "te", "http2-settings", ""})
_CHARSETS_OK = frozenset(
    {
        "utf-8",
        "utf8",
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "iso-8859-2",
        "iso-8859-15",
        "latin1",
        "windows-1250",
        "windows-1252",
        "cp1252",
    }
)
_MAX_RANGES = 10
_HUGE_RANGE = re.compile(r"[0-9]{19}")
"""A range bound past 2**63 (MS15-034's ``bytes=0-18446744073709551615``)."""
_MAX_BASIC = 1024


_COUNTED = (_HOST, _CONTENT_LENGTH, _TRANSFER_ENCODING, _USER_AGENT, _REFERER, _CONTENT_TYPE)
_WIDTH = 5
"""Bits of each count in a tally: a small int (one machine digit) while the request has
fewer than ``2**_WIDTH`` headers, which :func:`parse_headers` checks first."""
_TALLIES = {kind: 1 << _WIDTH * i for i, kind in enumerate(_COUNTED)}
"""What a header of each kind adds to the request's tally: one int counts the kinds that
matter after the loop (framing, host, agent, referrer), each in a field of its own."""
_FIELD = (1 << _WIDTH) - 1
_ONE_HOST = _TALLIES[_HOST]
_HOSTS = _FIELD * _ONE_HOST
_ONE_LENGTH = _TALLIES[_CONTENT_LENGTH]
_LENGTHS = _FIELD * _ONE_LENGTH
_CHUNKED = _FIELD * _TALLIES[_TRANSFER_ENCODING]
_AGENTS = _FIELD * _TALLIES[_USER_AGENT]
_REFERRERS = _FIELD * _TALLIES[_REFERER]
_TYPES = _FIELD * _TALLIES[_CONTENT_TYPE]
_IN_PLACE = 1 << _WIDTH * len(_COUNTED)
"""Tally bit of a header that must be worked out in place (see :func:`_remember`)."""

_Outcome = tuple[tuple[Param, ...], int]
"""What one header gives on its own: its parameters and its tally."""
_OUTCOMES: dict[tuple[str, str], _Outcome] = {}
"""Outcomes of the headers seen (bounded): most requests repeat most of their headers."""
_MEMO_SIZE = 8192
_MEMO_LEN = 512
"""A header value longer than this is worked out each time, not remembered."""
_MEMO_PIECES = 32
"""An outcome is used only for a value of fewer ``;``-pieces than this (cookies) and while
the request has room for that many more parameters, so the cap acts as without it."""


def parse_headers(req: HttpRequest, acc: Collector) -> str:
    """Inspected headers and cookies into ``acc``; header anomalies; the content type."""
    headers = req.headers
    params = acc.params
    start = len(params)
    tally = _IN_PLACE if len(headers) > _FIELD else 0
    if not tally:
        # The common request: each header's outcome is remembered (it depends on nothing but
        # the header), so a header costs a lookup, an append and an addition.
        get = _OUTCOMES.get
        for header in headers:
            found, add = get(header) or _remember(header)
            params += found
            tally += add
    if tally >= _IN_PLACE or len(params) > MAX_PARAMS - _MEMO_PIECES:
        # Many headers, anomalies, decoding flags, many cookies or the cap near: one by one, in
        # place (an outcome equals this while no cap is reached), counts capped at 2.
        del params[start:]
        kinds = [_header(name, value, acc) for name, value in headers]
        tally = sum(one * min(kinds.count(kind), 2) for kind, one in _TALLIES.items())
    if tally & _LENGTHS:
        if tally & _LENGTHS > _ONE_LENGTH:
            acc.note("duplicate-content-length")
        if tally & _CHUNKED:
            acc.note("te-and-cl")
    hosts = tally & _HOSTS
    if hosts > _ONE_HOST:
        acc.note("duplicate-host")
    elif not hosts and headers and req.version == "HTTP/1.1":
        acc.note("missing-host")
    if req.user_agent and not tally & _AGENTS:
        acc.add("header", "User-Agent", req.user_agent)
    if req.referrer and req.referrer != "-" and not tally & _REFERRERS:
        acc.add("header", "Referer", req.referrer)
    if tally & _TYPES:
        for name, value in reversed(headers):  # the last one counts
            if name.lower() == "content-type":
                return value
    return ""


def auth_scheme(headers: Sequence[tuple[str, str]]) -> str:
    """The scheme of a request's ``Authorization`` credentials, lower-cased; ``""`` without
    any, ``"-"`` for a credential with no scheme (a bare token).

    >>> auth_scheme([("Host", "x"), ("authorization", "Bearer eyJhbGciOi")])
    'bearer'
    >>> auth_scheme([("Authorization", "abc123")]), auth_scheme([])
    ('-', '')
    """
    for name, value in headers:
        if len(name) == _AUTHORIZATION_LEN and name.lower() == "authorization":
            scheme, space, _ = value.strip().partition(" ")
            return scheme.lower()[:32] if space and scheme else "-"
    return ""


_AUTHORIZATION_LEN = len("authorization")


def _remember(header: tuple[str, str]) -> _Outcome:
    """The outcome of a header not remembered yet (remembered unless long); an outcome with
    :data:`_IN_PLACE` when it has anomalies, decoding flags or too many pieces."""
    name, value = header
    if value.count(";") >= _MEMO_PIECES:
        return (), _IN_PLACE
    own = Collector()
    kind = _header(name, value, own)
    add = _TALLIES.get(kind, 0)
    if own.anomalies or own.flags:
        add |= _IN_PLACE
    outcome = tuple(own.params), add
    if len(value) <= _MEMO_LEN:
        if len(_OUTCOMES) >= _MEMO_SIZE:
            _OUTCOMES.clear()
        _OUTCOMES[header] = outcome
    return outcome


def _header(name: str, value: str, acc: Collector) -> int:
    """One header into ``acc`` (parameters, anomalies); its kind."""
    kind = _KINDS.get(name)
    if kind is None:
        kind = _kind(name, acc)
    if kind == _SKIPPED:
        if len(value) < LONG_HEADER and "{" not in value:
            if not value.isprintable() and _CONTROL.search(value):
                acc.note("header-injection")
            return kind
    elif kind == _COOKIE:
        _cookies(value, acc)
        return kind
    elif kind == _CREDENTIAL:
        decoded = _basic(value)
        if decoded is not None and "${" in decoded:
            acc.fast("header", name, decoded)
        if "{" not in value:  # a credential is no parameter, unless it hides a lookup
            return kind
    elif kind not in (_INSPECTED, _USER_AGENT, _HOST) and not _special(kind, value, acc):
        return kind
    if not value.isprintable() and _CONTROL.search(value):
        acc.note("header-injection")
    acc.fast("header", name, value)
    return kind


def _special(kind: int, value: str, acc: Collector) -> bool:
    """Note what a header with a role says; True when it is also a parameter."""
    if kind == _CONTENT_TYPE:
        if "charset" in value.lower():
            _charset(value, acc)
    elif kind == _CONTENT_LENGTH:
        length = value.strip()
        if not (length.isascii() and length.isdigit()):
            acc.note("bad-content-length")
        return False
    elif kind == _TRANSFER_ENCODING:
        if value.strip().lower() != "chunked":
            acc.note("bad-transfer-encoding")
        return False
    elif kind == _RANGE:
        if value.count(",") >= _MAX_RANGES or _HUGE_RANGE.search(value):
            acc.note("range-abuse")
    elif kind == _CONNECTION:
        if any(t.strip() not in _HOP_BY_HOP_OK for t in value.lower().split(",")):
            acc.note("hop-by-hop-abuse")
    elif kind == _UPGRADE:
        if "h2c" in value.lower():
            acc.note("h2c-upgrade")
    elif kind == _OVERRIDE:
        acc.note("method-override")
    elif kind == _URL_OVERRIDE:
        acc.note("url-override")
    return True


def _basic(value: str) -> str | None:
    """The decoded ``user:password`` of Basic credentials (short ones), if they are that."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not 0 < len(token) <= _MAX_BASIC:
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _kind(name: str, acc: Collector) -> int:
    """The kind of a header name not seen before; notes an invalid name."""
    lname = name.lower()
    kind = _NAMED_KINDS.get(lname, _SKIPPED if lname.startswith("sec-") else _INSPECTED)
    if name and (name.isalnum() or _TOKEN.fullmatch(name) is not None):
        if len(_KINDS) < 4096:
            _KINDS[name] = kind
    elif not name or any(c.isspace() or not c.isprintable() for c in name):
        acc.note("header-name-whitespace")  # "Transfer-Encoding ": a smuggling classic
    else:
        acc.note("bad-header-name")
    return kind


def _charset(content_type: str, acc: Collector) -> None:
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "charset" and value.strip().strip('"').lower() not in _CHARSETS_OK:
            acc.note("unusual-charset")


def _cookies(header: str, acc: Collector) -> None:
    for pair in header.split(";", acc.room()):
        name, eq, raw = pair.strip().partition("=")
        if not name and not eq:
            continue
        if raw[:1] == '"' or raw[-1:] in (" ", '"'):
            raw = raw.strip().strip('"')
        acc.fast("cookie", name, raw)
