"""The device inventory: the city's IoT fleet as typed records, from CSV or JSON.

CSV with a header (FORMATS.md), columns in any order, unknown columns ignored::

    device_id,ip,mac,class,vendor,model,firmware,lat,lon,owner,maintenance_window
    cam-0042,10.20.0.42,00:1a:2b:3c:4d:5e,camera,Hikvision,DS-2CD2043,5.7.3,59.437,24.745,traffic,02:00-04:00

or JSON: a list of objects with the same keys (or ``{"devices": [...]}``).
``device_id`` and ``class`` are required (class is lower-cased); ``ip`` and
``mac`` are normalised; ``lat`` and ``lon`` go together; a device id or IP
listed twice is an error on the later row.

``maintenance_window`` is empty (none), a daily ``HH:MM-HH:MM`` in the
inventory's time zone (``22:00-02:00`` runs across midnight; ``24:00`` may
end one), or cron-like ``MIN HOUR DOM MON DOW DURATION``: the five cron fields
(``*``, lists, ranges, steps, ``jan``–``dec``, ``sun``–``sat``) give the start
and DURATION (``90m``, ``2h``, ``1h30m``, ``1d``; at most 7 days) the length,
e.g. ``0 2 * * sun 3h``. Several windows are separated by ``;``.

A bad row never stops the load: it is left out and its error, located by
row (the CSV line number, or the JSON item number from 1), is kept in
:attr:`Inventory.errors`; ``strict=True`` raises :class:`ConfigError` listing
them all. A file that cannot be read at all (missing, not CSV/JSON, no
``device_id`` or ``class`` column) always raises ConfigError.

>>> inv = Inventory([Device(id="m-1", device_class="meter", maintenance_window="23:00-01:00")])
>>> inv.in_maintenance("m-1", 86400 - 60), inv.in_maintenance("m-1", 3600)
(True, False)
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from citywatch.errors import ConfigError
from citywatch.ingest.fields import parse_ip
from citywatch.ingest.mqttjsonl import parse_mac

COLUMNS = (
    "device_id", "ip", "mac", "class", "vendor", "model", "firmware", "lat", "lon", "owner",
    "maintenance_window",
)  # fmt: skip
"""The inventory's columns (FORMATS.md); ``device_id`` and ``class`` are required."""

_TEXT_MAX = 256
_ERRORS_SHOWN = 20


class Device(msgspec.Struct, frozen=True, kw_only=True):
    """One device of the fleet, as the inventory lists it.

    ``mac`` is a personal identifier kept raw here (the inventory is
    configuration); the enricher pseudonymises what it copies onto events.
    ``maintenance_window`` is the window as written (see the module).
    """

    id: str = msgspec.field(name="device_id")
    device_class: str = msgspec.field(name="class")
    ip: str | None = None
    mac: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    lat: float | None = None
    lon: float | None = None
    owner: str | None = None
    maintenance_window: str | None = None


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    """Why one row of the inventory was left out; ``row`` is the CSV line or JSON item number."""

    row: int
    reason: str
    device_id: str | None = None

    def __str__(self) -> str:
        who = f" ({self.device_id})" if self.device_id else ""
        return f"row {self.row}{who}: {self.reason}"


