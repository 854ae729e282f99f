"""The ``zeek-conn`` adapter: Zeek conn.log as TSV (with or without header) and JSON."""

from __future__ import annotations

import pytest

from citywatch.ingest import MAX_RECORD_BYTES, ZeekConnAdapter
from citywatch.model import Connection, DeadLetter, Event


def parse(text: bytes | list[bytes]) -> list[Event | DeadLetter]:
    lines = text.splitlines(keepends=True) if isinstance(text, bytes) else text
    return list(ZeekConnAdapter().parse("conn.log", lines))


def events(text: bytes | list[bytes]) -> list[Event]:
    items = parse(text)
    assert all(isinstance(i, Event) for i in items), items
    return [i for i in items if isinstance(i, Event)]


def conn(event: Event) -> Connection:
    assert isinstance(event.payload, Connection)
    return event.payload


HEADER = (
    b"#separator \\x09\n"
    b"#set_separator\t,\n"
    b"#empty_field\t(empty)\n"
    b"#unset_field\t-\n"
    b"#path\tconn\n"
    b"#open\t2023-09-13-14-25-39\n"
    b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    b"\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"
    b"\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    b"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount"
    b"\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
)
ROWS = (
    b"1694615138.866004\tCHhAvVGS1DHFjwGM9\t10.0.0.5\t59932\t93.184.216.34\t443\ttcp\tssl"
    b"\t0.283722\t1062\t5413\tSF\tT\tF\t0\tShADadFf\t12\t1698\t10\t5945\t-\n"
    b"1694615139.102551\tC4J4Th3PJpwUYZZ6gc\t10.0.0.5\t5353\t224.0.0.251\t5353\tudp\tdns"
    b"\t-\t-\t-\tS0\tT\tF\t0\tD\t1\t73\t0\t0\t-\n"
    b"1694615140.500000\tCtPZjS20MLrsMUOJi2\tfe80::1c5d:2bff:fe7e:8a4\t133\tff02::2\t134\ticmp"
    b"\t-\t0.000000\t0\t0\tOTH\tT\tF\t0\t-\t1\t56\t0\t0\t(empty)\n"
)
ZEEK6 = HEADER + ROWS + b"#close\t2023-09-13-14-26-01\n"


def test_zeek6_tsv_with_header() -> None:
    first, second, third = events(ZEEK6)
    assert first.id == "CHhAvVGS1DHFjwGM9"
    assert first.timestamp == 1694615138.866004
    assert first.dataset == "network.conn"
    assert first.observer == "conn.log"
    assert (first.source_ip, first.source_port) == ("10.0.0.5", 59932)
    assert (first.destination_ip, first.destination_port) == ("93.184.216.34", 443)
    assert conn(first) == Connection(
        uid="CHhAvVGS1DHFjwGM9",
        proto="tcp",
        service="ssl",
        duration=0.283722,
        orig_bytes=1062,
        resp_bytes=5413,
        conn_state="SF",
        history="ShADadFf",
        orig_pkts=12,
        resp_pkts=10,
        orig_ip_bytes=1698,
        resp_ip_bytes=5945,
    )
    c = conn(second)
    assert (c.duration, c.orig_bytes, c.resp_bytes, c.service) == (None, None, None, "dns")
    assert (third.source_ip, third.destination_ip) == ("fe80::1c5d:2bff:fe7e:8a4", "ff02::2")
    assert conn(third).history is None
    assert conn(third).duration == 0.0


def test_headerless_file_uses_default_columns() -> None:
    assert [e.id for e in events(ROWS)] == [
        "CHhAvVGS1DHFjwGM9",
        "C4J4Th3PJpwUYZZ6gc",
        "CtPZjS20MLrsMUOJi2",
    ]


IOT23_HEADER = (
    b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    b"#open\t2019-01-03-15-49-24\n"
    b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    b"\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"
    b"\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents   label"
    b"   detailed-label\n"
    b"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring"
    b"\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]   string   string\n"
)
IOT23_ROW = (
    b"1525879831.015811\tCUmrqr4svHuSXJy5z7\t192.168.100.103\t51524\t65.127.233.163\t23\ttcp\t-"
    b"\t2.999051\t0\t0\tS0\t-\t-\t0\tS\t3\t180\t0\t0\t-   Malicious   PartOfAHorizontalPortScan\n"
)


