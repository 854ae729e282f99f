"""The ``zeek-dns`` adapter: Zeek dns.log as TSV (with or without header) and JSON."""

from __future__ import annotations

import json
import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.ingest import ADAPTERS, ZeekDnsAdapter
from citywatch.model import DeadLetter, DnsQuery, Event


def parse(text: bytes | list[bytes]) -> list[Event | DeadLetter]:
    lines = text.splitlines(keepends=True) if isinstance(text, bytes) else text
    return list(ZeekDnsAdapter().parse("dns.log", lines))


def events(text: bytes | list[bytes]) -> list[Event]:
    items = parse(text)
    assert all(isinstance(i, Event) for i in items), items
    return [i for i in items if isinstance(i, Event)]


def dns(event: Event) -> DnsQuery:
    assert isinstance(event.payload, DnsQuery)
    return event.payload


HEADER = (
    b"#separator \\x09\n"
    b"#set_separator\t,\n"
    b"#empty_field\t(empty)\n"
    b"#unset_field\t-\n"
    b"#path\tdns\n"
    b"#open\t2020-06-05-14-39-59\n"
    b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery"
    b"\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers"
    b"\tTTLs\trejected\n"
    b"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring"
    b"\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]"
    b"\tvector[interval]\tbool\n"
)
ROWS = (
    b"1591367999.305988\tCMdzit1AMNsmfAIiQc\t192.168.4.76\t36844\t192.168.4.1\t53\tudp\t8555"
    b"\t0.066851\ttestmyids.com\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t31.3.245.133"
    b"\t3600.000000\tF\n"
    b"1591368000.100000\tC8blOJ21azairPrWf8\t192.168.4.76\t40001\t192.168.4.1\t53\tudp\t17"
    b"\t0.012000\twww.example.org\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0"
    b"\twww.example.org.cdn.example.net,93.184.216.34\t300.000000,60.000000\tF\n"
    b"1591368001.200000\tCUM0KZ3MLUfNB0cl11\t10.20.0.42\t5353\t192.168.4.1\t53\tudp\t4242"
    b"\t0.020000\tq8x7w3kz0v9t2m1.duckdns.org\t1\tC_INTERNET\t16\tTXT\t3\tNXDOMAIN\tF\tF\tT\tT\t0"
    b"\t-\t-\tF\n"
    b"1591368002.300000\tCtPZjS20MLrsMUOJi2\tfe80::1c5d:2bff:fe7e:8a4\t5353\tff02::fb\t5353\tudp"
    b"\t0\t-\t_ipps._tcp.local\t1\tC_INTERNET\t12\tPTR\t-\t-\tF\tF\tF\tF\t0\t-\t-\tF\n"
)
ZEEK = HEADER + ROWS + b"#close\t2020-06-05-14-40-01\n"


def test_tsv_with_header() -> None:
    first, second, third, fourth = events(ZEEK)
    assert (first.id, first.timestamp, first.dataset) == (
        "CMdzit1AMNsmfAIiQc",
        1591367999.305988,
        "network.dns",
    )
    assert (first.source_ip, first.source_port) == ("192.168.4.76", 36844)
    assert (first.destination_ip, first.destination_port) == ("192.168.4.1", 53)
    assert dns(first) == DnsQuery(
        uid="CMdzit1AMNsmfAIiQc",
        proto="udp",
        trans_id=8555,
        rtt=0.066851,
        query="testmyids.com",
        qtype=1,
        qtype_name="A",
        rcode=0,
        rcode_name="NOERROR",
        answers=("31.3.245.133",),
        ttls=(3600.0,),
        rejected=False,
    )
    assert dns(second).answers == ("www.example.org.cdn.example.net", "93.184.216.34")
    assert dns(second).ttls == (300.0, 60.0)
    nx = dns(third)
    assert (nx.rcode_name, nx.qtype_name, nx.answers, nx.ttls) == ("NXDOMAIN", "TXT", (), ())
    unanswered = dns(fourth)
    assert (unanswered.rtt, unanswered.rcode, unanswered.rcode_name) == (None, None, None)
    assert fourth.source_ip == "fe80::1c5d:2bff:fe7e:8a4"


def test_headerless_file_uses_default_columns() -> None:
    assert [e.id for e in events(ROWS)][:2] == ["CMdzit1AMNsmfAIiQc", "C8blOJ21azairPrWf8"]


def test_set_separator_and_field_order_are_honoured() -> None:
    text = (
        b"#set_separator\t|\n"
        b"#fields\tuid\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tanswers"
        b"\tTTLs\n"
        b"Cq\t1700000000\t10.0.0.1\t1\t10.0.0.53\t53\ttcp\ta.example\tb,c.example|10.1.1.1\t5|7\n"
    )
    (event,) = events(text)
    assert dns(event).answers == ("b,c.example", "10.1.1.1")
    assert dns(event).ttls == (5.0, 7.0)
    assert dns(event).rejected is None