class Inventory:
    """Devices by id and by IP, with their maintenance windows in time zone ``tz``.

    Raises :class:`ConfigError` for an unknown time zone or a device whose
    window cannot be read (devices built in code; loaded rows are checked first).
    """

    def __init__(
        self,
        devices: Iterable[Device] = (),
        *,
        tz: str = "UTC",
        errors: Iterable[RowError] = (),
        source: str = "",
    ) -> None:
        self.tz = _zone(tz)
        self.source = source
        self.errors = list(errors)
        self._by_id: dict[str, Device] = {}
        self._by_ip: dict[str, Device] = {}
        self._windows: dict[str, tuple[Window, ...]] = {}
        for device in devices:
            self._by_id[device.id] = device
            if device.ip is not None:
                self._by_ip.setdefault(device.ip, device)
            if device.maintenance_window:
                try:
                    self._windows[device.id] = parse_windows(device.maintenance_window)
                except ValueError as exc:
                    raise ConfigError(str(exc), where=f"device {device.id}") from None

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._by_id.values())

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._by_id

    def get(self, device_id: str) -> Device | None:
        """The device with this id, or None (an unknown device is itself a finding)."""
        return self._by_id.get(device_id)

    def by_ip(self, ip: str) -> Device | None:
        """The device with this address (any spelling of it), or None."""
        device = self._by_ip.get(ip)
        if device is not None:
            return device
        try:
            return self._by_ip.get(parse_ip(ip))
        except ValueError:
            return None

    def in_maintenance(self, device_id: str, ts: float) -> bool:
        """Whether epoch time ``ts`` falls in one of the device's maintenance windows.

        False for an unknown device or one without a window.
        """
        windows = self._windows.get(device_id)
        if not windows or not math.isfinite(ts):
            return False
        return any(window.contains(ts, self.tz) for window in windows)


def load_inventory(path: Path, *, tz: str = "UTC", strict: bool = False) -> Inventory:
    """The inventory in the CSV or JSON file ``path`` (``.json``, or content starting ``[``/``{``).

    Bad rows are left out and listed in ``errors``; with ``strict`` they raise
    :class:`ConfigError` instead, all of them in one message.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the inventory: {exc.strerror}", where=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where=str(path)) from None
    is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{")
    rows = _json_rows(text, str(path)) if is_json else _csv_rows(text, str(path))
    devices, errors = parse_rows(rows)
    if strict and errors:
        shown = "; ".join(str(e) for e in errors[:_ERRORS_SHOWN])
        more = f" (and {len(errors) - _ERRORS_SHOWN} more)" if len(errors) > _ERRORS_SHOWN else ""
        raise ConfigError(f"{len(errors)} bad rows: {shown}{more}", where=str(path))
    return Inventory(devices, tz=tz, errors=errors, source=str(path))


Row = tuple[int, dict[str, object] | str]
"""A row number and the row's values by column, or why it could not be read at all."""


def parse_rows(rows: Iterable[Row]) -> tuple[list[Device], list[RowError]]:
    """Devices from ``(row number, {column: value})`` pairs, and the errors of the bad rows."""
    devices: list[Device] = []
    errors: list[RowError] = []
    seen_ids: dict[str, int] = {}
    seen_ips: dict[str, str] = {}
    for row, rec in rows:
        if isinstance(rec, str):
            errors.append(RowError(row=row, reason=rec))
            continue
        raw_id = rec.get("device_id")
        name = str(raw_id)[:_TEXT_MAX] if isinstance(raw_id, str | int) and raw_id != "" else None
        try:
            device = _device(rec)
            if device.id in seen_ids:
                raise ValueError(f"device_id listed twice (first on row {seen_ids[device.id]})")
            if device.ip is not None and device.ip in seen_ips:
                raise ValueError(f"ip {device.ip} is already device {seen_ips[device.ip]}'s")
        except ValueError as exc:
            errors.append(RowError(row=row, reason=str(exc), device_id=name))
            continue
        seen_ids[device.id] = row
        if device.ip is not None:
            seen_ips[device.ip] = device.id
        devices.append(device)
    return devices, errors


