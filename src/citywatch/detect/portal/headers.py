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
hop-by-hop abuse in ``Connection``, method-override headers and unusual
request charsets (``ibm037``, ``utf-7``: WAF evasion).
"""

from __future__ import annotations

import re
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
) = range(14)
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


_Outcome = tuple[int, tuple[Param, ...], tuple[str, ...], int]
"""What one header gives on its own: its kind, parameters, anomalies and decoding flags."""
_OUTCOMES: dict[tuple[str, str], _Outcome] = {}
"""Outcomes of the headers seen (bounded): most requests repeat most of their headers."""
_MEMO_SIZE = 8192
_MEMO_LEN = 512
"""A header value longer than this is worked out each time, not remembered."""
_MEMO_PIECES = 32
"""A remembered outcome comes from at most this many ``;``-pieces (cookies), and is used only
while the request has room for that many more parameters, so the cap acts as without it."""


class _Seen:
    """What the headers of one request said so far (framing, host, agent, referrer)."""

    __slots__ = ("chunked", "content_type", "hosts", "lengths", "referrer", "user_agent")

    def __init__(self) -> None:
        self.content_type = ""
        self.lengths = self.hosts = 0
        self.chunked = self.user_agent = self.referrer = False

    def saw(self, kind: int, value: str) -> None:
        """Count a header that has a role in framing or is checked after the loop."""
        if kind == _USER_AGENT:
            self.user_agent = True
        elif kind == _HOST:
            self.hosts += 1
        elif kind == _REFERER:
            self.referrer = True
        elif kind == _CONTENT_TYPE:
            self.content_type = value
        elif kind == _CONTENT_LENGTH:
            self.lengths += 1
        elif kind == _TRANSFER_ENCODING:
            self.chunked = True


_COUNTED = frozenset(
    {_USER_AGENT, _HOST, _REFERER, _CONTENT_TYPE, _CONTENT_LENGTH, _TRANSFER_ENCODING}
)


def parse_headers(req: HttpRequest, acc: Collector) -> str:
    """Inspected headers and cookies into ``acc``; header anomalies; the content type.

    Each header's outcome is worked out once and remembered (bounded), as it
    depends on nothing but its name and value.
    """
    seen = _Seen()
    params = acc.params
    for header in req.headers:
        name, value = header
        near_cap = len(params) > MAX_PARAMS - _MEMO_PIECES
        outcome = None if near_cap else _OUTCOMES.get(header)
        if outcome is None:
            if near_cap or len(value) > _MEMO_LEN or value.count(";") >= _MEMO_PIECES:
                kind = _header(name, value, acc)  # worked out in place, not remembered
                if kind in _COUNTED:
                    seen.saw(kind, value)
                continue
            outcome = _outcome(name, value)
            if len(_OUTCOMES) >= _MEMO_SIZE:
                _OUTCOMES.clear()
            _OUTCOMES[header] = outcome
        kind, found, notes, flags = outcome
        if found:
            params += found
        for code in notes:
            acc.note(code)
        acc.flags |= flags
        if kind in _COUNTED:
            seen.saw(kind, value)
    if seen.lengths > 1:
        acc.note("duplicate-content-length")
    if seen.chunked and seen.lengths:
        acc.note("te-and-cl")
    if seen.hosts > 1:
        acc.note("duplicate-host")
    elif not seen.hosts and req.headers and req.version == "HTTP/1.1":
        acc.note("missing-host")
    if not seen.user_agent and req.user_agent:
        acc.add("header", "User-Agent", req.user_agent)
    if not seen.referrer and req.referrer and req.referrer != "-":
        acc.add("header", "Referer", req.referrer)
    return seen.content_type


def _outcome(name: str, value: str) -> _Outcome:
    """What one header gives on its own (the request's parameters so far left aside)."""
    own = Collector()
    kind = _header(name, value, own)
    return kind, tuple(own.params), tuple(own.anomalies), own.flags


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
        if not value.strip().isdigit():
            acc.note("bad-content-length")
        return False
    elif kind == _TRANSFER_ENCODING:
        if value.strip().lower() != "chunked":
            acc.note("bad-transfer-encoding")
        return False
    elif kind == _RANGE:
        if value.count(",") >= _MAX_RANGES:
            acc.note("range-abuse")
    elif kind == _CONNECTION:
        if any(t.strip() not in _HOP_BY_HOP_OK for t in value.lower().split(",")):
            acc.note("hop-by-hop-abuse")
    elif kind == _UPGRADE:
        if "h2c" in value.lower():
            acc.note("h2c-upgrade")
    elif kind == _OVERRIDE:
        acc.note("method-override")
    return True


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