JSON = (
    b'{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76",'
    b'"id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","trans_id":8555,'
    b'"rtt":0.06685185432434082,"query":"testmyids.com","qclass":1,"qclass_name":"C_INTERNET",'
    b'"qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,'
    b'"RD":true,"RA":true,"Z":0,"answers":["31.3.245.133"],"TTLs":[3600.0],"rejected":false}'
)


def test_json_lines() -> None:
    first, second = events(
        [JSON, b'{"ts":"2020-06-05T14:39:59Z","uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":"9",'
         b'"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","rejected":true}']
    )  # fmt: skip
    d = dns(first)
    assert (d.rtt, d.answers, d.ttls, d.rejected) == (
        0.06685185432434082,
        ("31.3.245.133",),
        (3600.0,),
        False,
    )
    assert (second.timestamp, dns(second).rejected, dns(second).query) == (1591367999.0, True, None)


ROW = ROWS.splitlines()[1]


def with_field(index: int, value: bytes) -> bytes:
    fields = ROW.split(b"\t")
    fields[index] = value
    return b"\t".join(fields)


def with_json(**fields: object) -> bytes:
    rec = json.loads(JSON)
    rec.update(fields)
    return json.dumps(rec).encode()


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (ROW.rsplit(b"\t", 3)[0], "bad-line", "has 21 fields, expected 24"),
        (with_field(1, b"-"), "missing-field", "'uid'"),
        (with_field(0, b"-"), "missing-field", "'ts'"),
        (with_field(2, b"dns.example"), "bad-field", "id.orig_h"),
        (with_field(5, b"99999"), "bad-field", "bad port"),
        (with_field(6, b"-"), "missing-field", "'proto'"),
        (with_field(7, b"70000"), "bad-field", "'trans_id' is 70000"),
        (with_field(8, b"-0.5"), "bad-field", "'rtt'"),
        (with_field(12, b"A"), "bad-field", "'qtype'"),
        (with_field(14, b"65536"), "bad-field", "'rcode' is 65536"),
        (with_field(22, b"60.0,soon"), "bad-field", "'TTLs'"),
        (with_field(22, b"60.0,-"), "bad-field", "unset value"),
        (with_field(23, b"maybe"), "bad-field", "'rejected'"),
        (with_json(answers=[1234]), "bad-field", "'answers' holds 1234"),
        (with_json(answers={"a": 1}), "bad-field", "expected a list"),
        (with_json(TTLs=[60, None]), "bad-field", "unset value"),
        (with_json(TTLs=[float("inf")]), "bad-json", "invalid JSON"),
        (with_json(answers=["a"] * 300), "bad-field", "more than 256"),
        (with_json(rejected=1), "bad-field", "'rejected'"),
        (with_json(query=7), "bad-field", "'query' is int"),
        (with_json(uid=None), "missing-field", "'uid'"),
        (JSON[:-1], "bad-json", "invalid JSON"),
    ],
)
def test_bad_lines(raw: bytes, code: str, reason: str) -> None:
    items = parse([*HEADER.splitlines(keepends=True), raw + b"\n", ROW])
    assert [type(i).__name__ for i in items] == ["DeadLetter", "Event"], items
    dead = items[0]
    assert isinstance(dead, DeadLetter)
    assert dead.code == code
    assert reason in dead.reason, dead.reason
    assert (dead.position, dead.format) == (9, "zeek-dns")


def test_json_answers_as_text_is_one_answer() -> None:
    """A JSON writer that flattens vectors to text still gives the answers."""
    (event,) = events([with_json(answers="1.2.3.4,5.6.7.8", TTLs="60,60")])
    assert dns(event).answers == ("1.2.3.4", "5.6.7.8")


def test_registered() -> None:
    assert ADAPTERS["zeek-dns"] is ZeekDnsAdapter


SAMPLES = [*ROWS.splitlines(), JSON]


@st.composite
def dns_line(draw: st.DrawFn) -> bytes:
    """A header line, a sample, or a sample with one column or a few bytes changed."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.sampled_from(HEADER.splitlines()))
    line = draw(st.sampled_from(SAMPLES))
    if choice == 1:
        return line
    if choice == 2 and not line.startswith(b"{"):
        cols = line.split(b"\t")
        i = draw(st.integers(0, len(cols) - 1))
        cols[i] = draw(st.sampled_from([b"-", b"", b"(empty)", b"1e999", b"a,b", b"\xff", b"-1"]))
        return b"\t".join(cols)
    data = bytearray(line)
    at = draw(st.integers(0, len(data)))
    data[at : at + draw(st.integers(0, 4))] = draw(st.binary(max_size=4))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(dns_line(), max_size=8))
def test_any_lines_give_one_event_or_dead_letter_per_record(lines: list[bytes]) -> None:
    records = [
        n for n, raw in enumerate(lines, 1) if raw.strip() and not raw.lstrip().startswith(b"#")
    ]
    items = parse(lines)
    assert len(items) == len(records)
    for item, lineno in zip(items, records, strict=True):
        if isinstance(item, DeadLetter):
            assert item.position == lineno
            assert item.reason
        else:
            assert math.isfinite(item.timestamp)
            assert msgspec.json.decode(msgspec.json.encode(item), type=Event) == item