@pytest.mark.parametrize(
    "text", [IOT23_HEADER + IOT23_ROW, IOT23_ROW], ids=["header", "headerless"]
)
def test_iot23_labelled_line(text: bytes) -> None:
    (event,) = events(text)
    assert event.id == "CUmrqr4svHuSXJy5z7"
    assert (event.destination_ip, event.destination_port) == ("65.127.233.163", 23)
    c = conn(event)
    assert (c.duration, c.conn_state, c.history, c.orig_pkts) == (2.999051, "S0", "S", 3)


def test_iot23_labels_as_tab_columns_and_extra_columns() -> None:
    row = IOT23_ROW.replace(b"   ", b"\t")
    assert [e.id for e in events(IOT23_HEADER + row)] == ["CUmrqr4svHuSXJy5z7"]
    assert [e.id for e in events(row)] == ["CUmrqr4svHuSXJy5z7"]
    assert [e.id for e in events(HEADER + row)] == ["CUmrqr4svHuSXJy5z7"]


def test_fields_order_is_honoured() -> None:
    text = (
        b"#fields\tuid\tproto\tid.resp_p\tid.resp_h\tid.orig_p\tid.orig_h\tts\tcommunity_id\n"
        b"Cabc\tudp\t53\t192.0.2.53\t40000\t10.1.1.1\t1700000000.5\t1:abc=\n"
    )
    (event,) = events(text)
    assert (event.id, event.timestamp) == ("Cabc", 1700000000.5)
    assert (event.source_ip, event.source_port) == ("10.1.1.1", 40000)
    assert (event.destination_ip, event.destination_port) == ("192.0.2.53", 53)
    assert conn(event) == Connection(uid="Cabc", proto="udp")


def test_separator_and_null_markers_are_honoured() -> None:
    text = (
        b"#separator \\x2c\n"
        b"#unset_field,NULL\n"
        b"#empty_field,EMPTY\n"
        b"#fields,ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration\n"
        b"1700000000,Cx,10.0.0.1,1,10.0.0.2,2,tcp,NULL,EMPTY\n"
        b"1700000000,Cy,10.0.0.1,1,10.0.0.2,2,tcp,http,-\n"
    )
    first, second = events(text)
    assert (conn(first).service, conn(first).duration) == (None, None)
    assert (conn(second).service, conn(second).duration) == ("http", None)


def test_literal_separator() -> None:
    text = b"#separator |\n#fields|ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto\n"
    (event,) = events(text + b"1700000000|Cz|10.0.0.1|1|10.0.0.2|2|tcp\n")
    assert event.id == "Cz"


def test_json_lines() -> None:
    text = [
        b'{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76",'
        b'"id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns",'
        b'"duration":0.06685185432434082,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF",'
        b'"missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,'
        b'"resp_ip_bytes":197,"ip_proto":17}\n',
        b'{"ts":"2020-06-05T14:39:59.305988Z","uid":"CdUO8t3xMSo5u0GDIf","id.orig_h":"10.0.0.1",'
        b'"id.orig_p":"1234","id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","local_orig":true}\n',
    ]
    first, second = events(text)
    assert first.id == "CMdzit1AMNsmfAIiQc"
    assert first.timestamp == 1591367999.305988
    assert (first.source_port, first.destination_port) == (36844, 53)
    assert conn(first) == Connection(
        uid="CMdzit1AMNsmfAIiQc",
        proto="udp",
        service="dns",
        duration=0.06685185432434082,
        orig_bytes=62,
        resp_bytes=141,
        conn_state="SF",
        history="Dd",
        orig_pkts=2,
        resp_pkts=2,
        orig_ip_bytes=118,
        resp_ip_bytes=197,
    )
    assert second.timestamp == 1591367999.305988
    assert second.source_port == 1234
    assert conn(second) == Connection(uid="CdUO8t3xMSo5u0GDIf", proto="tcp")


ROW = ROWS.splitlines()[0]


def with_field(index: int, value: bytes) -> bytes:
    fields = ROW.split(b"\t")
    fields[index] = value
    return b"\t".join(fields)


