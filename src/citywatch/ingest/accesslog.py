"""``access-log``: Apache/nginx combined (or common) log format and JSON logs.

The format is detected per line: a line starting with ``{`` is a JSON log
record, anything else is read as combined/common log format::

    203.0.113.9 - alice [10/Oct/2026:13:55:36 +0200] "GET /tax HTTP/1.1" 200 2326 "ref" "UA"

A JSON record names its fields as nginx's ``log_format ... escape=json``
does (``request``, ``remote_addr``, ``status``...) or as the Elastic Common
Schema does (``url.original``, ``source.ip``, ``http.response.status_code``...:
what Filebeat, Logstash and Elastic Agent write), nested or dotted.

A well-formed line whose request is not ``METHOD URI VERSION`` (a TLS
handshake sent to a plain-HTTP port, say) is kept as an event with method
``-`` and the request text as URI: it is evidence, not noise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

import msgspec

from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter
from citywatch.ingest.fields import (
    IPV4_CANONICAL,
    MissingFieldError,
    decode_json_text,
    http_outcome,
    parse_clf_time,
    parse_ip,
    parse_time,
)
from citywatch.model import DeadLetter, Event, HttpRequest


def _clf(quoted: str) -> re.Pattern[str]:
    """The line pattern with ``quoted`` for a quoted field: ASCII digits only, a size short
    enough for int(), and possessive quantifiers (``*+``, ``++``) where giving characters
    back could never lead to a match, so the engine keeps nothing to backtrack to."""
    return re.compile(
        r"(\S++) \S++ (\S++) \[([^\]]++)\] " + quoted + r" ([0-9]{3}|-) ([0-9]{1,19}+|-)(?![0-9])"
        r"(?: " + quoted + " " + quoted + r")?"
    )


_CLF = _clf(r'"([^"\\]*+(?:\\.[^"\\]*+)*+)"')
"""Quoted fields with backslash escapes, in linear time."""
_CLF_PLAIN = _clf(r'"([^"]*+)"')
"""The same on a line without a backslash (most): a field runs to the next quote, which the
regex engine finds with a plain character scan instead of a set test per character."""
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\(.)")

DATASET = "portal.access"
_ADDRESSES = 65536
"""Client addresses remembered as checked (the common case: a canonical IPv4 address)."""


def _unescape(text: str) -> str:
    r"""Undo the log writer's escaping: nginx ``\x22``, Apache ``\"``.

    Escaped bytes are reassembled before decoding, so escaped UTF-8 comes
    back as the characters it encodes; invalid bytes stay visible as ``\xHH``.

    >>> _unescape(r"caf\xC3\xA9 \"q\" \xff")
    'café "q" \\xff'
    """
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8", "surrogatepass")
        hexpair = m.group(1)
        out += bytes((int(hexpair, 16),)) if hexpair is not None else m.group(2).encode()
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "backslashreplace")


def split_request(request: str) -> tuple[str, str, str]:
    """``(method, uri, version)`` from a request line; ``("-", request, "")`` when it is not one."""
    parts = request.split(" ")
    if len(parts) == 3 and parts[0].isalpha():
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and parts[0].isalpha():  # HTTP/0.9
        return parts[0], parts[1], ""
    return "-", request, ""


def _client_address(host: str) -> str | None:
    """The client's address; None when the log names it by host name (``HostnameLookups``).

    Only digits and dots, or a colon, mean an address: one that does not parse
    is malformed (``ValueError``), not a host name.

    >>> _client_address("1-2-3-4.dyn.example") is None, _client_address("::1")
    (True, '::1')
    """
    if ":" in host or not host.strip("0123456789."):
        return parse_ip(host)
    return None


_BAD_LINE = (
    "not a combined or common log line: expected 'HOST IDENT USER [TIME] \"REQUEST\" STATUS BYTES'"
)


def _opt(value: str | None) -> str | None:
    if value is None or value in ("-", ""):
        return None
    return _unescape(value) if "\\" in value else value


class AccessLogAdapter(Adapter):
    """Combined/common access logs and nginx JSON logs (auto-detected per line)."""

    name: ClassVar[str] = "access-log"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "Apache/nginx combined or common log format, or nginx JSON logs"

    _json = msgspec.json.Decoder()

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        # The hot loop of the portal silo: the common path is inlined on purpose, and the
        # time of the line before and the addresses seen are reused (logs repeat both).
        match, plain = _CLF.match, _CLF_PLAIN.match
        v4 = IPV4_CANONICAL.fullmatch
        clf_time = parse_clf_time
        last_when, last_ts = "", 0.0
        addresses: dict[str, str] = {}
        for lineno, raw in enumerate(lines, 1):
            if len(raw) > MAX_RECORD_BYTES:
                yield self.dead_letter(
                    source, lineno, "too-long", f"line of {len(raw)} bytes exceeds the limit", raw
                )
                continue
            text = raw.decode("utf-8", "backslashreplace").strip()
            if not text:
                continue
            if text[0] == "{":
                yield self._json_line(source, lineno, decode_json_text(raw).strip(), raw)
                continue
            m = plain(text) if "\\" not in text else match(text)
            if m is None:
                yield self.dead_letter(source, lineno, "bad-line", _BAD_LINE, raw)
                continue
            host, user, when, request, status, size, referrer, agent = m.groups()
            ip = addresses.get(host)
            try:
                if when != last_when:
                    last_ts, last_when = clf_time(when), when
                if ip is None:
                    ip = host if v4(host) else _client_address(host)
                    if ip is not None:
                        if len(addresses) >= _ADDRESSES:
                            addresses.clear()
                        addresses[host] = ip
            except ValueError as exc:
                yield self.dead_letter(source, lineno, "bad-field", str(exc), raw)
                continue
            code = None if status == "-" else int(status)
            if not referrer or referrer == "-":  # _opt, inlined
                referrer = None
            elif "\\" in referrer:
                referrer = _unescape(referrer)
            if not agent or agent == "-":
                agent = None
            elif "\\" in agent:
                agent = _unescape(agent)
            if "\\" in request:
                request = _unescape(request)
            parts = request.split(" ")
            if len(parts) == 3 and parts[0].isalpha():
                method, uri, version = parts
            else:
                method, uri, version = split_request(request)
            yield Event(
                id=f"{source}:{lineno}",
                timestamp=last_ts,
                dataset=DATASET,
                observer=source,
                outcome=None if code is None else "failure" if code >= 400 else "success",
                source_ip=ip,
                user_id=None if user == "-" else _opt(user),
                payload=HttpRequest(
                    method=method,
                    uri=uri,
                    version=version,
                    status=code,
                    bytes_out=None if size == "-" else int(size),
                    referrer=referrer,
                    user_agent=agent,
                ),
            )

    def _json_line(self, source: str, lineno: int, text: str, raw: bytes) -> Event | DeadLetter:
        try:
            rec = self._json.decode(text)
        except msgspec.DecodeError as exc:
            return self.dead_letter(source, lineno, "bad-json", f"invalid JSON: {exc}", raw)
        if not isinstance(rec, dict):
            return self.dead_letter(
                source, lineno, "bad-json", "JSON log line is not an object", raw
            )
        try:
            return _from_json(_dotted(rec), f"{source}:{lineno}", source)
        except MissingFieldError as exc:
            return self.dead_letter(source, lineno, "missing-field", str(exc), raw)
        except ValueError as exc:
            return self.dead_letter(source, lineno, "bad-field", str(exc), raw)


def _text(rec: dict[str, object], *keys: str) -> str | None:
    for key in keys:
        value = rec.get(key)
        if value is None or value in ("", "-"):
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected text")
    return None


def _int(rec: dict[str, object], *keys: str) -> int | None:
    text = _text(rec, *keys)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"field {keys[0]!r} is {text[:20]!r}, expected an integer") from None


_NESTING = 4
"""Levels of nested objects read in a JSON record (ECS nests three: ``http.response.body``)."""


def _dotted(rec: dict[str, object]) -> dict[str, object]:
    """``rec`` with its nested objects' fields also under dotted names (``{"url":
    {"original": x}}`` gives ``url.original``), as ECS writes them either way.

    >>> dotted = _dotted({"url": {"original": "/a"}, "http": {"response": {"status_code": 200}}})
    >>> dotted["url.original"], dotted["http.response.status_code"]
    ('/a', 200)
    """
    if not any(isinstance(v, dict) for v in rec.values()):
        return rec
    out = dict(rec)
    nested: list[tuple[str, dict[str, object], int]] = [
        (k, v, 1) for k, v in rec.items() if isinstance(v, dict)
    ]
    while nested:
        prefix, obj, depth = nested.pop(0)
        for key, value in obj.items():
            name = f"{prefix}.{key}"
            if isinstance(value, dict):
                if depth < _NESTING:
                    nested.append((name, value, depth + 1))
            else:
                out.setdefault(name, value)
    return out


def _from_json(rec: dict[str, object], default_id: str, source: str) -> Event:
    """An event from a JSON log record: nginx variable names or ECS field names (dotted)."""
    when = rec.get("time_iso8601", rec.get("@timestamp", rec.get("timestamp")))
    if when is not None:
        ts = parse_time(when)
    elif (local := _text(rec, "time_local")) is not None:
        ts = parse_clf_time(local)
    elif (msec := _text(rec, "msec")) is not None:
        ts = parse_time(msec)
    else:
        raise MissingFieldError(
            "missing time: expected @timestamp, time_iso8601, time_local or msec"
        )
    request = _text(rec, "request")
    if request is not None:
        method, uri, version = split_request(request)
    else:
        method = _text(rec, "request_method", "http.request.method") or "-"
        uri = _text(rec, "request_uri", "url.original") or _ecs_uri(rec)
        version = _text(rec, "server_protocol") or _ecs_version(rec)
        if not uri:
            raise MissingFieldError(
                "missing request: expected request, request_method + request_uri, or (ECS) "
                "http.request.method + url.original (or url.path)"
            )
    host = _text(rec, "remote_addr", "client_ip", "source.ip", "client.ip", "source.address")
    status = _int(rec, "status", "http.response.status_code")
    if status is not None and not 100 <= status <= 999:
        raise ValueError(f"status {status} out of range")
    return Event(
        id=_text(rec, "id", "request_id", "event.id", "http.request.id") or default_id,
        timestamp=ts,
        dataset=DATASET,
        observer=source,
        outcome=http_outcome(status),
        source_ip=parse_ip(host) if host is not None else None,
        user_id=_text(rec, "remote_user", "user.name"),
        payload=HttpRequest(
            method=method,
            uri=uri,
            version=version,
            status=status,
            bytes_out=_int(
                rec,
                "body_bytes_sent",
                "bytes_sent",
                "http.response.body.bytes",
                "http.response.bytes",
            ),
            referrer=_text(rec, "http_referer", "http.request.referrer"),
            user_agent=_text(rec, "http_user_agent", "user_agent.original"),
        ),
    )


def _ecs_uri(rec: dict[str, object]) -> str:
    """The request's URI from ECS ``url.path`` and ``url.query`` (empty without a path)."""
    path = _text(rec, "url.path")
    if path is None:
        return ""
    query = _text(rec, "url.query")
    return f"{path}?{query}" if query is not None else path


def _ecs_version(rec: dict[str, object]) -> str:
    """``HTTP/1.1`` from ECS ``http.version`` (``1.1``), or empty."""
    version = _text(rec, "http.version")
    return "" if version is None else f"HTTP/{version}"
