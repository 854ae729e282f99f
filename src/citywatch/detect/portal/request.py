"""One HTTP request taken apart once, for every portal detector.

:func:`parse_request` splits a :class:`~citywatch.model.HttpRequest` into its
normalised path, an endpoint template and a flat tuple of :class:`Param` s
(query string, body by content type (:mod:`.bodies`), cookies and every
header but the routine ones (:mod:`.headers`)), and notes protocol anomalies
on the way. Its work is capped (parameters, value and path length, body
bytes, decoding rounds; see :mod:`.params`) and the last result is cached by
identity, because several detectors parse the same request in a row.

>>> from citywatch.model import HttpRequest
>>> p = parse_request(HttpRequest(method="GET", uri="/tax/returns/123?year=2025&q=a%2Bb+c"))
>>> p.template, [(x.location, x.name, x.value) for x in p.params]
('/tax/returns/{id}', [('path', '{id}', '123'), ('query', 'year', '2025'), ('query', 'q', 'a+b c')])
"""

from __future__ import annotations

import re

from citywatch.detect.portal.bodies import MAX_BODY, parse_body
from citywatch.detect.portal.headers import parse_headers
from citywatch.detect.portal.normalise import (
    BAD_ESCAPE,
    BAD_UTF8,
    MULTI_ENCODED,
    NUL_BYTE,
    OVERLONG_UTF8,
    PERCENT_U,
)
from citywatch.detect.portal.params import (
    MAX_NAME,
    MAX_PARAMS,
    MAX_VALUE,
    Collector,
    Param,
    ParsedRequest,
)
from citywatch.detect.portal.paths import MAX_PATH, PATH_TOO_LONG, path_forms, path_template
from citywatch.model import HttpRequest

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}
)
"""Methods a portal serves (TRACE is known but flagged: cross-site tracing)."""
_VERSIONS = frozenset({"", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0"})
_FLAG_CODES = (
    (BAD_ESCAPE, "bad-url-encoding"),
    (MULTI_ENCODED, "multiple-url-encoding"),
    (OVERLONG_UTF8, "overlong-utf8"),
    (BAD_UTF8, "bad-utf8"),
    (NUL_BYTE, "nul-byte"),
    (PERCENT_U, "percent-u-encoding"),
    (PATH_TOO_LONG, "uri-too-long"),
)
_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*")


_last: tuple[HttpRequest | None, ParsedRequest | None] = (None, None)


def parse_request(req: HttpRequest) -> ParsedRequest:
    """Take one request apart (cached: the same object twice in a row is parsed once).

    >>> p = parse_request(HttpRequest(method="TRACK", uri="/a/%2e%2e/b//c", version="HTTP/1.1"))
    >>> p.norm_path, p.decoded_path, p.anomalies
    ('/b/c', '/a/../b//c', ('unknown-method',))
    """
    global _last  # noqa: PLW0603 - a one-slot identity cache
    last_req, last = _last
    if req is last_req and last is not None:
        return last
    acc = Collector()
    method = req.method
    uri = req.uri
    # nginx logs "-" (400, 408) for a connection that sent no request at all (a browser's
    # preconnect, a timeout): no method and no URI were sent, so none is odd. A line that is
    # not HTTP (a TLS handshake to a plain port) is one, and stays bad.
    silent = method == "-" and uri in ("-", "") and not req.version
    if method not in KNOWN_METHODS and not silent:
        acc.note("unknown-method" if method.isalpha() and method.isupper() else "bad-method")
    if req.version not in _VERSIONS:
        acc.note("bad-version")

    if uri[:1] != "/" and not silent:
        match = _ABSOLUTE.match(uri)
        if match:
            acc.note("absolute-uri")  # origin servers get origin-form; this one asks a proxy
            uri = uri[match.end() :] or "/"
        elif uri != "*":
            acc.note("bad-uri")
    path, _, query = uri.partition("?")
    if "#" in path:
        path = path.partition("#")[0]
    elif "#" in query:
        query = query.partition("#")[0]
    forms = path_forms(path)
    decoded, norm, template, flags = forms
    acc.flags |= flags
    if template != norm:  # the ids the template collapsed are the path's parameters
        _path_ids(path, norm, template, acc)
    if ";" in norm:  # matrix parameters: /a;jsessionid=x/b
        for segment in norm.split("/"):
            if ";" in segment:
                for piece in segment.split(";")[1:]:
                    name, _, value = piece.partition("=")
                    acc.add("path", name, value)
    if query:
        acc.form("query", query)

    content_type = parse_headers(req, acc)
    if req.body:
        parse_body(req.body, content_type, acc)
    if "_method" in query or "_method" in req.body:
        _method_override(method, acc)
    if acc.flags:
        for bit, code in _FLAG_CODES:
            if acc.flags & bit:
                acc.note(code)
    parsed = ParsedRequest(
        method,
        path,
        norm,
        template,
        tuple(acc.params),
        content_type,
        tuple(acc.anomalies),
        decoded,
        query,
    )
    _last = (req, parsed)
    return parsed


def _method_override(method: str, acc: Collector) -> None:
    """A ``_method`` parameter asking for another method: the form-field twin of the
    ``X-HTTP-Method-Override`` header (Rails, Laravel), noted alike."""
    for param in acc.params:
        if param.name == "_method" and param.location != "header":
            if param.value.strip().upper() != method:
                acc.note("method-override")
            return


def _path_ids(path: str, norm: str, template: str, acc: Collector) -> None:
    """Each collapsed segment as a ``path`` parameter named by its slot (``{id}``, then
    ``{id}2``...), so the learned model types record ids as it types query values. Its raw
    value is the segment as sent when the raw path lines up with the normalised one and
    decodes to it (``2024-%EF%BC%90...``, full-width digits, is not ``2024-0...`` as sent)."""
    seen: dict[str, int] = {}
    segments = norm.split("/")
    raws = path.split("/") if path != norm else segments
    if len(raws) != len(segments):
        raws = segments
    for segment, slot, sent in zip(segments, template.split("/"), raws, strict=True):
        if slot != segment:
            n = seen[slot] = seen.get(slot, 0) + 1
            as_sent = sent == segment or path_forms(sent)[0] == segment
            acc.add("path", slot if n == 1 else f"{slot}{n}", sent if as_sent else segment)


__all__ = [
    "KNOWN_METHODS",
    "MAX_BODY",
    "MAX_NAME",
    "MAX_PARAMS",
    "MAX_PATH",
    "MAX_VALUE",
    "Param",
    "ParsedRequest",
    "parse_request",
    "path_template",
]
