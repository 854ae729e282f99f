"""The ``access-log`` adapter: combined/common log format and nginx JSON logs."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.ingest import MAX_RECORD_BYTES, AccessLogAdapter
from citywatch.ingest.accesslog import _CLF, _CLF_PLAIN
from citywatch.model import DeadLetter, Event, HttpRequest


def parse(*lines: bytes) -> list[Event | DeadLetter]:
    return list(AccessLogAdapter().parse("access.log", lines))


def one_event(line: bytes) -> Event:
    (item,) = parse(line)
    assert isinstance(item, Event), item
    return item


def http(event: Event) -> HttpRequest:
    assert isinstance(event.payload, HttpRequest)
    return event.payload


def one_dead(line: bytes) -> DeadLetter:
    (item,) = parse(line)
    assert isinstance(item, DeadLetter), item
    return item


# 2026-10-10T11:55:36Z
TS = 1791633336.0


def test_combined_line() -> None:
    event = one_event(
        b'203.0.113.9 - alice [10/Oct/2026:13:55:36 +0200] "GET /tax/form?id=7 HTTP/1.1" 200 2326 '
        b'"https://portal.example/start" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"'
        b"\n"
    )
    assert event.id == "access.log:1"
    assert event.timestamp == TS
    assert event.dataset == "portal.access"
    assert event.observer == "access.log"
    assert event.source_ip == "203.0.113.9"
    assert event.user_id == "alice"
    assert event.outcome == "success"
    assert http(event) == HttpRequest(
        method="GET",
        uri="/tax/form?id=7",
        version="HTTP/1.1",
        status=200,
        bytes_out=2326,
        referrer="https://portal.example/start",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
    )


def test_combined_line_without_referrer_and_agent() -> None:
    event = one_event(
        b'198.51.100.23 - - [10/Oct/2026:11:55:36 +0000] "POST /login HTTP/1.1" 401 17 "-" "-"'
    )
    req = http(event)
    assert (req.referrer, req.user_agent) == (None, None)
    assert event.user_id is None
    assert event.outcome == "failure"
    assert (req.method, req.status, req.bytes_out) == ("POST", 401, 17)


def test_common_log_format_apache_docs_example() -> None:
    event = one_event(
        b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    )
    assert event.timestamp == 971211336.0
    req = http(event)
    assert (req.uri, req.version, req.referrer, req.user_agent) == (
        "/apache_pb.gif",
        "HTTP/1.0",
        None,
        None,
    )


def test_dash_status_and_size() -> None:
    req = http(one_event(b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" - -'))
    assert (req.status, req.bytes_out) == (None, None)


def test_nginx_hex_escapes_are_undone() -> None:
    event = one_event(
        b'198.51.100.7 - - [10/Oct/2026:11:55:36 +0000] "GET /search?q=\\x22%3E%3Cscript%3E '
        b'HTTP/1.1" 200 512 "-" "sqlmap/1.7.2#stable (\\x22https://sqlmap.org\\x22)"'
    )
    req = http(event)
    assert req.uri == '/search?q="%3E%3Cscript%3E'
    assert req.user_agent == 'sqlmap/1.7.2#stable ("https://sqlmap.org")'


def test_apache_backslash_quote_escape() -> None:
    req = http(
        one_event(
            b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "say \\"hi\\""'
        )
    )
    assert req.user_agent == 'say "hi"'


def test_ipv6_client() -> None:
    event = one_event(
        b'2001:DB8::1 - - [10/Oct/2026:11:55:36 +0000] "GET /feed HTTP/2.0" 404 0 "-" "curl/8.5.0"'
    )
    assert event.source_ip == "2001:db8::1"
    assert event.outcome == "failure"
    assert http(event).version == "HTTP/2.0"


def test_tls_handshake_on_plain_http_port_is_kept_as_method_dash() -> None:
    event = one_event(
        b'192.0.2.10 - - [10/Oct/2026:11:55:36 +0000] "\\x16\\x03\\x01\\x00\\xF4\\x01\\x00\\x00'
        b'\\xF0\\x03\\x03" 400 157 "-" "-"'
    )
    req = http(event)
    assert req.method == "-"
    # control bytes come back as characters; invalid UTF-8 stays visible as \xHH text
    assert req.uri == "\x16\x03\x01\x00\\xf4\x01\x00\x00\\xf0\x03\x03"
    assert req.status == 400
    msgspec.json.encode(event)


def test_hostname_client_is_not_an_address() -> None:
    assert (
        one_event(b'gw.example - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 200 1').source_ip
        is None
    )


def test_nginx_json_time_iso8601() -> None:
    event = one_event(
        b'{"time_iso8601":"2026-10-10T13:55:36+02:00","remote_addr":"203.0.113.9","remote_user":"",'
        b'"request":"POST /login HTTP/1.1","status":"401","body_bytes_sent":"17","http_referer":"",'
        b'"http_user_agent":"python-requests/2.31.0","request_id":"7f1c2a9e"}'
    )
    assert event.id == "7f1c2a9e"
    assert event.timestamp == TS
    assert event.outcome == "failure"
    assert event.user_id is None
    assert http(event) == HttpRequest(
        method="POST",
        uri="/login",
        version="HTTP/1.1",
        status=401,
        bytes_out=17,
        user_agent="python-requests/2.31.0",
    )


def test_nginx_json_time_local_and_split_request() -> None:
    event = one_event(
        b'{"time_local":"10/Oct/2026:13:55:36 +0200","remote_addr":"2001:db8::7",'
        b'"request_method":"GET","request_uri":"/a?b=1","server_protocol":"HTTP/1.1",'
        b'"status":200,"body_bytes_sent":5,"extra":{"ignored":true}}'
    )
    assert event.id == "access.log:1"
    assert event.timestamp == TS
    assert event.source_ip == "2001:db8::7"
    req = http(event)
    assert (req.method, req.uri, req.version, req.status, req.bytes_out) == (
        "GET",
        "/a?b=1",
        "HTTP/1.1",
        200,
        5,
    )


@pytest.mark.parametrize(
    "line",
    [
        # what Filebeat's nginx module and Elastic Agent write: ECS, nested
        b'{"@timestamp":"2026-10-10T11:55:36Z","source":{"ip":"203.0.113.9"},'
        b'"http":{"request":{"method":"POST","referrer":"https://portal.example/"},'
        b'"response":{"status_code":401,"body":{"bytes":17}},"version":"1.1"},'
        b'"url":{"original":"/login?next=%2Ftax"},"user_agent":{"original":"curl/8.5.0"},'
        b'"user":{"name":"ana"},"event":{"id":"7f1c2a9e"}}',
        # the same dotted, as Logstash's pipelines flatten it, with the URL in parts
        b'{"@timestamp":"2026-10-10T11:55:36Z","source.ip":"203.0.113.9",'
        b'"http.request.method":"POST","http.request.referrer":"https://portal.example/",'
        b'"http.response.status_code":"401","http.response.body.bytes":17,"http.version":"1.1",'
        b'"url.path":"/login","url.query":"next=%2Ftax","user_agent.original":"curl/8.5.0",'
        b'"user.name":"ana","event.id":"7f1c2a9e"}',
    ],
)
def test_ecs_json_nested_or_dotted(line: bytes) -> None:
    # ECS JSON logs were dead letters ("missing-field: expected request or request_method +
    # request_uri"): only nginx's own variable names were read.
    event = one_event(line)
    assert (event.id, event.timestamp, event.source_ip) == ("7f1c2a9e", TS, "203.0.113.9")
    assert (event.user_id, event.outcome) == ("ana", "failure")
    assert http(event) == HttpRequest(
        method="POST",
        uri="/login?next=%2Ftax",
        version="HTTP/1.1",
        status=401,
        bytes_out=17,
        referrer="https://portal.example/",
        user_agent="curl/8.5.0",
    )


def test_nginx_json_msec() -> None:
    event = one_event(b'{"msec":"1791633336.250","request":"GET / HTTP/1.1"}')
    assert event.timestamp == TS + 0.25


def test_nginx_json_raw_invalid_utf8_is_kept_visibly() -> None:
    # nginx escape=json copies bytes >= 0x80 as they are
    event = one_event(
        b'{"time_iso8601":"2026-10-10T11:55:36Z","request":"GET / HTTP/1.1",'
        b'"http_user_agent":"Mozilla\xff\xfe"}'
    )
    assert http(event).user_agent == "Mozilla\\xff\\xfe"


@pytest.mark.parametrize(
    ("line", "code", "reason"),
    [
        (b"this is not a log line", "bad-line", "not a combined or common log line"),
        (b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 2000 1', "bad-line", ""),
        (b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET /" 200 ' + b"9" * 5000, "bad-line", ""),
        (
            b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET /" \xd9\xa4\xd9\xa0\xd9\xa4 1',
            "bad-line",
            "",
        ),
        (
            b'192.0.2.1 - - [32/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 200 1',
            "bad-field",
            "bad time",
        ),
        (
            b'192.0.2.1 - - [10/Oct/2026:11:55:36 +2500] "GET / HTTP/1.1" 200 1',
            "bad-field",
            "bad time",
        ),
        (
            b'999.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 200 1',
            "bad-field",
            "address",
        ),
        (b'{"request": "GET / HTTP/1.1"', "bad-json", "invalid JSON"),
        (b'{"request": "GET /\xff" \xff}', "bad-json", "invalid JSON"),
        (b'{"a": 1} {"b": 2}', "bad-json", "invalid JSON"),
        (b'{"request": "GET / HTTP/1.1"}', "missing-field", "missing time"),
        (b'{"msec": 1791633336}', "missing-field", "missing request"),
        (b'{"msec": 1791633336, "request": ["GET"]}', "bad-field", "'request'"),
        (b'{"msec": 1791633336, "request": "GET /", "status": 42}', "bad-field", "status"),
        (b'{"msec": 1791633336, "request": "GET /", "status": "OK"}', "bad-field", "integer"),
        (b'{"time_iso8601": "yesterday", "request": "GET /"}', "bad-field", "bad time"),
        (b'{"time_iso8601": 1' + b"0" * 400 + b', "request": "GET /"}', "bad-field", "range"),
        (b'{"msec": 1791633336, "request": "GET /", "remote_addr": "::g"}', "bad-field", "address"),
    ],
)
def test_bad_lines(line: bytes, code: str, reason: str) -> None:
    dead = one_dead(line)
    assert dead.code == code
    assert reason in dead.reason
    assert dead.raw == line
    assert (dead.source, dead.position, dead.stage, dead.format) == (
        "access.log",
        1,
        "ingest",
        "access-log",
    )


def test_json_array_is_bad_json() -> None:
    # not starting with "{", so read as a (bad) log line
    assert one_dead(b"[1, 2]").code == "bad-line"


def test_too_long_line() -> None:
    line = b"x" * (MAX_RECORD_BYTES + 1)
    dead = one_dead(line)
    assert dead.code == "too-long"
    assert line.startswith(dead.raw)
    assert 0 < len(dead.raw) < len(line)


def test_blank_lines_yield_nothing_but_count_for_positions() -> None:
    good = b'192.0.2.1 - - [10/Oct/2026:11:55:36 +0000] "GET / HTTP/1.1" 200 1\n'
    items = parse(b"\n", good, b"   \r\n", b"garbage\n", b"", good)
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter", "Event"]
    first, dead, last = items
    assert isinstance(first, Event)
    assert first.id == "access.log:2"
    assert isinstance(dead, DeadLetter)
    assert (dead.position, dead.raw) == (4, b"garbage\n")
    assert isinstance(last, Event)
    assert last.id == "access.log:6"


def test_nginx_escaped_utf8_comes_back_as_characters() -> None:
    line = (
        b'203.0.113.9 - - [14/Mar/2026:08:00:00 +0100] "GET /search?q=caf\\xC3\\xA9 HTTP/1.1" '
        b'200 10 "-" "M\\xC3\\xBCller-Bot \\x22x\\x22"\n'
    )
    (event,) = AccessLogAdapter().parse("f", [line])
    assert isinstance(event, Event) and isinstance(event.payload, HttpRequest)
    assert event.payload.uri == "/search?q=café"
    assert event.payload.user_agent == 'Müller-Bot "x"'


def test_repeated_times_and_addresses_are_reused_only_when_the_text_is_the_same() -> None:
    line = '{ip} - - [{when}] "GET / HTTP/1.1" 200 5 "-" "-"'
    items = parse(
        *(
            line.format(ip=ip, when=when).encode()
            for ip, when in [
                ("203.0.113.9", "10/Oct/2026:13:55:36 +0200"),
                ("203.0.113.9", "10/Oct/2026:13:55:36 +0200"),
                ("203.0.113.9", "10/Oct/2026:13:55:61 +0200"),  # no 61st second
                ("2001:DB8::1", "10/Oct/2026:13:55:36 +0200"),
                ("2001:DB8::1", "10/Oct/2026:13:55:37 +0200"),
                ("999.0.113.9", "10/Oct/2026:13:55:37 +0200"),
                ("203.0.113.9", "10/Oct/2026:13:55:36 +0000"),
            ]
        )
    )
    assert [item.code for item in items if isinstance(item, DeadLetter)] == ["bad-field"] * 2
    events = [item for item in items if isinstance(item, Event)]
    assert [(e.source_ip, e.timestamp - TS) for e in events] == [
        ("203.0.113.9", 0.0),
        ("203.0.113.9", 0.0),
        ("2001:db8::1", 0.0),
        ("2001:db8::1", 1.0),
        ("203.0.113.9", 7200.0),
    ]


_LINE_PIECES = st.sampled_from(
    [
        '"',
        " ",
        "-",
        "[",
        "]",
        "200",
        "12",
        "GET / HTTP/1.1",
        "\t",
        "\u00a0",
        "x",
        "é",
        "\\x22",
        "\\",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    head=st.lists(_LINE_PIECES, max_size=6).map("".join),
    fields=st.lists(st.lists(_LINE_PIECES, max_size=5).map("".join), min_size=3, max_size=3),
    tail=st.lists(_LINE_PIECES, max_size=4).map("".join),
)
def test_the_fast_pattern_reads_a_line_without_backslashes_as_the_full_one_does(
    head: str, fields: list[str], tail: str
) -> None:
    request, referrer, agent = fields
    line = f'1.2.3.4 - {head} [t] "{request}" 200 12 "{referrer}" "{agent}"{tail}'
    if "\\" in line:
        line = line.replace("\\", "")
    full, fast = _CLF.match(line), _CLF_PLAIN.match(line)
    assert (full and full.groups()) == (fast and fast.groups())
