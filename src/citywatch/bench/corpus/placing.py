"""Finding a payload in a request by its ``where`` label, and putting another in its place.

``where`` is ``KIND:NAME`` with KIND one of ``query``, ``form``, ``json``
(a top-level key of a JSON object body), ``header`` or ``cookie``; other
locations (``path``, ``body``, ``uri``, ``method``...) are not placeable.
:func:`payload` returns the decoded value; :func:`place` puts *wire* text
(already encoded for that location) in its place and fixes Content-Length.

>>> from citywatch.bench.corpus import HttpRecord
>>> r = HttpRecord(id="x", timestamp="", source_ip="", method="GET", uri="/a?q=1%27&p=2")
>>> payload(r, "query:q")
"1'"
>>> place(r, "query:q", "2").uri
'/a?q=2&p=2'
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import unquote_plus

import msgspec

from citywatch.bench.corpus import HttpRecord

PLACEABLE: Final = frozenset({"query", "form", "json", "header", "cookie"})
_SENTINEL: Final = "\x00citywatch-payload\x00"


def kind(where: str) -> str:
    """The location kind of a ``where`` label (``query`` for ``query:district``)."""
    return where.partition(":")[0]


def payload(record: HttpRecord, where: str) -> str | None:
    """The decoded payload at ``where``, or None when it is not a placeable text value."""
    loc, _, name = where.partition(":")
    if loc == "query":
        return _param(record.uri.partition("?")[2], name)
    if loc == "form":
        return _param(record.body, name)
    if loc == "json":
        obj = _json_object(record.body)
        value = obj.get(name) if obj is not None else None
        return value if isinstance(value, str) else None
    if loc == "header":
        return _header(record, name)
    if loc == "cookie":
        for part in (_header(record, "cookie") or "").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value
    return None


def place(record: HttpRecord, where: str, wire: str) -> HttpRecord:
    """A copy of ``record`` with ``wire`` (encoded for the location) at ``where``."""
    loc, _, name = where.partition(":")
    if loc == "query":
        path, _, query = record.uri.partition("?")
        return msgspec.structs.replace(record, uri=f"{path}?{_replace_param(query, name, wire)}")
    if loc == "form":
        return _with_body(record, _replace_param(record.body, name, wire))
    if loc == "json":
        obj = _json_object(record.body)
        if obj is None:
            raise ValueError(f"{record.id}: body is not a JSON object")
        obj[name] = _SENTINEL
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        return _with_body(record, text.replace(json.dumps(_SENTINEL, ensure_ascii=False), wire))
    if loc == "header":
        return _with_header(record, name, wire)
    if loc == "cookie":
        parts = []
        for part in (_header(record, "cookie") or "").split("; "):
            key, sep, _ = part.partition("=")
            parts.append(f"{key}={wire}" if sep and key == name else part)
        return _with_header(record, "cookie", "; ".join(parts))
    raise ValueError(f"{record.id}: location {where!r} is not placeable")


def _param(text: str, name: str) -> str | None:
    for piece in text.split("&"):
        key, sep, value = piece.partition("=")
        if sep and unquote_plus(key) == name:
            return unquote_plus(value)
    return None


def _replace_param(text: str, name: str, wire: str) -> str:
    pieces = text.split("&")
    for i, piece in enumerate(pieces):
        key, sep, _ = piece.partition("=")
        if sep and unquote_plus(key) == name:
            pieces[i] = f"{key}={wire}"
            return "&".join(pieces)
    raise ValueError(f"no parameter {name!r}")


def _json_object(body: str) -> dict[str, object] | None:
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _header(record: HttpRecord, name: str) -> str | None:
    lname = name.lower()
    for key, value in record.headers:
        if key.lower() == lname:
            return value
    return None


def _with_header(record: HttpRecord, name: str, value: str) -> HttpRecord:
    lname = name.lower()
    headers = [(k, value if k.lower() == lname else v) for k, v in record.headers]
    return msgspec.structs.replace(record, headers=headers)


def _with_body(record: HttpRecord, body: str) -> HttpRecord:
    length = str(len(body.encode()))
    headers = [(k, length if k.lower() == "content-length" else v) for k, v in record.headers]
    return msgspec.structs.replace(record, body=body, headers=headers)
