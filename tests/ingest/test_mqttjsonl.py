"""The ``mqtt-jsonl`` adapter: IoT telemetry messages with their topic, one JSON object per line."""

from __future__ import annotations

import json
import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.ingest import MAX_RECORD_BYTES, MqttJsonlAdapter
from citywatch.ingest.mqttjsonl import MAX_EXTRA, MAX_EXTRA_TEXT
from citywatch.model import DeadLetter, Event, Telemetry
from citywatch.model.deadletter import RAW_LIMIT

T = "2026-03-14T08:00:00Z"
TS = 1773475200.0
TOPIC = "city/camera/cam-0042/telemetry"
BARE = "city/alarms"
"""A topic that names no device: the payload's device_id is all there is."""


def msg(**fields: object) -> bytes:
    rec: dict[str, object] = {"topic": TOPIC, "time": T, "device_id": "cam-0042"}
    rec.update(fields)
    return json.dumps({k: v for k, v in rec.items() if v is not ...}).encode()


def parse(*lines: bytes) -> list[Event | DeadLetter]:
    return list(MqttJsonlAdapter().parse("mqtt.jsonl", lines))


def event(line: bytes) -> Event:
    (item,) = parse(line)
    assert isinstance(item, Event), item
    return item


def telemetry(line: bytes) -> Telemetry:
    payload = event(line).payload
    assert isinstance(payload, Telemetry)
    return payload


def test_heartbeat_event_fields() -> None:
    e = event(msg(type="heartbeat", uptime=86400, rssi=-61))
    assert (e.id, e.timestamp, e.dataset, e.observer) == (
        "mqtt.jsonl:1",
        TS,
        "iot.telemetry",
        "mqtt.jsonl",
    )
    assert (e.device_id, e.outcome, e.source_ip, e.action) == ("cam-0042", None, None, None)
    assert e.payload == Telemetry(topic=TOPIC, kind="heartbeat", uptime=86400.0, rssi=-61.0)


def test_each_type_keeps_its_typed_fields() -> None:
    metrics = telemetry(
        msg(
            type="metrics",
            cpu=97.5,
            mem="41",
            disk=12,
            temperature=-4.5,
            tx_bytes=123456789012,
            rx_bytes="2048",
            connections=3,
        )
    )
    assert (metrics.cpu, metrics.mem, metrics.disk, metrics.temperature) == (97.5, 41.0, 12.0, -4.5)
    assert (metrics.tx_bytes, metrics.rx_bytes, metrics.connections) == (123456789012, 2048, 3)
    assert telemetry(msg(type="firmware", version="5.7.3-build2401")).version == "5.7.3-build2401"
    config = telemetry(msg(type="config", changed=["ntp.server", "telnet.enabled"]))
    assert config.changed == ("ntp.server", "telnet.enabled")
    alarm = telemetry(msg(type="alarm", code=4031, text="tamper switch opened"))
    assert (alarm.code, alarm.text) == ("4031", "tamper switch opened")


def test_login_outcome_and_origin() -> None:
    e = event(
        msg(
            type="login", user="", result="failure", method="telnet", **{"source.ip": "2001:DB8::7"}
        )
    )
    assert (e.outcome, e.source_ip, e.action) == ("failure", "2001:db8::7", None)
    payload = e.payload
    assert isinstance(payload, Telemetry)
    assert (payload.user, payload.result, payload.method) == ("", "failure", "telnet")
    assert "source.ip" not in payload.extra
    ok = event(msg(type="login", user="admin", result="success", method="ssh"))
    assert ok.outcome == "success"


def test_typed_fields_of_other_types_are_read_too() -> None:
    t = telemetry(msg(type="heartbeat", uptime=5, cpu=3, version="1.0"))
    assert (t.kind, t.uptime, t.cpu, t.version) == ("heartbeat", 5.0, 3.0, "1.0")
    assert t.extra == {}


def test_own_id_epoch_time_and_integer_device_id() -> None:
    e = event(msg(type="heartbeat", id="m-991", time=1773475200.5, device_id=4711, topic=BARE))
    assert (e.id, e.timestamp, e.device_id) == ("m-991", 1773475200.5, "4711")
    assert event(msg(type="heartbeat", id=17)).id == "17"


def test_mac_is_normalised_into_its_own_field_never_extra() -> None:
    for spelling in ("00-1A-2B-3C-4D-5E", "001a2b3c4d5e", "001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"):
        t = telemetry(msg(type="heartbeat", mac=spelling))
        assert t.mac == "00:1a:2b:3c:4d:5e"
        assert "mac" not in t.extra
        assert spelling not in str(t.extra)


