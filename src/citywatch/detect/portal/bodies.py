"""Request bodies into parameters, by content type (part of :mod:`.request`).

A body that hides a second HTTP request (``0\\r\\n\\r\\nGET /admin HTTP/1.1``)
is noted as ``smuggled-request``.

urlencoded forms, JSON (flattened: dotted names, arrays as ``name[]``),
multipart/form-data parts (:mod:`.multipart`) and, for XML or anything else,
the body as one ``body`` parameter. A body without a content type is sniffed
from its first character. Every parser is capped: body characters, JSON
depth, parts.

JSON is read under every name a framework takes it by (``text/json`` in
ASP.NET Core, ``application/x-json``, ``*+json``), and a body that *is* a JSON
object or array is read as JSON whatever its declared type says: Go's
``json.Decoder``, Flask's ``get_json(force=True)`` and catch-all parsers never
look at the type, so ``text/plain`` must not hide what ``application/json``
would show. Such a body stays one ``body`` parameter (or a form) as well; a
declared type that is not JSON, on a body that does not parse, is left as it is
(no ``bad-json``: plain text may well start with ``{``).

A body in UTF-16 or UTF-7 (:mod:`.charsets`) is read as the text its parser
decodes; UTF-7 is noted as ``utf7-body`` (an evasion: no real client sends it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from citywatch.detect.portal.charsets import charset_of, decoded_body
from citywatch.detect.portal.multipart import parse_multipart

if TYPE_CHECKING:
    from citywatch.detect.portal.params import Collector

MAX_BODY = 65536
"""Characters of a body parsed (beyond: anomaly ``body-too-large``)."""
MAX_DEPTH = 24
"""Nesting levels of a JSON body flattened (beyond: anomaly ``json-too-deep``)."""
MAX_ITEMS = 512
"""Items of one JSON array flattened."""

_json = msgspec.json.Decoder()
_EMBEDDED_REQUEST = re.compile(
    r"(?:^|\n)(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|TRACE|CONNECT) \S{1,2048} "
    r"HTTP/\d(?:\.\d)?\r?\n"
)


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, without its parameters.

    >>> media_type("Application/JSON; charset=utf-8"), media_type("")
    ('application/json', '')
    """
    return content_type.partition(";")[0].strip().lower()


_SNIFF = 320
"""Leading characters of a body where a UTF-7 sign (``+/v8``, an XML declaration) must be."""
_FIELD_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
"""Bodies whose charset applies to each field once it is decoded, not to the body's text
(``+`` of a form is a space, never the start of a UTF-7 sequence)."""
JSON_TYPES = frozenset({"application/json", "text/json", "application/x-json", "text/x-json"})
"""Media types read as JSON (and every ``*+json``)."""


def parse_body(body: str, content_type: str, acc: Collector) -> None:
    """Add the parameters of ``body`` (as its ``content_type`` says) to ``acc``."""
    if len(body) > MAX_BODY:
        acc.note("body-too-large")
        body = body[:MAX_BODY]
    if "HTTP/" in body and _EMBEDDED_REQUEST.search(body):
        acc.note("smuggled-request")  # a second request hidden in the body
    if (
        "\x00" in body[:4] or "+" in body[:_SNIFF] or "charset" in content_type.lower()
    ) and media_type(content_type) not in _FIELD_TYPES:  # their fields decode one by one
        decoded = decoded_body(body, charset_of(content_type))
        if decoded is not None:
            body, codec = decoded
            if codec == "utf-7":
                acc.note("utf7-body")
    ctype = media_type(content_type)
    if not ctype:
        first = body.lstrip()[:1]
        if first in ("{", "["):
            ctype = "application/json"
        elif first == "<":
            ctype = "application/xml"
        elif "=" in body and "\n" not in body:
            ctype = "application/x-www-form-urlencoded"
    if ctype in JSON_TYPES or ctype.endswith("+json"):
        _json_body(body, acc)
        return
    if ctype == "application/x-www-form-urlencoded":
        acc.form("body", body)
    elif ctype == "multipart/form-data":
        parse_multipart(body, content_type, acc)
        return
    else:
        acc.add("body", "body", body)
    if body.lstrip()[:1] in ("{", "[") and body.rstrip()[-1:] in ("}", "]"):
        _json_body(body, acc, sniffed=True)  # JSON whatever the type says