JSON = (
    b'{"ts":1591367999.3,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2",'
    b'"id.resp_p":2,"proto":"tcp"'
)


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (ROW.rsplit(b"\t", 3)[0], "bad-line", "has 18 fields, expected 21"),
        (b"hello world", "bad-line", "has 1 fields"),
        (ROW.replace(b"\t", b" "), "bad-line", "wrong #separator"),
        (with_field(0, b"yesterday"), "bad-field", "bad time"),
        (with_field(0, b"-"), "missing-field", "'ts'"),
        (with_field(1, b"-"), "missing-field", "'uid'"),
        (with_field(1, b"(empty)"), "missing-field", "'uid'"),
        (with_field(1, b""), "missing-field", "'uid'"),
        (JSON.replace(b'"C1"', b'""') + b"}", "missing-field", "'uid'"),
        (with_field(2, b"10.0.0.300"), "bad-field", "id.orig_h"),
        (with_field(2, "1\u0662\u0663.0.0.1".encode()), "bad-field", "id.orig_h"),
        (with_field(3, b"70000"), "bad-field", "bad port"),
        (with_field(4, b"example.org"), "bad-field", "id.resp_h"),
        (with_field(5, b"-"), "missing-field", "'id.resp_p'"),
        (with_field(6, b"-"), "missing-field", "'proto'"),
        (with_field(8, b"nan"), "bad-field", "'duration'"),
        (with_field(8, b"-1.5"), "bad-field", "'duration'"),
        (with_field(8, b"1e999"), "bad-field", "'duration'"),
        (with_field(9, b"12k"), "bad-field", "'orig_bytes'"),
        (with_field(10, b"-5"), "bad-field", "'resp_bytes'"),
        (with_field(16, "\u00b2".encode()), "bad-field", "'orig_pkts'"),
        (with_field(17, b"9" * 25), "bad-field", "'orig_ip_bytes'"),
        (JSON, "bad-json", "invalid JSON"),
        (JSON + b"}}", "bad-json", "invalid JSON"),
        (b'{"uid": ["C1"]}', "bad-field", "'uid' is list"),
        (b'{"id.orig_h": "10.0.0.1"}', "missing-field", "'uid'"),
        (JSON.replace(b'"uid":"C1",', b"") + b"}", "missing-field", "'uid'"),
        (JSON.replace(b'"ts":1591367999.3,', b"") + b"}", "missing-field", "'ts'"),
        (JSON + b',"orig_bytes":-1}', "bad-field", "'orig_bytes'"),
        (JSON + b',"orig_bytes":true}', "bad-field", "'orig_bytes'"),
        (JSON + b',"orig_bytes":' + b"9" * 30 + b"}", "bad-field", "2**63-1"),
        (with_field(17, b"9223372036854775808"), "bad-field", "2**63-1"),
        (JSON + b',"duration":"fast"}', "bad-field", "'duration'"),
        (JSON + b',"service":5}', "bad-field", "'service'"),
        (JSON.replace(b'"id.orig_p":1', b'"id.orig_p":1.5') + b"}", "bad-field", "bad port"),
        (JSON.replace(b"1591367999.3", b"1e300") + b"}", "bad-field", "out of range"),
        (JSON.replace(b"1591367999.3", b"true") + b"}", "bad-field", "bad time"),
    ],
)
def test_bad_lines(raw: bytes, code: str, reason: str) -> None:
    items = parse([*HEADER.splitlines(keepends=True), raw + b"\n", ROW])
    assert [type(i).__name__ for i in items] == ["DeadLetter", "Event"]
    dead = items[0]
    assert isinstance(dead, DeadLetter)
    assert dead.code == code
    assert reason in dead.reason
    assert (dead.position, dead.raw) == (9, raw + b"\n")
    assert (dead.source, dead.stage, dead.format) == ("conn.log", "ingest", "zeek-conn")


def test_largest_count() -> None:
    (event,) = events([with_field(17, b"9223372036854775807")])
    assert conn(event).orig_ip_bytes == 2**63 - 1


def test_json_array_line_is_not_an_object() -> None:
    (dead,) = parse([b"[1, 2]\n"])
    assert isinstance(dead, DeadLetter)
    assert dead.code == "bad-line"  # not JSON by its first character: a TSV line of 1 field


def test_header_and_blank_lines_yield_nothing() -> None:
    assert parse(HEADER + b"\n  \n#close\t2023-09-13-14-26-01\n# a comment\n") == []


def test_bad_header_lines_change_nothing() -> None:
    text = b"#separator\n#separator \\xZZ\n#fields\n#unset_field\n" + ROW
    assert [e.id for e in events(text)] == ["CHhAvVGS1DHFjwGM9"]


def test_new_header_replaces_the_old_one() -> None:
    other = b"#fields\tuid\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
    text = ZEEK6 + other + b"Cq\t1700000000\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\n"
    assert [e.id for e in events(text)][-1] == "Cq"


def test_too_long_line() -> None:
    raw = ROW + b"\t" + b"x" * MAX_RECORD_BYTES
    (dead,) = parse([raw])
    assert isinstance(dead, DeadLetter)
    assert (dead.code, dead.position) == ("too-long", 1)
