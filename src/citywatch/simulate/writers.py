r"""Writing simulated requests in real formats: ``http-jsonl``, combined access log, truth.

The access log is what nginx writes with its default ``combined`` format:
``"`` and ``\`` inside quoted fields, control bytes and non-ASCII bytes are
escaped as ``\xHH``.

>>> escape('say "hi"')
'say \\x22hi\\x22'
>>> Clock(60).clf(0)
'01/Jan/1970:01:00:00 +0100'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from citywatch.simulate.agents import headers
from citywatch.simulate.records import Hit, Label, body_text

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SAFE: Final = frozenset(range(0x20, 0x7F)) - {0x22, 0x5C}


_HOURS_MINUTES: Final = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
_SECONDS: Final = tuple(f"{s:02d}" for s in range(60))


class Clock:
    """Formats epoch milliseconds as local time at a fixed UTC offset, caching per second."""

    __slots__ = (
        "_day",
        "_day_clf",
        "_day_iso",
        "_iso",
        "clf_text",
        "clf_tz",
        "iso_tz",
        "offset_s",
        "sec",
    )

    def __init__(self, offset_min: int) -> None:
        sign = "+" if offset_min >= 0 else "-"
        hours, minutes = divmod(abs(offset_min), 60)
        self.offset_s = offset_min * 60
        self.iso_tz = f"{sign}{hours:02d}:{minutes:02d}"
        self.clf_tz = f"{sign}{hours:02d}{minutes:02d}"
        self.sec = self._day = -(2**62)  # the second last formatted, and its CLF text
        self._iso = self.clf_text = self._day_iso = self._day_clf = ""

    def second(self, sec: int) -> None:
        """Make ``sec`` (epoch seconds) the current second."""
        day, rem = divmod(sec + self.offset_s, 86_400)
        if day != self._day:
            date = _EPOCH + timedelta(days=day)
            self._day_iso = f"{date.year:04d}-{date.month:02d}-{date.day:02d}T"
            self._day_clf = f"{date.day:02d}/{_MONTHS[date.month - 1]}/{date.year:04d}:"
            self._day = day
        hms = _HOURS_MINUTES[rem // 60] + _SECONDS[rem % 60]
        self._iso = self._day_iso + hms
        self.clf_text = f"{self._day_clf}{hms} {self.clf_tz}"
        self.sec = sec

    def iso(self, ms: int) -> str:
        """ISO 8601 with milliseconds and offset: ``2026-03-14T08:00:00.123+01:00``."""
        sec, frac = divmod(ms, 1000)
        if sec != self.sec:
            self.second(sec)
        return f"{self._iso}.{frac:03d}{self.iso_tz}"

    def clf(self, ms: int) -> str:
        """Common Log Format time: ``14/Mar/2026:08:00:01 +0100``."""
        sec = ms // 1000
        if sec != self.sec:
            self.second(sec)
        return self.clf_text


_UNSAFE: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def escape(text: str) -> str:
    r"""``text`` as nginx logs it inside a quoted field (``\xHH`` for unsafe bytes)."""
    if _UNSAFE.search(text) is None:
        return text
    return "".join(chr(b) if b in _SAFE else f"\\x{b:02X}" for b in text.encode())


def version(hit: Hit) -> str:
    return "HTTP/2.0" if hit.agent.h2 else "HTTP/1.1"


class AccessLog:
    """Formats hits as combined-log lines; caches the escaped Referer and User-Agent texts."""

    __slots__ = ("_cache", "clock")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cache: dict[str, str] = {"": "-"}

    def _quoted(self, text: str) -> str:
        cache = self._cache
        value = cache.get(text)
        if value is None:
            if len(cache) > 100_000:
                cache.clear()
                cache[""] = "-"
            value = cache[text] = escape(text)
        return value

    def line(self, hit: Hit) -> str:
        """One line of the combined log format, with its newline."""
        agent, clock, cache = hit.agent, self.clock, self._cache
        sec = hit.ms // 1000
        if sec != clock.sec:  # Clock.clf, inlined: this is the benchmark's hot path
            clock.second(sec)
        uri = hit.uri if _UNSAFE.search(hit.uri) is None else escape(hit.uri)
        referer = cache.get(hit.referer) or self._quoted(hit.referer)
        ua = cache.get(agent.ua) or self._quoted(agent.ua)
        version = "HTTP/2.0" if agent.h2 else "HTTP/1.1"
        return (
            f'{hit.ip} - - [{clock.clf_text}] "{hit.method} {uri} {version}" '
            f'{hit.status} {hit.size} "{referer}" "{ua}"\n'
        )


class HttpRecord(msgspec.Struct, frozen=True, gc=False):
    """One line of ``http-jsonl`` (FORMATS.md), with the response where the portal knows it."""

    id: str
    timestamp: str = msgspec.field(name="@timestamp")
    source_ip: str = msgspec.field(name="source.ip")
    method: str = ""
    uri: str = ""
    version: str = ""
    headers: list[tuple[str, str]] = []
    body: str = ""
    status: int | None = msgspec.field(default=None, name="http.response.status_code")
    bytes_out: int | None = msgspec.field(default=None, name="http.response.body.bytes")


def http_record(hit: Hit, rid: str, clock: Clock) -> HttpRecord:
    body = body_text(hit.body)
    return HttpRecord(
        id=rid,
        timestamp=clock.iso(hit.ms),
        source_ip=hit.ip,
        method=hit.method,
        uri=hit.uri,
        version=version(hit),
        headers=headers(hit, body),
        body=body,
        status=hit.status,
        bytes_out=hit.size,
    )


class TruthRecord(msgspec.Struct, frozen=True, gc=False):
    """Ground truth for one record, kept beside the records: ``truth.jsonl``."""

    id: str
    file: str
    line: int
    label: str
    scenario: str | None
    technique: str | None
    actor: str | None


class TruthLines:
    """``truth.jsonl`` lines for records of one file, as msgspec would encode
    :class:`TruthRecord`, but without building one per line."""

    __slots__ = ("_file", "_labels")

    def __init__(self, file: str) -> None:
        self._file = msgspec.json.encode(file).decode()
        self._labels: dict[Label, str] = {}

    def line(self, label: Label, n: int) -> str:
        """The truth line for request ``n`` (line ``n`` of the file), with its newline."""
        fields = self._labels.get(label)
        if fields is None:
            fields = self._labels[label] = msgspec.json.encode(label).decode()[1:-1]
        return f'{{"id":"req-{n:06d}","file":{self._file},"line":{n},{fields}}}\n'


def request_id(n: int, prefix: str = "req") -> str:
    return f"{prefix}-{n:06d}"