def _device(rec: dict[str, object]) -> Device:
    raw_id = rec.get("device_id")
    device_id = str(raw_id) if type(raw_id) is int else _text(rec, "device_id")
    if device_id is None:
        raise ValueError("missing device_id")
    device_class = _text(rec, "class")
    if device_class is None:
        raise ValueError("missing class")
    ip = _text(rec, "ip")
    mac = _text(rec, "mac")
    lat, lon = _coordinate(rec, "lat", 90.0), _coordinate(rec, "lon", 180.0)
    if (lat is None) != (lon is None):
        raise ValueError("lat and lon go together: give both or neither")
    window = _text(rec, "maintenance_window")
    if window is not None:
        parse_windows(window)  # raises ValueError naming what is wrong
    return Device(
        id=device_id,
        device_class=device_class.lower(),
        ip=None if ip is None else _field("ip", parse_ip, ip),
        mac=None if mac is None else _field("mac", parse_mac, mac),
        vendor=_text(rec, "vendor"),
        model=_text(rec, "model"),
        firmware=_text(rec, "firmware"),
        lat=lat,
        lon=lon,
        owner=_text(rec, "owner"),
        maintenance_window=window,
    )


def _text(rec: dict[str, object], key: str) -> str | None:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is {type(value).__name__}, expected text")
    value = value.strip()
    if len(value) > _TEXT_MAX:
        raise ValueError(f"{key} is {len(value)} characters long, at most {_TEXT_MAX}")
    return value or None


def _field(key: str, parse: Callable[[object], str], value: str) -> str:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _coordinate(rec: dict[str, object], key: str, limit: float) -> float | None:
    value = rec.get(key)
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
    except ValueError:
        raise ValueError(f"{key} is {value!r:.40}, expected decimal degrees") from None
    if not -limit <= number <= limit:  # also rejects NaN
        raise ValueError(f"{key} is {value!r:.40}, out of range -{limit:g} to {limit:g}")
    return number


def _csv_rows(text: str, where: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ConfigError("empty inventory: expected a header line", where=where)
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("device_id", "class") if c not in names]
    if missing:
        raise ConfigError(
            f"no {' or '.join(missing)} column in the header (columns: {', '.join(COLUMNS)})",
            where=where,
        )
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue  # a blank row
        if len(cells) > len(names):
            yield (
                reader.line_num,
                (f"{len(cells)} cells for {len(names)} columns: a value with an unquoted comma?"),
            )
        else:
            yield reader.line_num, dict(zip(names, cells, strict=False))


def _json_rows(text: str, where: str) -> Iterator[Row]:
    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc}", where=where) from None
    if isinstance(doc, dict) and isinstance(doc.get("devices"), list):
        doc = doc["devices"]
    if not isinstance(doc, list):
        raise ConfigError('expected a JSON list of devices (or {"devices": [...]})', where=where)
    return (
        (
            n,
            item
            if isinstance(item, dict)
            else f"item is {type(item).__name__}, expected an object",
        )
        for n, item in enumerate(doc, 1)
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}", where="inventory tz") from None


# Maintenance windows ------------------------------------------------------------------------

_HHMM = re.compile(r"\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*", re.ASCII)
_DURATION = re.compile(r"(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m)?", re.ASCII)
_MAX_DURATION_S = 7 * 86400
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_WEEKDAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_WINDOW_HELP = "expected HH:MM-HH:MM or 'MIN HOUR DOM MON DOW DURATION' (e.g. '0 2 * * sun 3h')"


