"""``http-jsonl``: one HTTP request per line, as a JSON object (FORMATS.md)::

    {"id": "r-1", "method": "POST", "uri": "/login", "version": "HTTP/1.1",
     "headers": [["Host", "portal.example"], ["User-Agent", "curl/8.5.0"]],
     "body": "user=alice", "@timestamp": "2026-03-01T10:00:00Z", "source.ip": "203.0.113.9"}

``id`` (a string or an integer), ``method`` and ``uri`` are required.
``version`` defaults to ``""``, ``headers`` (``[[name, value], ...]`` or
``{name: value}``, names and values strings) to none, ``body`` to ``""``; a
non-text body (a JSON object or array) is kept as its JSON text. The client
address is ``"source.ip"`` or, in ECS nested form, ``{"source": {"ip": ...}}``.
The ``User-Agent`` and ``Referer`` headers fill ``user_agent`` and ``referrer``.
A mirror that knows the response may add it with its ECS names,
``"http.response.status_code"`` and ``"http.response.body.bytes"``: the status
then gives the event's outcome (4xx/5xx failure); without it both are None.

Time: ``@timestamp`` is ISO 8601 or epoch seconds. A record without one takes
the time of the previous event of the same input (requests captured in a burst
share their neighbour's time), and one without a timed predecessor takes the
wall-clock time when it is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import ClassVar

import msgspec

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import (
    MissingFieldError,
    http_outcome,
    parse_ip,
    parse_status,
    parse_time,
)
from citywatch.model import DeadLetter, Event, HttpRequest

DATASET = "portal.http"

_encode = msgspec.json.encode


class HttpJsonlAdapter(Adapter):
    """HTTP requests as JSON lines (the project's ``http-jsonl`` format)."""

    name: ClassVar[str] = "http-jsonl"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "HTTP requests, one JSON object per line (method, uri, headers...)"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        last_ts: float | None = None
        for item in self.json_objects(source, lines):
            if isinstance(item, DeadLetter):
                yield item
                continue
            lineno, raw, rec = item
            try:
                event = _event(rec, source, last_ts)
            except ValueError as exc:
                yield self.field_error(source, lineno, raw, exc)
                continue
            last_ts = event.timestamp
            yield event


def _event(rec: dict[str, object], source: str, last_ts: float | None) -> Event:
    """The event for one decoded record; a ValueError says what is wrong with it."""
    rid = rec.get("id")
    if rid is None:
        raise MissingFieldError("missing field 'id': every request needs its own id")
    if isinstance(rid, str):
        if not rid:
            raise ValueError("field 'id' is empty")
    elif isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)
    else:
        raise ValueError(f"field 'id' is {type(rid).__name__}, expected a string or an integer")
    method = _required_text(rec, "method")
    uri = _required_text(rec, "uri")
    version = _optional_text(rec, "version")

    when = rec.get("@timestamp")
    if when is not None:
        ts = parse_time(when)
    elif last_ts is not None:
        ts = last_ts
    else:
        ts = time.time()

    ip = rec.get("source.ip")
    if ip is None:
        nested = rec.get("source")
        if isinstance(nested, dict):
            ip = nested.get("ip")
    headers = _headers(rec.get("headers"))
    user_agent = referrer = None
    for key, value in headers:
        lkey = key.lower()
        if lkey == "user-agent":
            if user_agent is None:
                user_agent = value
        elif lkey == "referer" and referrer is None:
            referrer = value

    raw_status = rec.get("http.response.status_code")
    status = None if raw_status is None else parse_status(raw_status)
    raw_bytes = rec.get("http.response.body.bytes")
    if raw_bytes is not None and (type(raw_bytes) is not int or raw_bytes < 0):
        raise ValueError(f"bad http.response.body.bytes {raw_bytes!r:.40}: expected a count")
    body = rec.get("body")
    if body is None:
        body = ""
    elif not isinstance(body, str):
        body = _encode(body).decode()
    return Event(
        id=rid,
        timestamp=ts,
        dataset=DATASET,
        observer=source,
        outcome=http_outcome(status),
        source_ip=None if ip is None else parse_ip(ip),
        payload=HttpRequest(
            method=method,
            uri=uri,
            version=version,
            headers=headers,
            body=body,
            status=status,
            bytes_out=raw_bytes,
            referrer=referrer,
            user_agent=user_agent,
        ),
    )


def _required_text(rec: dict[str, object], key: str) -> str:
    value = rec.get(key)
    if value is None:
        raise MissingFieldError(f"missing field {key!r}")
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")
    if not value:
        raise ValueError(f"field {key!r} is empty")
    return value


def _optional_text(rec: dict[str, object], key: str) -> str:
    value = rec.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    """Headers as ``((name, value), ...)`` from ``[[name, value], ...]`` or ``{name: value}``."""
    if value is None:
        return ()
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(
            f"field 'headers' is {type(value).__name__}, expected [[name, value], ...] or an object"
        )
    out = []
    for item in items:  # decoded JSON: exact types
        if type(item) in _PAIR_TYPES and len(item) == 2:
            name, text = item
            if type(name) is str and type(text) is str:
                out.append((name, text))
                continue
            raise ValueError(
                f"header {len(out)} ({name!r:.40}) has a name or value that is not a string"
            )
        raise ValueError(f"header {len(out)} is {item!r:.40}, expected a [name, value] pair")
    return tuple(out)


_PAIR_TYPES = (list, tuple)
