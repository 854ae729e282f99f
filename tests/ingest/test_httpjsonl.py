"""The ``http-jsonl`` adapter: one HTTP request per JSON line."""

from __future__ import annotations

import time

import msgspec
import pytest

from citywatch.ingest import MAX_RECORD_BYTES, HttpJsonlAdapter
from citywatch.model import DeadLetter, Event, HttpRequest


def parse(*lines: bytes) -> list[Event | DeadLetter]:
    return list(HttpJsonlAdapter().parse("req.jsonl", lines))


def line(**fields: object) -> bytes:
    return msgspec.json.encode(fields)


def one_event(raw: bytes) -> Event:
    (item,) = parse(raw)
    assert isinstance(item, Event), item
    return item


def http(event: Event) -> HttpRequest:
    assert isinstance(event.payload, HttpRequest)
    return event.payload


def test_full_record_with_header_pairs() -> None:
    raw = (
        b'{"id": "r-1", "method": "POST", "uri": "/login?next=%2Ftax", "version": "HTTP/1.1",'
        b' "headers": [["Host", "portal.example"], ["user-agent", "curl/8.5.0"],'
        b' ["Referer", "https://portal.example/"], ["User-Agent", "second"], ["Cookie", "a=1"]],'
        b' "body": "user=alice&pass=%27+OR+1%3D1--", "@timestamp": "2026-03-01T10:00:00.250Z",'
        b' "source.ip": "203.0.113.9", "unknown": {"ignored": [1, 2]}}\n'
    )
    event = one_event(raw)
    assert event.id == "r-1"
    assert event.timestamp == 1772359200.25
    assert event.dataset == "portal.http"
    assert event.observer == "req.jsonl"
    assert event.source_ip == "203.0.113.9"
    assert event.outcome is None
    assert http(event) == HttpRequest(
        method="POST",
        uri="/login?next=%2Ftax",
        version="HTTP/1.1",
        headers=(
            ("Host", "portal.example"),
            ("user-agent", "curl/8.5.0"),
            ("Referer", "https://portal.example/"),
            ("User-Agent", "second"),
            ("Cookie", "a=1"),
        ),
        body="user=alice&pass=%27+OR+1%3D1--",
        status=None,
        user_agent="curl/8.5.0",
        referrer="https://portal.example/",
    )


def test_minimal_record_defaults() -> None:
    event = one_event(line(id=42, method="GET", uri="/", **{"@timestamp": 1772359200}))
    assert event.id == "42"
    assert event.timestamp == 1772359200.0
    assert event.source_ip is None
    assert http(event) == HttpRequest(method="GET", uri="/")


def test_header_object_and_ecs_nested_source() -> None:
    event = one_event(
        line(
            id="r-2",
            method="GET",
            uri="/feed",
            headers={"User-Agent": "Mozilla/5.0", "Accept": "*/*"},
            source={"ip": "2001:DB8::9", "port": 51234},
            **{"@timestamp": "2026-03-01T11:00:00+01:00"},
        )
    )
    assert event.timestamp == 1772359200.0
    assert event.source_ip == "2001:db8::9"
    req = http(event)
    assert req.headers == (("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"))
    assert (req.user_agent, req.referrer) == ("Mozilla/5.0", None)


def test_flat_source_ip_wins_over_nested() -> None:
    raw = line(
        id="a", method="GET", uri="/", source={"ip": "192.0.2.2"}, **{"source.ip": "192.0.2.1"}
    )
    assert one_event(raw).source_ip == "192.0.2.1"


def test_source_that_is_not_an_object_is_ignored() -> None:
    assert one_event(line(id="a", method="GET", uri="/", source="portal-a")).source_ip is None


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"amount": 10, "to": "x"}, '{"amount":10,"to":"x"}'),
        ([1, "two"], '[1,"two"]'),
        (None, ""),
        ("", ""),
        ("a=1", "a=1"),
    ],
)
def test_body(body: object, text: str) -> None:
    assert http(one_event(line(id="a", method="POST", uri="/", body=body))).body == text


def test_missing_timestamp_takes_previous_then_wall_clock() -> None:
    before = time.time()
    first, second, third, fourth = parse(
        line(id="1", method="GET", uri="/"),
        line(id="2", method="GET", uri="/"),
        line(id="3", method="GET", uri="/", **{"@timestamp": "2026-03-01T10:00:00Z"}),
        line(id="4", method="GET", uri="/"),
    )
    after = time.time()
    assert isinstance(first, Event)
    assert isinstance(second, Event)
    assert isinstance(third, Event)
    assert isinstance(fourth, Event)
    assert before <= first.timestamp <= after
    assert second.timestamp == first.timestamp
    assert third.timestamp == fourth.timestamp == 1772359200.0