class DailyWindow:
    """Daily from ``start`` to ``end``, seconds after local midnight (across it if end < start)."""

    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end

    def contains(self, ts: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(ts, tz)
        second = local.hour * 3600 + local.minute * 60 + local.second
        if self.start < self.end:
            return self.start <= second < self.end
        return second >= self.start or second < self.end


class CronWindow:
    """Windows of ``duration`` seconds starting at the local times a cron expression gives."""

    __slots__ = (
        "days_back",
        "doms",
        "dows",
        "duration",
        "either_day",
        "hours",
        "minutes",
        "months",
    )

    def __init__(self, fields: list[str], duration: int) -> None:
        minute, hour, dom, month, dow = fields
        self.minutes = sorted(_cron_field(minute, 0, 59, "minute"))
        self.hours = sorted(_cron_field(hour, 0, 23, "hour"))
        self.doms = _cron_field(dom, 1, 31, "day of month")
        self.months = _cron_field(month, 1, 12, "month", _MONTHS)
        self.dows = frozenset(d % 7 for d in _cron_field(dow, 0, 7, "day of week", _WEEKDAYS))
        # cron: when both day fields are restricted, a day matching either one counts
        self.either_day = not dom.startswith("*") and not dow.startswith("*")
        self.duration = duration
        self.days_back = math.ceil(duration / 86400)

    def contains(self, ts: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(ts, tz)
        today = local.date()
        limit = local.hour * 60 + local.minute
        for back in range(self.days_back + 1):
            day = today - timedelta(days=back)
            if not self._day_matches(day):
                continue
            minute = self._latest_start(limit if back == 0 else 24 * 60 - 1)
            if minute is None:
                continue
            start = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
            begin = start.timestamp()  # the latest start: it alone can still be open
            return begin <= ts < begin + self.duration
        return False

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.doms
        dow = day.isoweekday() % 7 in self.dows
        return (dom or dow) if self.either_day else (dom and dow)

    def _latest_start(self, limit: int) -> int | None:
        """The latest start minute of a day at or before minute ``limit``, if any."""
        for hour in reversed(self.hours):
            for minute in reversed(self.minutes):
                if hour * 60 + minute <= limit:
                    return hour * 60 + minute
        return None


Window = DailyWindow | CronWindow


def parse_windows(text: str) -> tuple[Window, ...]:
    """The windows of a ``maintenance_window`` value; ValueError says what is wrong.

    >>> [type(w).__name__ for w in parse_windows("22:00-02:00; 0 3 * * sat,sun 90m")]
    ['DailyWindow', 'CronWindow']
    """
    windows: list[Window] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        try:
            windows.append(_window(part))
        except ValueError as exc:
            raise ValueError(f"maintenance_window {part.strip()!r:.60}: {exc}") from None
    if not windows:
        raise ValueError(f"maintenance_window is empty: {_WINDOW_HELP}")
    return tuple(windows)


def _window(text: str) -> Window:
    match = _HHMM.fullmatch(text)
    if match is not None:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError("hours 00-23 (24:00 only as an end), minutes 00-59")
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if start == end % 86400:
            raise ValueError("start and end are the same time")
        return DailyWindow(start, end)
    fields = text.split()
    if len(fields) != 6:
        raise ValueError(_WINDOW_HELP)
    return CronWindow(fields[:5], _duration(fields[5]))


def _duration(text: str) -> int:
    match = _DURATION.fullmatch(text.lower())
    if match is None or not text or not any(match.groups()):
        raise ValueError(f"bad duration {text!r:.20}: expected e.g. 90m, 2h, 1h30m, 1d")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    seconds = days * 86400 + hours * 3600 + minutes * 60
    if not 60 <= seconds <= _MAX_DURATION_S:
        raise ValueError(f"duration {text!r:.20} out of range: 1 minute to 7 days")
    return seconds


def _cron_field(
    text: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    """The values a cron field (``*``, ``a``, ``a-b``, lists, ``/step``, names) allows."""

    def value(item: str) -> int:
        item = item.lower()
        if names is not None and item in names:
            return names[item]
        if item.isdigit() and item.isascii() and len(item) <= 2:
            return int(item)
        raise ValueError(f"bad {what} {item!r:.20}")

    values: set[int] = set()
    for item in text.split(","):
        span, slash, step_text = item.partition("/")
        step = value(step_text) if slash else 1
        if span == "*":
            first, last = lo, hi
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = value(a), value(b)
        else:
            first = value(span)
            last = hi if slash else first
        if not lo <= first <= last <= hi or step < 1:
            raise ValueError(f"bad {what} {item!r:.20}: expected {lo}-{hi}")
        values.update(range(first, last + 1, step))
    return frozenset(values)