def test_unknown_fields_are_kept_small() -> None:
    t = telemetry(
        msg(
            type="heartbeat",
            battery=88,
            ok=True,
            ratio=0.5,
            site="north gate",
            nested={"a": [1, 2]},
            nothing=None,
            huge=10**30,
            long="x" * 1000,
        )
    )
    assert t.extra == {
        "battery": 88,
        "ok": True,
        "ratio": 0.5,
        "site": "north gate",
        "nested": '{"a":[1,2]}',
        "huge": str(10**30),
        "long": "x" * MAX_EXTRA_TEXT,
    }
    many = telemetry(msg(type="heartbeat", **{f"k{i:02d}": i for i in range(40)}))
    assert list(many.extra) == [f"k{i:02d}" for i in range(MAX_EXTRA)]


def test_events_round_trip_through_json() -> None:
    e = event(msg(type="metrics", cpu=1, tx_bytes=2**63 - 1, flag=False, big=-(2**63)))
    assert msgspec.json.decode(msgspec.json.encode(e), type=Event) == e


def test_blank_lines_yield_nothing_and_positions_count_them() -> None:
    items = parse(b"\n", b"   \n", msg(type="heartbeat"), b"nope")
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter"]
    assert items[0].id == "mqtt.jsonl:3"
    assert isinstance(items[1], DeadLetter)
    assert items[1].position == 4


@pytest.mark.parametrize(
    ("line", "code", "reason"),
    [
        (b"{not json", "bad-json", "invalid JSON"),
        (b'{"a": 1}}', "bad-json", "invalid JSON"),
        (b"[1, 2]", "bad-json", "not a JSON object"),
        (b'"heartbeat"', "bad-json", "not a JSON object"),
        (msg(type="heartbeat", topic=...), "missing-field", "'topic'"),
        (msg(type="heartbeat", time=...), "missing-field", "'time'"),
        (msg(type="heartbeat", device_id=..., topic=BARE), "missing-field", "'device_id'"),
        (msg(type="heartbeat", device_id=None, topic=BARE), "missing-field", "'device_id'"),
        (msg(), "missing-field", "'type'"),
        (msg(type="firmware"), "missing-field", "'version': a firmware message needs it"),
        (msg(type="firmware", version=None), "missing-field", "'version'"),
        (msg(type="config"), "missing-field", "'changed'"),
        (msg(type="login", result="failure"), "missing-field", "'method'"),
        (msg(type="login", method="ssh"), "missing-field", "'result'"),
        (msg(type="alarm", text="x"), "missing-field", "'code'"),
        (msg(type="reboot"), "bad-field", "'type' is 'reboot', expected one of heartbeat"),
        (msg(type=["heartbeat"]), "bad-field", "'type'"),
        (msg(type="heartbeat", topic=""), "bad-field", "'topic' is empty"),
        (msg(type="heartbeat", topic=7), "bad-field", "'topic' is int"),
        (msg(type="heartbeat", device_id="d" * 129), "bad-field", "at most 128"),
        (msg(type="heartbeat", device_id=True), "bad-field", "'device_id' is bool"),
        (msg(type="heartbeat", time="yesterday"), "bad-field", "bad time"),
        (msg(type="heartbeat", time=1e300), "bad-field", "out of range"),
        (msg(type="heartbeat", id=""), "bad-field", "'id' is empty"),
        (msg(type="heartbeat", uptime=-1), "bad-field", "'uptime'"),
        (
            msg(type="heartbeat", uptime="soon"),
            "bad-field",
            "'uptime' is 'soon', expected a number",
        ),
        (msg(type="heartbeat", rssi=5), "bad-field", "'rssi' is 5, expected -200 to 0"),
        (msg(type="metrics", cpu=100.1), "bad-field", "'cpu'"),
        (msg(type="metrics", mem=True), "bad-field", "'mem' is True, expected a number"),
        (msg(type="metrics", disk="\u0661\u0662"), "bad-field", "'disk'"),
        (msg(type="metrics", temperature=-300), "bad-field", "'temperature'"),
        (msg(type="metrics", temperature="1e999"), "bad-field", "'temperature'"),
        (msg(type="metrics", tx_bytes=-1), "bad-field", "'tx_bytes'"),
        (msg(type="metrics", tx_bytes=1.5), "bad-field", "'tx_bytes'"),
        (msg(type="metrics", rx_bytes=2**63), "bad-field", "'rx_bytes'"),
        (msg(type="metrics", connections="3.0"), "bad-field", "'connections'"),
        (msg(type="firmware", version=""), "bad-field", "'version' is empty"),
        (msg(type="firmware", version=5.1), "bad-field", "'version' is float"),
        (msg(type="config", changed="ntp"), "bad-field", "expected a list of keys"),
        (msg(type="config", changed=["ok", 3]), "bad-field", "'changed' is int"),
        (msg(type="config", changed=["k"] * 257), "bad-field", "at most 256"),
        (msg(type="login", result="maybe", method="ssh"), "bad-field", "'result'"),
        (msg(type="login", result="failure", method="carrier-pigeon"), "bad-field", "'method'"),
        (msg(type="login", result="failure", method="ssh", user=0), "bad-field", "'user'"),
        (msg(type="alarm", code=""), "bad-field", "'code' is empty"),
        (msg(type="alarm", code="E1", text="t" * 5000), "bad-field", "at most 4096"),
        (msg(type="heartbeat", mac="00:1a:2b:3c:4d"), "bad-field", "'mac'"),
        (msg(type="heartbeat", mac="00:1a-2b:3c:4d:5e"), "bad-field", "'mac'"),
        (msg(type="heartbeat", **{"source.ip": "10.0.0.300"}), "bad-field", "not an IP address"),
    ],
)
def test_bad_messages_are_dead_letters(line: bytes, code: str, reason: str) -> None:
    items = parse(line, msg(type="heartbeat"))
    assert [type(i).__name__ for i in items] == ["DeadLetter", "Event"]
    dead = items[0]
    assert isinstance(dead, DeadLetter)
    assert (dead.code, dead.position, dead.raw) == (code, 1, line)
    assert reason in dead.reason, dead.reason
    assert (dead.source, dead.stage, dead.format) == ("mqtt.jsonl", "ingest", "mqtt-jsonl")