def test_dead_letter_does_not_set_the_previous_time() -> None:
    _, dead, event = parse(
        line(id="1", method="GET", uri="/", **{"@timestamp": 100}),
        line(method="GET", uri="/", **{"@timestamp": 200}),
        line(id="3", method="GET", uri="/"),
    )
    assert isinstance(dead, DeadLetter)
    assert isinstance(event, Event)
    assert event.timestamp == 100.0


def test_invalid_utf8_inside_strings_is_kept_visibly() -> None:
    raw = b'{"id": "a", "method": "GET", "uri": "/caf\xe9", "headers": [["X", "\xff"]]}'
    req = http(one_event(raw))
    assert req.uri == "/caf\\xe9"
    assert req.headers == (("X", "\\xff"),)


R = b'{"id": "a", "method": "GET", "uri": "/", '


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (b'{"id": "a", "method": "GET", "uri": "/"', "bad-json", "invalid JSON"),
        (b'{"id": "a", "method": GET}', "bad-json", "invalid JSON"),
        (b'{"id": "\\ud800", "method": "GET", "uri": "/"}', "bad-json", "invalid JSON"),
        (b'{"id": "a", "method": "GET", "uri": "/"} trailing', "bad-json", "invalid JSON"),
        (b'[{"id": "a", "method": "GET", "uri": "/"}]', "bad-json", "not a JSON object"),
        (b'"GET /"', "bad-json", "not a JSON object"),
        (b"GET / HTTP/1.1", "bad-json", "invalid JSON"),
        (b'{"method": "GET", "uri": "/"}', "missing-field", "'id'"),
        (b'{"id": null, "method": "GET", "uri": "/"}', "missing-field", "'id'"),
        (b'{"id": "a", "uri": "/"}', "missing-field", "'method'"),
        (b'{"id": "a", "method": "GET"}', "missing-field", "'uri'"),
        (b'{"id": "", "method": "GET", "uri": "/"}', "bad-field", "'id' is empty"),
        (b'{"id": true, "method": "GET", "uri": "/"}', "bad-field", "'id' is bool"),
        (b'{"id": 1.5, "method": "GET", "uri": "/"}', "bad-field", "'id' is float"),
        (b'{"id": "a", "method": 1, "uri": "/"}', "bad-field", "'method' is int"),
        (b'{"id": "a", "method": "GET", "uri": ""}', "bad-field", "'uri' is empty"),
        (R + b'"version": 1.1}', "bad-field", "'version'"),
        (R + b'"headers": "Host: x"}', "bad-field", "headers"),
        (R + b'"headers": [["H", 1]]}', "bad-field", "header 0"),
        (R + b'"headers": [["H"]]}', "bad-field", "header 0"),
        (R + b'"headers": {"H": ["a", "b"]}}', "bad-field", "header 0"),
        (R + b'"headers": [["A", "1"], ["B", null]]}', "bad-field", "header 1"),
        (R + b'"@timestamp": "soon"}', "bad-field", "bad time"),
        (R + b'"@timestamp": -1}', "bad-field", "out of range"),
        (R + b'"@timestamp": 1e300}', "bad-field", "out of range"),
        (R + b'"source.ip": "10.0.0.256"}', "bad-field", "address"),
        (R + b'"source": {"ip": 167772161}}', "bad-field", "address"),
    ],
)
def test_bad_records(raw: bytes, code: str, reason: str) -> None:
    good = line(id="ok", method="GET", uri="/")
    items = parse(good, b"\n", raw + b"\n", good)
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter", "Event"]
    dead = items[1]
    assert isinstance(dead, DeadLetter)
    assert dead.code == code
    assert reason in dead.reason
    assert (dead.position, dead.raw) == (3, raw + b"\n")
    assert (dead.source, dead.stage, dead.format) == ("req.jsonl", "ingest", "http-jsonl")


def test_too_long_line() -> None:
    raw = b'{"id": "a", "method": "GET", "uri": "/' + b"A" * MAX_RECORD_BYTES + b'"}'
    (dead,) = parse(raw)
    assert isinstance(dead, DeadLetter)
    assert dead.code == "too-long"
    assert raw.startswith(dead.raw)


def test_blank_lines_yield_nothing() -> None:
    assert parse(b"", b"\n", b" \t\r\n") == []


def test_optional_ecs_response_fields_give_status_and_outcome() -> None:
    line = (
        b'{"id": "r1", "method": "POST", "uri": "/login", "@timestamp": 0,'
        b' "http.response.status_code": 401, "http.response.body.bytes": 512}'
    )
    (event,) = HttpJsonlAdapter().parse("f", [line])
    assert isinstance(event, Event) and isinstance(event.payload, HttpRequest)
    assert event.outcome == "failure"
    assert (event.payload.status, event.payload.bytes_out) == (401, 512)
    bad = b'{"id": "r2", "method": "GET", "uri": "/", "http.response.status_code": "oops"}'
    (letter,) = HttpJsonlAdapter().parse("f", [bad])
    assert isinstance(letter, DeadLetter) and "status" in letter.reason
