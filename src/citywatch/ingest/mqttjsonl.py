"""``mqtt-jsonl``: IoT telemetry as it arrives on MQTT, one message per line with its topic.

Each line is one JSON object (FORMATS.md)::

    {"topic": "city/camera/cam-0042/telemetry", "time": "2026-03-14T08:00:00Z",
     "device_id": "cam-0042", "type": "login", "user": "root", "result": "failure",
     "method": "telnet", "source.ip": "198.51.100.7"}

Every message needs ``topic`` (text), ``time`` (ISO 8601 or epoch seconds),
``device_id`` (text or an integer, at most 128 characters) and ``type``; the
type says which fields must be there too. A topic laid out as
``ROOT/CLASS/ID/telemetry`` names its device (:func:`topic_names`): broker ACLs
are per topic, so that is the device that sent it. There ``device_id`` may be
left out (the topic's is used), and a ``device_id`` naming another device makes
a dead letter: one compromised device must not speak for others (fake their
heartbeats, or frame them with firmware and config changes).

=========  ==============================  =========================================
type       required                        optional, typed
=========  ==============================  =========================================
heartbeat  --                              ``uptime`` s >= 0, ``rssi`` dBm -200..0
metrics    --                              ``cpu``, ``mem``, ``disk`` % 0..100,
                                           ``temperature`` °C -100..200, ``tx_bytes``,
                                           ``rx_bytes``, ``connections`` counts
firmware   ``version`` text                --
config     ``changed``: [key, ...]         --
login      ``result`` success|failure,     ``user`` (may be empty: blank credentials),
           ``method`` (:data:`METHODS`)    ``source.ip`` (where the login came from)
alarm      ``code`` (text or integer)      ``text``
=========  ==============================  =========================================

Any typed field is read (and checked) whatever the type: a heartbeat may
carry ``cpu``. Numbers may also be given as numeric text. Optional ``id`` is
the message's own id (else ``SOURCE:LINE``); optional ``mac`` is the device's
MAC address, normalised to ``aa:bb:cc:dd:ee:ff`` into
:attr:`~citywatch.model.Telemetry.mac`, for the enricher to pseudonymise.
Other fields are kept in ``extra``: the first :data:`MAX_EXTRA` of them, names
up to 64 characters, text cut at 256 characters, nested values as JSON text,
nulls and integers beyond 64 bits as text. A missing required field, a value
of the wrong type or out of range, or an unknown ``type`` or login ``method``
makes a dead letter with the reason.

>>> line = b'{"topic":"city/m/m-1/telemetry","time":0,"device_id":"m-1","type":"metrics","cpu":7}'
>>> (event,) = MqttJsonlAdapter().parse("f", [line])
>>> event.device_id, event.payload.kind, event.payload.cpu
('m-1', 'metrics', 7.0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

import msgspec

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import (
    EPOCH_MAX,
    EPOCH_MIN,
    MissingFieldError,
    parse_ip,
    parse_time,
)
from citywatch.model import DeadLetter, Event, Telemetry
from citywatch.model.payloads import TELEMETRY_TYPES, ExtraValue
from citywatch.model.timeutil import parse_iso

DATASET = "iot.telemetry"

METHODS = ("telnet", "ssh", "web", "console", "api", "ftp", "mqtt")
"""Login methods a device may report."""

RESULTS = ("success", "failure")
MAX_EXTRA = 16
MAX_EXTRA_TEXT = 256
MAX_CHANGED = 256
_INT_MAX = (1 << 63) - 1
_TYPES = frozenset(TELEMETRY_TYPES)
_METHODS = frozenset(METHODS)
_RESULTS = frozenset(RESULTS)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
_MAC = re.compile(
    r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}"  # aa:bb:cc:dd:ee:ff, aa-bb-...
    r"|[0-9a-f]{12}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}",  # aabbccddeeff, aabb.ccdd.eeff
    re.ASCII,
)
_COMMON = frozenset(("topic", "time", "device_id", "type", "id", "mac", "source.ip"))

_encode = msgspec.json.encode


def _real(lo: float, hi: float) -> Callable[[str, object], float]:
    def check(key: str, value: object) -> float:
        number = _number(key, value)
        if not lo <= number <= hi:  # also rejects NaN
            raise ValueError(f"field {key!r} is {value!r:.40}, expected {lo:g} to {hi:g}")
        return number

    return check


def _count(key: str, value: object) -> int:
    if type(value) is int:
        if 0 <= value <= _INT_MAX:
            return value
    elif type(value) is str and value.isdigit() and value.isascii() and len(value) <= 19:
        if int(value) <= _INT_MAX:
            return int(value)
    elif type(value) is float and value.is_integer() and 0 <= value <= 2**53:
        return int(value)  # 1e6 from a device that writes every number as a float
    raise ValueError(f"field {key!r} is {value!r:.40}, expected a count (an integer >= 0)")


def _number(key: str, value: object) -> float:
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        return float(value) if -1e300 < value < 1e300 else float("nan")  # huge: out of range
    elif isinstance(value, str) and len(value) <= 40 and _NUMBER.fullmatch(value):
        return float(value)
    raise ValueError(f"field {key!r} is {value!r:.40}, expected a number")


def _text(limit: int) -> Callable[[str, object], str]:
    def check(key: str, value: object) -> str:
        if type(value) is not str:
            raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")
        if len(value) > limit:
            raise ValueError(f"field {key!r} is {len(value)} characters long, at most {limit}")
        return value

    return check


def _nonempty(limit: int, *, numbers: bool = False) -> Callable[[str, object], str]:
    text = _text(limit)

    def check(key: str, value: object) -> str:
        if numbers and type(value) is int:  # alarm codes are often numbers
            value = str(value)
        result = text(key, value)
        if not result:
            raise ValueError(f"field {key!r} is empty")
        return result

    return check


def _choice(choices: frozenset[str]) -> Callable[[str, object], str]:
    def check(key: str, value: object) -> str:
        if type(value) is str and value in choices:
            return value
        expected = ", ".join(sorted(choices))
        raise ValueError(f"field {key!r} is {value!r:.40}, expected one of {expected}")

    return check


def _changed(key: str, value: object) -> tuple[str, ...]:
    if type(value) is not list:
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a list of keys")
    if len(value) > MAX_CHANGED:
        raise ValueError(f"field {key!r} lists {len(value)} keys, at most {MAX_CHANGED}")
    check = _KEY_TEXT
    return tuple(check(key, item) for item in value)


_KEY_TEXT = _nonempty(128)

_FIELDS: dict[str, Callable[[str, object], object]] = {
    "uptime": _real(0, 1e10),
    "rssi": _real(-200, 0),
    "cpu": _real(0, 100),
    "mem": _real(0, 100),
    "disk": _real(0, 100),
    "temperature": _real(-100, 200),
    "tx_bytes": _count,
    "rx_bytes": _count,
    "connections": _count,
    "version": _nonempty(128),
    "changed": _changed,
    "user": _text(256),
    "result": _choice(_RESULTS),
    "method": _choice(_METHODS),
    "code": _nonempty(64, numbers=True),
    "text": _text(4096),
}
"""Each typed field and its check: the value as the payload keeps it, or a ValueError."""

_REQUIRED = {
    "heartbeat": (),
    "metrics": (),
    "firmware": ("version",),
    "config": ("changed",),
    "login": ("result", "method"),
    "alarm": ("code",),
}


class MqttJsonlAdapter(Adapter):
    """IoT telemetry messages as JSON lines with their MQTT topic (``mqtt-jsonl``)."""

    name: ClassVar[str] = "mqtt-jsonl"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "IoT telemetry from MQTT, one JSON message per line with its topic"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        return self.json_events(source, lines, _event)


def _event(rec: dict[str, object], source: str, lineno: int) -> Event:
    """The event for one decoded message; a ValueError says what is wrong with it."""
    topic = _required_text(rec, "topic", 1024)
    when = rec.get("time")
    if when is None:
        raise MissingFieldError("missing field 'time'")
    ts = _time(when)
    device = rec.get("device_id")
    sender = topic_names(topic)[1]
    if device is None and sender:
        if len(sender) > 128:
            raise ValueError(f"the topic's device is {len(sender)} characters long, at most 128")
        device_id = sender
    else:
        device_id = str(device) if type(device) is int else _required_text(rec, "device_id", 128)
        if sender and device_id != sender:
            raise ValueError(
                f"field 'device_id' is {device_id!r:.40} but the topic is device {sender!r:.40}"
                " (a device may only send its own telemetry)"
            )
    kind = rec.get("type")
    if kind is None:
        raise MissingFieldError("missing field 'type'")
    if type(kind) is not str or kind not in _TYPES:
        expected = ", ".join(TELEMETRY_TYPES)
        raise ValueError(f"field 'type' is {kind!r:.40}, expected one of {expected}")
    for key in _REQUIRED[kind]:
        if rec.get(key) is None:
            raise MissingFieldError(f"missing field {key!r}: a {kind} message needs it")

    typed: dict[str, object] = {}
    extra: dict[str, ExtraValue] = {}
    fields = _FIELDS
    for key, value in rec.items():
        check = fields.get(key)
        if check is not None:
            if value is not None:
                typed[key] = check(key, value)
        elif value is not None and key not in _COMMON and len(extra) < MAX_EXTRA and len(key) <= 64:
            extra[key] = _extra(value)

    rid = rec.get("id")
    if rid is None:
        event_id = f"{source}:{lineno}"
    elif type(rid) is int:
        event_id = str(rid)
    else:
        event_id = _required_text(rec, "id", 256)
    mac = rec.get("mac")
    ip = rec.get("source.ip")
    result = typed.get("result")
    return Event(
        id=event_id,
        timestamp=ts,
        dataset=DATASET,
        observer=source,
        outcome=None if result is None else str(result),
        source_ip=None if ip is None else parse_ip(ip),
        device_id=device_id,
        payload=Telemetry(
            topic=topic,
            kind=kind,
            mac=None if mac is None else parse_mac(mac),
            extra=extra,
            **typed,  # type: ignore[arg-type]  # each value checked by its field's check
        ),
    )


def topic_names(topic: str) -> tuple[str, str]:
    """The class and the device a ``ROOT/CLASS/ID/telemetry`` topic names (the simulator's
    and README's layout; the root may have several levels), else empty: other layouts say
    nothing of the sender.

    >>> topic_names("city/camera/cam-0042/telemetry"), topic_names("a/b/meter/m-1/telemetry")
    (('camera', 'cam-0042'), ('meter', 'm-1'))
    >>> topic_names("city/alarms"), topic_names("city/camera/cam-0042/status")
    (('', ''), ('', ''))
    """
    parts = topic.split("/")
    if len(parts) >= 4 and parts[-1] == "telemetry" and all(parts[:-1]):
        return parts[-3], parts[-2]
    return "", ""


def _time(value: object) -> float:
    """As :func:`parse_time`, ISO 8601 dates tried first (parse_time tries a number first)."""
    if type(value) is str and value[4:5] == "-":
        try:
            ts = parse_iso(value)
        except (ValueError, OverflowError):
            pass
        else:
            if EPOCH_MIN <= ts <= EPOCH_MAX:
                return ts
    return parse_time(value)  # epoch seconds, and the errors


def _required_text(rec: dict[str, object], key: str, limit: int) -> str:
    value = rec.get(key)
    if value is None:
        raise MissingFieldError(f"missing field {key!r}")
    if type(value) is not str:
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")
    if not value:
        raise ValueError(f"field {key!r} is empty")
    if len(value) > limit:
        raise ValueError(f"field {key!r} is {len(value)} characters long, at most {limit}")
    return value


def _extra(value: object) -> ExtraValue:
    """An unknown field's value as kept: short text, a number, a boolean."""
    if isinstance(value, str):
        return value[:MAX_EXTRA_TEXT]
    if isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if -_INT_MAX - 1 <= value <= _INT_MAX else str(value)
    return _encode(value).decode()[:MAX_EXTRA_TEXT]


def parse_mac(value: object) -> str:
    """A MAC address as ``aa:bb:cc:dd:ee:ff`` from the usual spellings.

    >>> parse_mac("AA-BB-CC-00-11-22"), parse_mac("aabb.cc00.1122")
    ('aa:bb:cc:00:11:22', 'aa:bb:cc:00:11:22')
    """
    if type(value) is str and len(value) <= 17:
        lower = value.lower()
        if _MAC.fullmatch(lower):
            digits = lower.replace(":", "").replace("-", "").replace(".", "")
            return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    raise ValueError(f"field 'mac' is {value!r:.40}, expected a MAC like aa:bb:cc:dd:ee:ff")