def test_a_device_cannot_send_telemetry_for_another() -> None:
    # the device_id was taken from the payload unchecked: cam-0042, allowed by the broker to
    # publish on its own topic only, could send a firmware change or heartbeat as any device
    line = msg(type="firmware", version="0.0.1", device_id="tra-0001")
    dead, ok = parse(line, msg(type="firmware", version="0.0.1"))
    assert isinstance(dead, DeadLetter) and isinstance(ok, Event)
    assert (dead.code, dead.raw) == ("bad-field", line)
    assert "'tra-0001' but the topic is device 'cam-0042'" in dead.reason, dead.reason
    assert ok.device_id == "cam-0042"


def test_the_topic_names_the_device_when_the_payload_does_not() -> None:
    # a message without device_id on a device's own topic was a dead letter (missing field)
    assert event(msg(type="heartbeat", device_id=...)).device_id == "cam-0042"
    assert event(msg(type="heartbeat", device_id=None)).device_id == "cam-0042"
    too_long = f"city/camera/{'d' * 129}/telemetry"
    (dead,) = parse(msg(type="heartbeat", device_id=..., topic=too_long))
    assert isinstance(dead, DeadLetter) and "at most 128" in dead.reason


def test_too_long_line() -> None:
    (dead,) = parse(msg(type="heartbeat", pad="x" * MAX_RECORD_BYTES))
    assert isinstance(dead, DeadLetter)
    assert dead.code == "too-long"
    assert len(dead.raw) == RAW_LIMIT


def test_invalid_utf8_inside_a_string_is_kept_visible() -> None:
    t = telemetry(msg(type="alarm", code="E1", text="T").replace(b'"T"', b'"a\xffb"'))
    assert t.text == "a\\xffb"


SAMPLES = [
    msg(type="heartbeat", uptime=1, rssi=-70, mac="00:1a:2b:3c:4d:5e"),
    msg(type="metrics", cpu=5, mem=6, temperature=40, tx_bytes=1, rx_bytes=2, extra_field="x"),
    msg(type="firmware", version="1.2.3"),
    msg(type="config", changed=["a", "b"]),
    msg(type="login", user="root", result="failure", method="telnet", **{"source.ip": "10.0.0.9"}),
    msg(type="alarm", code="E7", text="door"),
]
ODD = [None, True, -1, 0, 1e308, 2**64, "", "-", "nan", "1e400", "\u0663", "x" * 300, [], {}]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message with one field replaced, removed or added, or some bytes garbled."""
    raw = draw(st.sampled_from(SAMPLES))
    if draw(st.booleans()):
        line = bytearray(raw)
        at = draw(st.integers(0, len(line)))
        line[at : at + draw(st.integers(0, 3))] = draw(st.binary(max_size=3))
        return bytes(line)
    rec = json.loads(raw)
    key = draw(st.sampled_from(sorted(rec)) | st.text(max_size=6))
    if key in rec and draw(st.booleans()):
        del rec[key]
    else:
        rec[key] = draw(st.sampled_from(ODD) | st.text(max_size=8) | st.floats() | st.integers())
    return json.dumps(rec).encode()


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(mutated(), max_size=6))
def test_any_mutation_gives_one_event_or_dead_letter(lines: list[bytes]) -> None:
    records = [n for n, raw in enumerate(lines, 1) if raw.strip()]
    items = parse(*lines)
    assert len(items) == len(records)
    for item, lineno in zip(items, records, strict=True):
        if isinstance(item, DeadLetter):
            assert item.position == lineno
            assert item.reason
        else:
            assert math.isfinite(item.timestamp)
            assert item.device_id
            assert msgspec.json.decode(msgspec.json.encode(item), type=Event) == item


def test_samples_are_events() -> None:
    assert all(isinstance(i, Event) for i in parse(*SAMPLES))
