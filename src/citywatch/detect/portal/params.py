"""The parsed-request types, the parsing limits, and the collector the parsers fill.

:class:`Param` and :class:`ParsedRequest` are what
:func:`~citywatch.detect.portal.request.parse_request` returns (and are
re-exported there); :class:`Collector` is what its parts (path, query,
:mod:`.headers`, :mod:`.bodies`) add parameters and anomalies to.
"""

from __future__ import annotations

import unicodedata

import msgspec

from citywatch.detect.portal.normalise import url_decode_flags

MAX_PARAMS = 256
"""Parameters kept per request (beyond: anomaly ``too-many-params``)."""
MAX_VALUE = 8192
"""Characters of a raw value decoded and kept (beyond: anomaly ``value-too-long``)."""
MAX_NAME = 256
"""Characters of a parameter name kept (beyond: anomaly ``value-too-long``)."""


class Param(msgspec.Struct, frozen=True, gc=False):
    """One named value of a request.

    ``location`` is ``query``, ``body``, ``cookie``, ``header`` or ``path``;
    ``raw`` is the value as sent (capped), ``value`` the URL-decoded one
    (repeatedly, see :func:`~citywatch.detect.portal.normalise.url_decode`);
    ``json`` the JSON type of a JSON body's value (:data:`JSON_TYPES`), else empty;
    ``file`` true for an uploaded file's content (a multipart part with a file name).
    """

    location: str
    name: str
    raw: str
    value: str
    json: str = ""
    file: bool = False


JSON_TYPES = {"s": "a string", "n": "a number", "b": "true or false", "z": "null"}
"""The JSON types a parameter's value may have, by the letter :attr:`Param.json` holds."""


class ParsedRequest(msgspec.Struct, frozen=True, gc=False):
    """A request taken apart: path forms, template, parameters, anomalies.

    ``path`` is the raw path, ``decoded_path`` the URL-decoded one (dot
    segments kept, for traversal checks), ``norm_path`` decoded and resolved,
    ``template`` the endpoint with ids collapsed, ``query`` the raw query
    string. ``anomalies`` are stable short codes (``bad-url-encoding``,
    ``te-and-cl``...), each at most once.
    """

    method: str
    path: str
    norm_path: str
    template: str
    params: tuple[Param, ...]
    content_type: str
    anomalies: tuple[str, ...]
    decoded_path: str = ""
    query: str = ""


class Collector:
    """Parameters and anomalies collected while one request is parsed (mutable).

    ``flags`` gathers the decoding flags of :mod:`~citywatch.detect.portal.normalise`.
    """

    __slots__ = ("anomalies", "flags", "params")

    def __init__(self) -> None:
        self.params: list[Param] = []
        self.anomalies: list[str] = []
        self.flags = 0

    def add(
        self, location: str, name: str, raw: str, *, plus: bool = False, json: str = ""
    ) -> None:
        if len(self.params) >= MAX_PARAMS:
            if "too-many-params" not in self.anomalies:
                self.anomalies.append("too-many-params")
            return
        if len(raw) > MAX_VALUE or len(name) > MAX_NAME:
            raw, name = raw[:MAX_VALUE], name[:MAX_NAME]
            self.note("value-too-long")
        if "%" in raw or (plus and "+" in raw) or "\x00" in raw:
            value, flags = url_decode_flags(raw, plus=plus)
            self.flags |= flags
        else:
            value = raw
        if not value.isascii():
            value = _nfkc(value)
        self.params.append(Param(location, name, raw, value, json))

    def file(self, name: str, content: str) -> None:
        """Add an uploaded file's content as a body parameter, as sent: no server URL-decodes
        a file, and a NUL byte is as normal in a photo as it is odd in a form field."""
        if len(self.params) >= MAX_PARAMS:
            self.note("too-many-params")
            return
        if len(content) > MAX_VALUE or len(name) > MAX_NAME:
            content, name = content[:MAX_VALUE], name[:MAX_NAME]
            self.note("value-too-long")
        self.params.append(Param("body", name, content, content, file=True))

    def fast(self, location: str, name: str, value: str) -> None:
        """Add a parameter: inline when nothing needs decoding or capping (the common case)."""
        params = self.params
        if (
            "%" not in value
            and value.isascii()
            and value.isprintable()
            and len(value) <= MAX_VALUE
            and len(name) <= MAX_NAME
            and len(params) < MAX_PARAMS
        ):
            params.append(Param(location, name, value, value))
        else:
            self.add(location, name, value)

    def room(self) -> int:
        """Parameters that may still be added (a bound for splitting)."""
        return max(1, MAX_PARAMS - len(self.params))

    def note(self, code: str) -> None:
        if code not in self.anomalies:
            self.anomalies.append(code)

    def form(self, location: str, text: str) -> None:
        """Parameters of a query string or urlencoded form."""
        params = self.params
        for pair in text.split("&", MAX_PARAMS + 1):
            name, eq, raw = pair.partition("=")
            if (  # the common case: nothing to decode, inline
                "%" not in pair
                and "+" not in pair
                and pair.isascii()
                and pair.isprintable()
                and len(pair) <= MAX_VALUE
                and len(params) < MAX_PARAMS
            ):
                if pair:
                    params.append(Param(location, name, raw, raw))
                continue
            if "%" in name or "+" in name:
                name, flags = url_decode_flags(name[: 3 * MAX_NAME], plus=True)
                self.flags |= flags
            self.add(location, name, raw if eq else "", plus=True)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)
