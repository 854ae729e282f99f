"""Field helpers shared by adapters: times, text decoding, addresses, ports.

Each raises ``ValueError`` with a message fit for a dead letter's reason.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone

from citywatch.model.timeutil import parse_iso

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CLF_CACHE: dict[str, float] = {}
_CLF_CACHE_MAX = 8192

IPV4_CANONICAL = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}",
    re.ASCII,  # \d would also match other scripts' digits
)

EPOCH_MIN = 0.0
EPOCH_MAX = 253402300799.0  # 9999-12-31T23:59:59Z


class MissingFieldError(ValueError):
    """A required field is absent: the dead letter's code is ``missing-field``."""


def decode_text(raw: bytes) -> str:
    """Bytes as text: UTF-8, with invalid bytes kept visibly as ``\\xHH`` (as nginx writes them)."""
    return raw.decode("utf-8", "backslashreplace")


_JSON_BAD_BYTES = {0xDC00 + b: f"\\\\x{b:02x}" for b in range(0x80, 0x100)}


def decode_json_text(raw: bytes) -> str:
    """A JSON record's bytes as text; invalid UTF-8 bytes are kept as ``\\xHH``, as by decode_text.

    Inside a JSON string such a byte reads back as the four characters ``\\xHH``,
    so a log writer that copies raw bytes into JSON strings (nginx ``escape=json``)
    still gives a record; outside a string it is still invalid JSON.

    >>> decode_json_text(b'{"ua": "a\\xffb"}')
    '{"ua": "a\\\\\\\\xffb"}'
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape").translate(_JSON_BAD_BYTES)


def parse_clf_time(text: str) -> float:
    """Epoch seconds from a Common Log Format time, ``10/Oct/2026:13:55:36 +0200``.

    Cached per minute and zone: a log repeats the same minute many times, so
    most lines cost a dict lookup and an addition.

    >>> parse_clf_time("01/Jan/1970:01:00:07 +0100")
    7.0
    """
    if len(text) == 26 and text[17] == ":":
        base = _CLF_CACHE.get(text[:17] + text[20:])
        if base is not None:
            sec = text[18:20]
            if sec.isdigit() and sec.isascii() and sec < "61":
                return base + int(sec)
    return _parse_clf_time(text)


def _parse_clf_time(text: str) -> float:
    try:
        if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":":
            raise ValueError
        if text[17] != ":" or text[20] != " " or text[21] not in "+-" or not text.isascii():
            raise ValueError
        hours, minutes = int(text[22:24]), int(text[24:26])
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(offset if text[21] == "+" else -offset)
        base = datetime(
            int(text[7:11]),
            _MONTHS[text[3:6]],
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            tzinfo=tz,
        ).timestamp()
        sec = int(text[18:20])
        if not 0 <= sec <= 60:
            raise ValueError
    except (ValueError, KeyError, OverflowError):
        raise ValueError(f"bad time {text[:40]!r}: expected dd/Mon/yyyy:HH:MM:SS +hhmm") from None
    if len(_CLF_CACHE) >= _CLF_CACHE_MAX:
        _CLF_CACHE.clear()
    _CLF_CACHE[text[:17] + text[20:]] = base
    return base + sec


def parse_time(value: object) -> float:
    """Epoch seconds from an ISO 8601 string, or from epoch seconds as a number or numeric string.

    >>> parse_time("1970-01-01T00:00:10Z"), parse_time(10), parse_time("10.5")
    (10.0, 10.0, 10.5)
    """
    if isinstance(value, bool):
        raise ValueError(f"bad time {value!r}: expected ISO 8601 or epoch seconds")
    if isinstance(value, int | float):
        try:
            ts = float(value)
        except OverflowError:  # an int beyond float range
            raise ValueError(f"time {value!r:.40} out of range") from None
    elif isinstance(value, str):
        try:
            ts = float(value)
        except ValueError:
            try:
                ts = parse_iso(value)
            except (ValueError, OverflowError):
                raise ValueError(
                    f"bad time {value[:40]!r}: expected ISO 8601 or epoch seconds"
                ) from None
    else:
        raise ValueError(f"bad time {value!r:.40}: expected ISO 8601 or epoch seconds")
    if not EPOCH_MIN <= ts <= EPOCH_MAX:  # also rejects NaN
        raise ValueError(f"time {value!r:.40} out of range")
    return ts


def parse_ip(value: object) -> str:
    """A normalised IPv4 or IPv6 address as text.

    >>> parse_ip("2001:DB8::1")
    '2001:db8::1'
    """
    if not isinstance(value, str):
        raise ValueError(f"bad address {value!r}: expected an IP address as text")
    known = _IPS.get(value)  # logs repeat their addresses: a lookup, not a regex
    if known is not None:
        return known
    # already canonical: the common case, 6x faster than ipaddress
    found = value if IPV4_CANONICAL.fullmatch(value) else _canonical_ip(value)
    if len(_IPS) >= _IPS_MAX:
        _IPS.clear()
    _IPS[value] = found
    return found


_IPS: dict[str, str] = {}
"""Address text → its canonical text, for addresses seen lately (valid ones only)."""
_IPS_MAX = 16384


def _canonical_ip(value: str) -> str:
    """The canonical text of an address that is not canonical IPv4 text (IPv6, say)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"bad address {value[:60]!r}: not an IP address") from None


def parse_port(value: object) -> int:
    """A port number 0–65535 from an int or numeric string."""
    if type(value) is str and value.isdigit() and value.isascii() and len(value) <= 5:
        port = int(value)  # the common case: a port as a log writes it
    elif isinstance(value, int | str) and not isinstance(value, bool):
        try:
            port = int(value)
        except ValueError:
            port = -1
    else:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"bad port {value!r:.40}: expected 0-65535")
    return port


def iso(ts: float) -> str:
    """ISO 8601 UTC text for epoch seconds, milliseconds kept.

    >>> iso(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def http_outcome(status: int | None) -> str | None:
    """ECS ``event.outcome`` of an HTTP response: 4xx/5xx failure, else success.

    >>> http_outcome(401), http_outcome(302), http_outcome(None)
    ('failure', 'success', None)
    """
    if status is None:
        return None
    return "failure" if status >= 400 else "success"


def parse_status(value: object) -> int:
    """An HTTP status code 100–999 from an int or numeric string."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) == 3:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
        return value
    raise ValueError(f"bad HTTP status {value!r:.40}: expected 100-999")


def parse_number(value: object, name: str, low: float, high: float) -> float:
    """A finite number within ``[low, high]`` from a number or numeric text.

    >>> parse_number("0.5", "pga_g", 0, 10)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"bad {name} {value!r:.40}: expected a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"bad {name} {value!r:.40}: expected a number") from None
    if not low <= number <= high:  # also rejects NaN
        raise ValueError(f"{name} {value!r:.40} out of range {low:g}..{high:g}")
    return number


def parse_lat_lon(record: dict[str, object]) -> tuple[float, float]:
    """WGS84 ``lat`` and ``lon`` of a record, both required.

    >>> parse_lat_lon({"lat": 45.8, "lon": "15.9"})
    (45.8, 15.9)
    """
    for name in ("lat", "lon"):
        if record.get(name) is None:
            raise MissingFieldError(f"missing field {name!r}")
    return (
        parse_number(record["lat"], "lat", -90.0, 90.0),
        parse_number(record["lon"], "lon", -180.0, 180.0),
    )