def _json_body(body: str, acc: Collector, *, sniffed: bool = False) -> None:
    try:
        doc = _json.decode(body)
    except RecursionError:
        acc.note("json-too-deep")
        if not sniffed:
            acc.add("body", "body", body)
        return
    except msgspec.DecodeError:
        if not sniffed:
            acc.note("bad-json")
            acc.add("body", "body", body)
        return
    if sniffed and doc.__class__ is not dict and doc.__class__ is not list:
        return
    _flatten(doc, "", acc, 0)
    if doc.__class__ is dict or doc.__class__ is list:
        if _keys_written(body) > _keys_kept(doc):
            acc.note("json-duplicate-key")  # parsers disagree on which one counts
        if "mutation" in body and _repeated_mutation(doc):
            acc.note("graphql-batch")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"(\s*+:)?')
"""A JSON string, and the colon after it when it is a key (strings are matched whole, so a
quote inside one is never taken for a key's)."""


def _keys_written(body: str) -> int:
    """How many object keys the JSON text ``body`` writes."""
    return sum(1 for match in _JSON_STRING.finditer(body) if match.group(1))


def _keys_kept(doc: object) -> int:
    """How many object keys the decoded ``doc`` holds (a key written twice is kept once)."""
    kept, stack = 0, [doc]
    while stack:
        node = stack.pop()
        if node.__class__ is dict:
            kept += len(node)
            stack.extend(node.values())
        elif node.__class__ is list:
            stack.extend(node)
    return kept


_CALLED = re.compile(r"(?:^|[{\s,])(?:\w{1,64}\s*+:\s*+)?(\w{1,64})\s*+\(")
_REPEATS = 10
"""Calls of one mutation in one request that make a batch a brute force."""


def _repeated_mutation(doc: object) -> bool:
    """A GraphQL request (one document or a batch) calling one mutation many times, by
    aliases or batched documents: one request, many password guesses."""
    items = doc[:MAX_ITEMS] if isinstance(doc, list) else [doc]
    calls: dict[str, int] = {}
    for item in items:
        query = item.get("query") if isinstance(item, dict) else None
        if isinstance(query, str) and query.lstrip().startswith("mutation"):
            for name in _CALLED.findall(query[:MAX_BODY]):
                calls[name] = calls.get(name, 0) + 1
    return max(calls.values(), default=0) >= _REPEATS


def _flatten(node: object, name: str, acc: Collector, depth: int) -> None:
    if depth > MAX_DEPTH:
        acc.note("json-too-deep")
        return
    if isinstance(node, dict):
        for key, value in node.items():
            _leaf_or_flatten(value, f"{name}.{key}" if name else key, acc, depth + 1)
    elif isinstance(node, list):
        item = f"{name}[]"
        for value in node[:MAX_ITEMS]:
            _leaf_or_flatten(value, item, acc, depth + 1)
    else:
        _leaf_or_flatten(node, name, acc, depth)


def _leaf_or_flatten(node: object, name: str, acc: Collector, depth: int) -> None:
    cls = node.__class__
    if cls is dict or cls is list:
        _flatten(node, name, acc, depth)
    elif cls is str:
        acc.add("body", name, node, json="s")  # type: ignore[arg-type]
    elif node is None:
        acc.add("body", name, "", json="z")
    elif cls is bool:
        acc.add("body", name, "true" if node else "false", json="b")
    else:  # int, float
        acc.add("body", name, str(node), json="n")
