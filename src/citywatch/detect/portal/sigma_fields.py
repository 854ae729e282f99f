"""Sigma field names mapped onto a portal request, and one request seen as those fields.

SigmaHQ's ``webserver`` and ``proxy`` rules name fields as W3C extended logs
do (``cs-uri-query``, ``sc-status``, ``c-useragent``); others use Elastic
Common Schema names (``url.query``, ``user_agent.original``). Both resolve to
one *field key* here (names are matched case-insensitively, so ``cs-Host``
works too); ``cs(Name)`` and ``http.request.headers.<name>`` name one header.

=========================================================  ==============  ===================
Sigma / W3C / ECS names                                    field key       value
=========================================================  ==============  ===================
cs-method, http.request.method                             ``method``      ``GET``
cs-uri, c-uri, url.original                                ``uri``         path and query
cs-uri-stem, c-uri-stem, url.path                          ``path``        up to ``?`` or ``#``
cs-uri-query, c-uri-query, url.query                       ``query``       after ``?``
cs-uri-extension, c-uri-extension, url.extension           ``extension``   ``php`` (no dot)
cs-version, http.version                                   ``version``     ``HTTP/1.1``
sc-status, http.response.status_code                       ``status``      number
sc-bytes, http.response.body.bytes                         ``bytes_out``   number
cs-bytes, http.request.body.bytes                          ``bytes_in``    body size, number
c-useragent, cs-user-agent, cs(User-Agent),                ``user_agent``
user_agent.original
cs-referrer, cs-referer, cs(Referer), http.request.referrer ``referrer``
c-ip, src_ip, source.ip                                    ``source_ip``   address
cs-host, cs(Host), r-dns, url.domain                       ``host``        ``Host`` header
cs-cookie, cs(Cookie)                                      ``cookie``      ``Cookie`` header
http.request.body.content                                  ``body``
http.request.headers                                       ``headers``     ``Name: value`` lines
=========================================================  ==============  ===================

A field the request does not have is *missing* (``None``): an absent header,
a URI without ``?``, an empty body, a status the source does not know. Only
``null`` and ``|exists: false`` match a missing field. ``headers`` falls back
to the user agent and referrer an access log records. Values are capped at
:data:`MAX_VALUE` characters for matching.

Keyword (field-less) detections search the whole request as one *line*:
an access log record is its combined log format line; a full request
(``http-jsonl``) is that line with ``-`` for the referrer and user agent,
followed by all its headers and its body::

    203.0.113.9 - - "GET /a?b=1 HTTP/1.1" 200 512 "REFERRER" "USER-AGENT"
    203.0.113.9 - - "POST /a HTTP/1.1" - - "-" "-"
    Host: portal.example
    User-Agent: USER-AGENT

    BODY
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Final

from citywatch.model import Event, HttpRequest

MAX_VALUE: Final = 65_536
"""Characters of one field (and of the body in the line) that rules look at."""

LINE: Final = "line"
"""The field key of keyword detections: the whole request as one line."""

NUMERIC: Final = frozenset({"status", "bytes_out", "bytes_in"})

SEGMENTS: Final = ("method", "uri", "referrer", "user_agent", "headers", "body")
"""The parts of the line the prefilter tells apart, in line order."""

_SEGMENT_OF: Final = {
    "method": 0,
    "uri": 1,
    "path": 1,
    "query": 1,
    "extension": 1,
    "referrer": 2,
    "user_agent": 3,
    "host": 4,
    "cookie": 4,
    "body": 5,
}
ANYWHERE: Final = (1 << len(SEGMENTS)) - 1 | 1 << len(SEGMENTS)
"""Segment mask of keyword literals: any position of the line, across parts too."""

_ALIASES: Final = {
    "method": ("cs-method", "http.request.method"),
    "uri": ("cs-uri", "c-uri", "url.original"),
    "path": ("cs-uri-stem", "c-uri-stem", "url.path"),
    "query": ("cs-uri-query", "c-uri-query", "url.query"),
    "extension": ("cs-uri-extension", "c-uri-extension", "url.extension"),
    "version": ("cs-version", "http.version"),
    "status": ("sc-status", "http.response.status_code"),
    "bytes_out": ("sc-bytes", "http.response.body.bytes"),
    "bytes_in": ("cs-bytes", "http.request.body.bytes"),
    "user_agent": ("c-useragent", "cs-user-agent", "cs-useragent", "user_agent.original"),
    "referrer": ("cs-referrer", "cs-referer", "http.request.referrer"),
    "source_ip": ("c-ip", "src_ip", "source.ip"),
    "host": ("cs-host", "r-dns", "url.domain"),
    "cookie": ("cs-cookie",),
    "body": ("http.request.body.content",),
    "headers": ("http.request.headers",),
}
_NAMES: Final = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
_HEADER_FIELDS: Final = {
    "user-agent": "user_agent",
    "referer": "referrer",
    "host": "host",
    "cookie": "cookie",
}
_LOCATIONS: Final = {
    "user_agent": "header:User-Agent",
    "referrer": "header:Referer",
    "host": "header:Host",
    "cookie": "header:Cookie",
    "source_ip": "source.ip",
    "bytes_out": "response",
    "bytes_in": "body",
    "extension": "path",
}


def field_key(name: str) -> str | None:
    """The field key a Sigma field name stands for, or None when it is not mapped.

    >>> field_key("cs-uri-query"), field_key("cs-Host"), field_key("cs(X-Api-Key)")
    ('query', 'host', 'header:x-api-key')
    >>> field_key("Image") is None
    True
    """
    lname = name.casefold()
    key = _NAMES.get(lname)
    if key is not None:
        return key
    if lname.startswith("cs(") and lname.endswith(")") and len(lname) > 4:
        header = lname[3:-1]
    elif lname.startswith("http.request.headers.") and len(lname) > 21:
        header = lname[21:]
    else:
        return None
    return _HEADER_FIELDS.get(header, f"header:{header}")


def segment_mask(key: str) -> int:
    """The line segments a literal of field ``key`` can lie in, as a bit mask."""
    if key == LINE:
        return ANYWHERE
    if key in ("headers", "user_agent", "referrer"):  # in the header block when there is one
        return 1 << 2 | 1 << 3 | 1 << 4 if key == "headers" else 1 << _SEGMENT_OF[key] | 1 << 4
    if key.startswith("header:"):
        return 1 << 4
    seg = _SEGMENT_OF.get(key)
    return 0 if seg is None else 1 << seg


def location(key: str) -> str:
    """Where a field is, as hits name it (``query``, ``header:User-Agent``, ``body``...)."""
    if key.startswith("header:"):
        return "header:" + "-".join(p.capitalize() for p in key[7:].split("-"))
    return _LOCATIONS.get(key, key)


def _split_uri(uri: str) -> tuple[str, str | None]:
    cut = uri.find("#")
    if cut >= 0:
        uri = uri[:cut]
    path, sep, query = uri.partition("?")
    return path, (query if sep else None)


def _header_lines(request: HttpRequest) -> str:
    """Every header as ``Name: value`` lines; for an access log, its user agent and referrer."""
    if request.headers:
        return "\n".join([f"{k}: {v}" for k, v in request.headers])
    parts = []
    if request.user_agent is not None:
        parts.append(f"User-Agent: {request.user_agent}")
    if request.referrer is not None:
        parts.append(f"Referer: {request.referrer}")
    return "\n".join(parts)


def join_line(pieces: tuple[str, ...]) -> str:
    """The line from its pieces: address, method, uri, version, status, bytes, referrer,
    user agent, header block, body.

    >>> join_line(("ip", "GET", "/a", "HTTP/1.1", "200", "5", "-", "UA", "", ""))
    'ip - - "GET /a HTTP/1.1" 200 5 "-" "UA"'
    """
    ip, method, uri, version, status, size, ref, agent, headers, body = pieces
    line = f'{ip} - - "{method} {uri} {version}" {status} {size} "{ref}" "{agent}"'
    return f"{line}\n{headers}\n\n{body}" if headers or body else line


def segment_spans(pieces: tuple[str, ...]) -> tuple[int, ...]:
    """The (start, end) of each of :data:`SEGMENTS` in :func:`join_line` of ``pieces``.

    Only the lengths of the pieces count, so the spans of a line are those of
    its casefolded copy too, when casefolding kept every length.

    >>> pieces = ("ip", "GET", "/a", "HTTP/1.1", "200", "5", "-", "UA", "H: v", "b")
    >>> line, spans = join_line(pieces), segment_spans(pieces)
    >>> [line[spans[2 * i] : spans[2 * i + 1]] for i in range(6)]
    ['GET', '/a', '-', 'UA', 'H: v', 'b']
    """
    ip, method, uri, version, status, size, ref, agent, headers, body = pieces
    s_m = len(ip) + 6
    s_u = s_m + len(method) + 1
    e_u = s_u + len(uri)
    s_r = e_u + len(version) + len(status) + len(size) + 6
    e_r = s_r + len(ref)
    e_a = e_r + 3 + len(agent)
    if not headers and not body:
        return (s_m, s_m + len(method), s_u, e_u, s_r, e_r, e_r + 3, e_a, 0, 0, 0, 0)
    s_h = e_a + 2
    s_b = s_h + len(headers) + 2
    return (
        s_m,
        s_m + len(method),
        s_u,
        e_u,
        s_r,
        e_r,
        e_r + 3,
        e_a,
        s_h,
        s_b - 2,
        s_b,
        s_b + len(body),
    )


def line_parts(req: HttpRequest, headers: bool, body: bool) -> tuple[str, str, str, str, str, str]:
    """The text of each of :data:`SEGMENTS` in the line of ``req``, headers and body only if
    asked, as :meth:`RequestView.scan_text` joins them.

    >>> line_parts(HttpRequest(method="GET", uri="/a", user_agent="UA"), True, True)
    ('GET', '/a', '-', 'UA', '', '')
    """
    uri, ref, agent = req.uri, req.referrer, req.user_agent
    if len(uri) > MAX_VALUE:
        uri = uri[:MAX_VALUE]
    block = ""
    if headers and req.headers:  # a field already in the header block is "-" in its own part
        block = "\n".join([f"{k}: {v}" for k, v in req.headers])
        if ref is not None and ref in block:
            ref = None
        if agent is not None and agent in block:
            agent = None
    return (
        req.method,
        uri,
        "-" if ref is None else ref,
        "-" if agent is None else agent,
        block,
        req.body[:MAX_VALUE] if body else "",
    )


class RequestView:
    """One request seen as Sigma fields: original and casefolded values, computed once."""

    __slots__ = ("_folded", "_ip", "_ip_done", "_line", "_original", "event", "request")

    def __init__(self, event: Event, request: HttpRequest) -> None:
        self.event = event
        self.request = request
        self._original: dict[str, str | None] = {}
        self._folded: dict[str, str | None] = {}
        self._line: tuple[str, tuple[str, ...]] | None = None
        self._ip: IPv4Address | IPv6Address | None = None
        self._ip_done = False

    def original(self, key: str) -> str | None:
        """The value of field ``key`` as sent (capped), or None when it is missing."""
        cache = self._original
        if key in cache:
            return cache[key]
        value = self._compute(key)
        if value is not None and len(value) > MAX_VALUE and key != LINE:
            value = value[:MAX_VALUE]
        cache[key] = value
        return value

    def folded(self, key: str) -> str | None:
        """The casefolded value of field ``key`` (what case-insensitive matching sees)."""
        cache = self._folded
        if key in cache:
            return cache[key]
        if key == LINE:
            folded: str | None = self.folded_line()
        else:
            value = self.original(key)
            folded = None if value is None else value.casefold()
        cache[key] = folded
        return folded

    def number(self, key: str) -> int | None:
        """The value of field ``key`` as an integer, or None."""
        req = self.request
        if key == "status":
            return req.status
        if key == "bytes_out":
            return req.bytes_out
        if key == "bytes_in":
            return len(req.body.encode()) if req.body else None
        value = self.original(key)
        if value is None:
            return None
        value = value.strip()
        digits = value[1:] if value[:1] == "-" else value
        return int(value) if digits.isascii() and digits.isdigit() else None

    def ip(self, key: str) -> IPv4Address | IPv6Address | None:
        """The value of field ``key`` as an IP address, or None."""
        if key == "source_ip" and self._ip_done:
            return self._ip
        value = self.original(key)
        try:
            address = None if value is None else ip_address(value.strip())
        except ValueError:
            address = None
        if key == "source_ip":
            self._ip, self._ip_done = address, True
        return address

    def scan_text(self, headers: bool, body: bool) -> tuple[str, tuple[str, ...]]:
        """The casefolded line (headers and body only if asked), and the pieces it was
        joined from as long as they are in it (for :func:`segment_spans`, needed only
        where something matched)."""
        if self._line is not None:
            return self._line
        req = self.request
        method, uri, ref, agent, block, body_text = line_parts(req, headers, body)
        pieces: tuple[str, ...] = (
            self.event.source_ip or "-",
            method,
            uri,
            req.version,
            "-" if req.status is None else str(req.status),
            "-" if req.bytes_out is None else str(req.bytes_out),
            ref,
            agent,
            block,
            body_text,
        )
        line = join_line(pieces)
        folded = line.casefold()
        if len(folded) != len(line):  # casefolding expanded a character: fold piece by piece
            pieces = tuple(p.casefold() for p in pieces)
            folded = join_line(pieces)
        if headers and body:
            self._original[LINE] = line
            self._line = (folded, pieces)
        return folded, pieces

    def folded_line(self) -> str:
        """The whole casefolded line, as keyword detections search it."""
        return self.scan_text(True, True)[0]

    def evidence(self, key: str, value: str, start: int, end: int) -> tuple[str, str, int, int]:
        """Where ``value[start:end]`` of field ``key`` is, and the text and bounds of a short
        snippet around it.

        ``value`` is the text that was matched (casefolded or not); the
        snippet is in the original case unless casefolding changed the
        length. A match in ``headers`` is located in its header.
        """
        original = self.original(key)
        text = original if original is not None and len(original) == len(value) else value
        where = location(key)
        lo_limit, hi_limit = 0, len(text)
        if key == "headers":
            lo_limit = text.rfind("\n", 0, start) + 1
            cut = text.find("\n", start)
            hi_limit = len(text) if cut < 0 else cut
            name, sep, _ = text[lo_limit:hi_limit].partition(": ")
            if sep and start >= lo_limit + len(name) + 2:
                where = f"header:{name}"
                lo_limit += len(name) + 2
        lo = max(lo_limit, start - 24)
        hi = min(hi_limit, max(end, start + 1) + 40, lo + 120)
        return where, text, lo, hi

    def _compute(self, key: str) -> str | None:
        getter = _GETTERS.get(key)
        if getter is not None:
            return getter(self.request)
        if key == "source_ip":
            return self.event.source_ip
        if key in NUMERIC:
            number = self.number(key)
            return None if number is None else str(number)
        if key == LINE:
            self.scan_text(True, True)
            return self._original[LINE]
        if key.startswith("header:"):
            return self.request.header(key[7:])
        return None


def _path(req: HttpRequest) -> str:
    return _split_uri(req.uri)[0]


def _query(req: HttpRequest) -> str | None:
    return _split_uri(req.uri)[1]


def _extension(req: HttpRequest) -> str | None:
    name = _split_uri(req.uri)[0].rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot + 1 :] if dot >= 0 else None


_GETTERS: Final[dict[str, Callable[[HttpRequest], str | None]]] = {
    "method": lambda r: r.method,
    "uri": lambda r: r.uri,
    "path": _path,
    "query": _query,
    "extension": _extension,
    "user_agent": lambda r: r.user_agent,
    "referrer": lambda r: r.referrer,
    "body": lambda r: r.body or None,
    "headers": lambda r: _header_lines(r) or None,
    "version": lambda r: r.version or None,
    "host": lambda r: r.header("host"),
    "cookie": lambda r: r.header("cookie"),
}
