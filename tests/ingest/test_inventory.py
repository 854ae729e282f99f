"""The device inventory loader: typed devices, located row errors, maintenance windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from citywatch.errors import ConfigError
from citywatch.ingest.inventory import Device, Inventory, load_inventory, parse_windows

HEADER = "device_id,ip,mac,class,vendor,model,firmware,lat,lon,owner,maintenance_window\n"
GOOD = (
    HEADER
    + "cam-0042,10.20.0.42,00-1A-2B-3C-4D-5E,Camera,Hikvision,DS-2CD2043,5.7.3,59.437,24.745,"
    "traffic,02:00-04:00\n"
    + "meter-7,2001:DB8::7,,meter,Kamstrup,Omnipower,2.1,,,utilities,0 3 * * sun 2h\n"
    + "light-1,10.30.0.1,001a2b3c4d60,street_light,,,,,,,\n"
    + '"tc-9",10.40.0.9,,traffic_controller,"Siemens, AG",sX,1.0,59.4,24.7,"roads, north",'
    "22:00-02:00\n"
)


def write(tmp_path: Path, text: str, name: str = "inventory.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def at(text: str, tz: str = "UTC") -> float:
    """Epoch seconds of a local ``YYYY-MM-DD HH:MM`` time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_good_csv(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    assert inv.errors == []
    assert len(inv) == 4
    assert [d.id for d in inv] == ["cam-0042", "meter-7", "light-1", "tc-9"]
    assert inv.get("cam-0042") == Device(
        id="cam-0042",
        device_class="camera",
        ip="10.20.0.42",
        mac="00:1a:2b:3c:4d:5e",
        vendor="Hikvision",
        model="DS-2CD2043",
        firmware="5.7.3",
        lat=59.437,
        lon=24.745,
        owner="traffic",
        maintenance_window="02:00-04:00",
    )
    light = inv.get("light-1")
    assert light is not None
    assert (light.mac, light.vendor, light.lat, light.maintenance_window) == (
        "00:1a:2b:3c:4d:60",
        None,
        None,
        None,
    )
    tc = inv.get("tc-9")
    assert tc is not None
    assert (tc.vendor, tc.owner) == ("Siemens, AG", "roads, north")
    assert "meter-7" in inv
    assert inv.get("nope") is None


def test_lookup_by_ip_accepts_any_spelling(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    meter = inv.by_ip("2001:db8:0:0::7")
    assert meter is not None
    assert meter.id == "meter-7"
    assert inv.by_ip("2001:DB8::7") is meter
    cam = inv.by_ip("10.20.0.42")
    assert cam is not None
    assert cam.id == "cam-0042"
    assert inv.by_ip("10.20.0.43") is None
    assert inv.by_ip("not an ip") is None


BAD_ROWS = [
    (",10.0.0.1,,camera,,,,,,,", "missing device_id"),
    ("cam-2,10.0.0.2,,,,,,,,,", "missing class"),
    ("cam-3,10.0.0.300,,camera,,,,,,,", "ip: bad address"),
    ("cam-4,10.0.0.4,00:11:22:33:44,camera,,,,,,,", "mac:"),
    ("cam-5,10.0.0.5,,camera,,,,91,24,,", "lat is '91', out of range"),
    ("cam-6,10.0.0.6,,camera,,,,59.4,,,", "lat and lon go together"),
    ("cam-7,10.0.0.7,,camera,,,,north,24,,", "expected decimal degrees"),
    ("cam-8,10.0.0.8,,camera,,,,,,,25:00-01:00", "hours 00-23"),
    ("cam-9,10.0.0.9,,camera,,,,,,,02:00-02:00", "same time"),
    ("cam-10,10.0.0.10,,camera,,,,,,,0 2 * * sun", "expected HH:MM-HH:MM"),
    ("cam-11,10.0.0.11,,camera,,,,,,,0 2 * * funday 1h", "bad day of week 'funday'"),
    ("cam-12,10.0.0.12,,camera,,,,,,,61 * * * * 1h", "bad minute '61'"),
    ("cam-13,10.0.0.13,,camera,,,,,,,0 2 * * * 8d", "1 minute to 7 days"),
    ("cam-14,10.0.0.14,,camera,,,,,,,0 2 * * * soon", "bad duration"),
    ("cam-15,10.0.0.15,,camera,,,,,,,0 2 * 13 * 1h", "bad month '13'"),
    ("cam-16,10.0.0.16,,camera,,,,,,,*/0 * * * * 1h", "bad minute"),
    ("cam-0042,10.0.0.17,,camera,,,,,,,", "device_id listed twice (first on row 2)"),
    ("cam-18,10.20.0.42,,camera,,,,,,,", "ip 10.20.0.42 is already device cam-0042's"),
    ("cam-19,10.0.0.19,,camera,,,,,,,,extra,cells", "13 cells for 11 columns"),
    ("cam-20,10.0.0.20,,camera,x" + "y" * 300 + ",,,,,,", "vendor is 301 characters long"),
]


def test_bad_rows_are_left_out_with_their_row_numbers(tmp_path: Path) -> None:
    text = HEADER + "cam-0042,10.20.0.42,,camera,,,,,,,\n" + "\n".join(r for r, _ in BAD_ROWS)
    text += "\n\n,,,,,,,,,,\ncam-ok,10.0.0.99,,camera,,,,,,,\n"
    inv = load_inventory(write(tmp_path, text))
    assert [d.id for d in inv] == ["cam-0042", "cam-ok"]
    assert [e.row for e in inv.errors] == list(range(3, 3 + len(BAD_ROWS)))
    for error, (_, reason) in zip(inv.errors, BAD_ROWS, strict=True):
        assert reason in error.reason, (error, reason)
    assert inv.errors[1].device_id == "cam-2"
    assert str(inv.errors[1]) == "row 4 (cam-2): missing class"
    assert inv.errors[0].device_id is None


def test_row_numbers_are_line_numbers_across_quoted_newlines(tmp_path: Path) -> None:
    text = HEADER + 'cam-1,10.0.0.1,,camera,"two\nlines",,,,,,\ncam-2,bad,,camera,,,,,,,\n'
    (error,) = load_inventory(write(tmp_path, text)).errors
    assert (error.row, error.device_id) == (4, "cam-2")


def test_strict_mode_raises_listing_every_bad_row(tmp_path: Path) -> None:
    text = HEADER + "a,10.0.0.300,,camera,,,,,,,\nb,10.0.0.2,,,,,,,,,\nc,10.0.0.3,,camera,,,,,,,\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path, strict=True)
    message = str(info.value)
    assert message.startswith(f"{path}: 2 bad rows: row 2 (a): ip: bad address")
    assert "row 3 (b): missing class" in message
    assert len(load_inventory(path)) == 1


def test_json_inventory(tmp_path: Path) -> None:
    devices = [
        {"device_id": "cam-1", "ip": "10.0.0.1", "class": "camera", "lat": 59.4, "lon": 24.7},
        {"device_id": 7, "class": "meter", "maintenance_window": "23:00-01:00"},
        "not an object",
        {"device_id": "cam-3", "class": "camera", "firmware": 5.1},
        {"device_id": "cam-4", "class": "camera", "lat": True, "lon": 1},
    ]
    inv = load_inventory(write(tmp_path, json.dumps(devices), "fleet.json"))
    assert [d.id for d in inv] == ["cam-1", "7"]
    cam = inv.get("cam-1")
    assert cam is not None
    assert (cam.lat, cam.lon) == (59.4, 24.7)
    assert [(e.row, e.device_id) for e in inv.errors] == [(3, None), (4, "cam-3"), (5, "cam-4")]
    assert "item is str, expected an object" in inv.errors[0].reason
    assert "firmware is float, expected text" in inv.errors[1].reason
    wrapped = load_inventory(write(tmp_path, json.dumps({"devices": devices[:2]}), "w.txt"))
    assert len(wrapped) == 2


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("a.csv", "", "empty inventory"),
        ("a.csv", "id,ip,class\nx,10.0.0.1,camera\n", "no device_id column"),
        ("a.csv", "device_id,ip\nx,10.0.0.1\n", "no class column"),
        ("a.json", "[{", "invalid JSON"),
        ("a.json", '{"fleet": []}', "expected a JSON list"),
    ],
)
def test_unreadable_files_raise(tmp_path: Path, name: str, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_inventory(write(tmp_path, text, name))


def test_missing_file_and_bad_time_zone_raise(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_inventory(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_inventory(write(tmp_path, GOOD), tz="Mars/Olympus")


def test_bom_and_column_order(tmp_path: Path) -> None:
    text = "\ufeffClass,Device_ID,IP\ncamera,cam-1,10.0.0.1\n"
    inv = load_inventory(write(tmp_path, text))
    assert [(d.id, d.device_class, d.ip) for d in inv] == [("cam-1", "camera", "10.0.0.1")]


def window(spec: str, tz: str = "UTC") -> Inventory:
    return Inventory([Device(id="d", device_class="camera", maintenance_window=spec)], tz=tz)


@pytest.mark.parametrize(
    ("spec", "when", "inside"),
    [
        ("02:00-04:00", "2026-03-14 01:59", False),
        ("02:00-04:00", "2026-03-14 02:00", True),
        ("02:00-04:00", "2026-03-14 03:59", True),
        ("02:00-04:00", "2026-03-14 04:00", False),
        ("22:00-02:00", "2026-03-14 21:59", False),
        ("22:00-02:00", "2026-03-14 22:00", True),
        ("22:00-02:00", "2026-03-14 23:59", True),
        ("22:00-02:00", "2026-03-15 00:00", True),
        ("22:00-02:00", "2026-03-15 01:59", True),
        ("22:00-02:00", "2026-03-15 02:00", False),
        ("22:00-02:00", "2026-03-15 12:00", False),
        ("20:00-24:00", "2026-03-15 23:59", True),
        ("20:00-24:00", "2026-03-15 00:00", False),
        # Sunday 2026-03-15, 02:00 for 3 hours
        ("0 2 * * sun 3h", "2026-03-15 02:00", True),
        ("0 2 * * sun 3h", "2026-03-15 04:59", True),
        ("0 2 * * sun 3h", "2026-03-15 05:00", False),
        ("0 2 * * sun 3h", "2026-03-14 03:00", False),
        ("0 2 * * 7 3h", "2026-03-15 03:00", True),
        # daily at 23:30 for 1 hour: across midnight
        ("30 23 * * * 1h", "2026-03-14 23:29", False),
        ("30 23 * * * 1h", "2026-03-14 23:30", True),
        ("30 23 * * * 1h", "2026-03-15 00:29", True),
        ("30 23 * * * 1h", "2026-03-15 00:30", False),
        # Saturday 22:00 for 1 day 6 hours: into Monday
        ("0 22 * * sat 1d6h", "2026-03-16 03:59", True),
        ("0 22 * * sat 1d6h", "2026-03-16 04:00", False),
        # cron: with both day fields set, either matches (the 1st, or a Monday)
        ("0 1 1 * mon 1h", "2026-03-01 01:30", True),
        ("0 1 1 * mon 1h", "2026-03-16 01:30", True),
        ("0 1 1 * mon 1h", "2026-03-17 01:30", False),
        ("0 1 1 * * 1h", "2026-03-16 01:30", False),
        ("0 1 * jan-mar * 1h", "2026-03-16 01:30", True),
        ("0 1 * apr,may * 1h", "2026-03-16 01:30", False),
        ("*/15 * * * * 5m", "2026-03-16 10:47", True),
        ("*/15 * * * * 5m", "2026-03-16 10:50", False),
        ("0 9-17/4 * * mon-fri 30m", "2026-03-16 13:10", True),
        ("0 9-17/4 * * mon-fri 30m", "2026-03-16 11:10", False),
        ("0 9-17/4 * * mon-fri 30m", "2026-03-15 13:10", False),
        ("01:00-02:00; 0 3 * * * 1h", "2026-03-16 01:30", True),
        ("01:00-02:00; 0 3 * * * 1h", "2026-03-16 03:30", True),
        ("01:00-02:00; 0 3 * * * 1h", "2026-03-16 02:30", False),
    ],
)
def test_maintenance_windows(spec: str, when: str, inside: bool) -> None:
    assert window(spec).in_maintenance("d", at(when)) is inside


def test_windows_are_in_the_inventory_time_zone() -> None:
    tallinn = window("02:00-04:00", tz="Europe/Tallinn")
    assert tallinn.in_maintenance("d", at("2026-03-14 03:00", "Europe/Tallinn"))
    assert not tallinn.in_maintenance("d", at("2026-03-14 03:00"))  # 05:00 in Tallinn
    summer = at("2026-07-01 02:30", "Europe/Tallinn")  # UTC+3 in summer
    assert datetime.fromtimestamp(summer, UTC).hour == 23
    assert tallinn.in_maintenance("d", summer)
    cron = window("0 2 * * sun 3h", tz="Europe/Tallinn")
    assert cron.in_maintenance("d", at("2026-03-15 04:30", "Europe/Tallinn"))
    assert not cron.in_maintenance("d", at("2026-03-15 04:30"))


def test_no_window_or_unknown_device_is_never_in_maintenance() -> None:
    inv = Inventory([Device(id="d", device_class="camera")])
    assert not inv.in_maintenance("d", at("2026-03-14 03:00"))
    assert not inv.in_maintenance("other", at("2026-03-14 03:00"))
    assert not window("02:00-04:00").in_maintenance("d", float("nan"))


def test_devices_built_in_code_with_a_bad_window_raise() -> None:
    with pytest.raises(ConfigError, match="device d: maintenance_window"):
        window("sometimes")
    assert len(parse_windows(" 02:00 - 04:00 ;")) == 1
