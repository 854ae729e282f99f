"""Properties every registered adapter must have: any bytes in, one event or dead letter out.

For each adapter in ``citywatch.ingest.ADAPTERS`` and arbitrary input lines
(random bytes, text, JSON-ish records, and valid samples of every format with
mutations), parsing never raises, yields in order exactly one Event or one
DeadLetter per record line, and every event encodes to JSON and back.
"""

from __future__ import annotations

import json
import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.ingest import ADAPTERS, MAX_RECORD_BYTES
from citywatch.ingest.fields import decode_text
from citywatch.ingest.posts import mask_authors
from citywatch.ingest.tables import csv_header
from citywatch.ingest.zonecounts import DROPPED, mask_identifiers
from citywatch.model import DeadLetter, Event
from citywatch.model.deadletter import RAW_LIMIT

HEADER_PREFIX = {"zeek-conn": "#", "zeek-dns": "#"}
"""Adapters whose lines starting with this are headers or comments, not records."""
TABLES = {"zone-counts": ("time",), "gate-counts": ("time",), "exposure": ("lat", "lon")}
"""CSV-or-JSONL adapters: a first non-blank line naming these columns is a CSV header."""

CODES = {"bad-json", "bad-line", "missing-field", "bad-field", "too-long"}

ZEEK_FIELDS = (
    b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    b"\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"
    b"\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents   label   detailed-label"
)
TSV_SAMPLES = [
    b'203.0.113.9 - alice [10/Oct/2026:13:55:36 +0200] "GET /tax?id=7 HTTP/1.1" 200 2326 '
    b'"https://portal.example/" "Mozilla/5.0 (X11; Linux x86_64)"',
    b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    b'2001:db8::1 - - [10/Oct/2026:11:55:36 +0000] "GET /q=\\x22\\xC3\\xA9 HTTP/1.1" 404 0 "-" "-"',
    b'192.0.2.10 - - [10/Oct/2026:11:55:36 +0000] "\\x16\\x03\\x01\\x00\\xF4\\x01" 400 157 "-" "-"',
    b"1694615138.866004\tCHhAvVGS1DHFjwGM9\t10.0.0.5\t59932\t93.184.216.34\t443\ttcp\tssl"
    b"\t0.283722\t1062\t5413\tSF\tT\tF\t0\tShADadFf\t12\t1698\t10\t5945\t-",
    b"1694615140.5\tCtPZjS20MLrsMUOJi2\tfe80::1c5d:2bff:fe7e:8a4\t133\tff02::2\t134\ticmp"
    b"\t-\t0.000000\t0\t0\tOTH\tT\tF\t0\t-\t1\t56\t0\t0\t(empty)",
    b"1525879831.015811\tCUmrqr4svHuSXJy5z7\t192.168.100.103\t51524\t65.127.233.163\t23\ttcp\t-"
    b"\t2.999051\t0\t0\tS0\t-\t-\t0\tS\t3\t180\t0\t0\t-   Malicious   PartOfAHorizontalPortScan",
    b"#separator \\x09",
    b"#separator \\x2c",
    b"#separator |",
    b"#unset_field\tNULL",
    b"#empty_field\t(empty)",
    ZEEK_FIELDS,
    b"#fields\tuid\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto",
    b"#close\t2023-09-13-14-26-01",
    b"1591367999.305988\tCMdzit1AMNsmfAIiQc\t192.168.4.76\t36844\t192.168.4.1\t53\tudp\t8555"
    b"\t0.066851\twww.example.org\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0"
    b"\twww.example.org.cdn.example.net,93.184.216.34\t300.000000,60.000000\tF",
]
JSON_SAMPLES = [
    b'{"time_iso8601":"2026-10-10T13:55:36+02:00","remote_addr":"203.0.113.9","request":"POST '
    b'/login HTTP/1.1","status":"401","body_bytes_sent":"17","http_user_agent":"curl/8.5.0"}',
    b'{"time_local":"10/Oct/2026:13:55:36 +0200","remote_addr":"2001:db8::7","request_method":'
    b'"GET","request_uri":"/a?b=1","server_protocol":"HTTP/1.1","status":200,"msec":"1.5"}',
    b'{"id":"r-1","method":"POST","uri":"/login","version":"HTTP/1.1","headers":[["Host","x"],'
    b'["User-Agent","curl/8.5.0"]],"body":"a=1","@timestamp":"2026-03-01T10:00:00Z",'
    b'"source.ip":"203.0.113.9"}',
    b'{"id":7,"method":"GET","uri":"/","headers":{"Referer":"https://x/"},"body":{"a":[1]},'
    b'"source":{"ip":"2001:db8::9"},"@timestamp":1772359200}',
    b'{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76",'
    b'"id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns",'
    b'"duration":0.066,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF","history":"Dd",'
    b'"orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,"resp_ip_bytes":197}',
    b'{"topic":"city/camera/cam-1/telemetry","time":"2026-03-14T08:00:00Z","device_id":"cam-1",'
    b'"type":"login","user":"root","result":"failure","method":"telnet","source.ip":"10.0.0.9",'
    b'"mac":"00:1a:2b:3c:4d:5e","fw_build":7}',
    b'{"topic":"city/meter/m-1/telemetry","time":1773475200.5,"device_id":"m-1","type":"metrics",'
    b'"cpu":97.5,"mem":"41","temperature":-4.5,"tx_bytes":123456789,"connections":3}',
    b'{"ts":1591367999.3,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,'
    b'"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","trans_id":8555,"query":"a.example",'
    b'"qtype_name":"A","rcode_name":"NOERROR","answers":["93.184.216.34"],"TTLs":[60.0],'
    b'"rejected":false}',
    b'{"time":"2026-03-14T10:00:00Z","venue":"arena","zone":"north-stand","source":"wifi",'
    b'"count":812,"interval_s":60}',
    b'{"id":"zc-9","time":1773482400,"venue":"arena","zone":"concourse-n","source":"wifi",'
    b'"devices":["AA:BB:CC:00:11:22","aa:bb:cc:00:11:22","262011234567890"]}',
    b'{"time":"2026-03-14T10:00:00+01:00","venue":"arena","gate":"g1","in":120,"out":"4"}',
    b'{"id":"t-1","time":"2026-03-14T13:06:03.4Z","lat":45.81,"lon":15.98,"pga_g":0.012,'
    b'"device":"ph-9f2c","device_class":"phone"}',
    b'{"id":"r-1","time":1773490000,"lat":45.81,"lon":15.98,"felt":1,"motion":3,"reaction":2,'
    b'"stand":0,"shelf":1,"picture":0,"furniture":0,"damage":0.5}',
    b'{"id":"r-2","time":"2026-03-14T13:10:00Z","postcode":"10020","felt":1,"motion":"2"}',
    b'{"type":"Feature","properties":{"kind":"school","id":"s1","name":"North School",'
    b'"population":600,"vulnerability":"B"},"geometry":{"type":"Point","coordinates":[15.9,45.8]}}',
    b'{"type":"Feature","properties":{"id":"d1","postcode":"10010","population":21000},'
    b'"geometry":{"type":"Polygon","coordinates":[[[15.9,45.8],[16.0,45.8],[16.0,45.9]]]}}',
    b'{"id":"p-1","created_at":"2026-03-14T10:00:00+01:00","text":"Fire at Kaptolje!","lang":"en",'
    b'"author":"someone","geo":{"lat":45.83,"lon":16.01},"url":"https://x/p-1","reply_to":"p-0"}',
    b'{"id":"109","created_at":"2026-03-14T09:00:00.000Z","visibility":"public","language":"en",'
    b'"content":"<p>Smoke over <a href=\\"#\\">#Kaptolje</a></p>","account":{"acct":"a@b.c"},'
    b'"url":"https://m.example/@a/109","in_reply_to_id":null,"reblog":null}',
]
FEED_SAMPLES = [
    b'<rss version="2.0"><channel><title>Aldmere Daily</title><item><guid>n-1</guid>'
    b"<title>Fire at the Port Market Hall</title><pubDate>Sat, 14 Mar 2026 10:10:00 +0100"
    b"</pubDate></item></channel></rss>",
]
SAMPLES = TSV_SAMPLES + JSON_SAMPLES + FEED_SAMPLES

ODD_VALUES = [
    "", "-", "(empty)", "nan", "NaN", "inf", "-inf", "1e400", "-1", "0", "65536",
    "99999999999999999999999", "1" * 5000, "\u0663", "\u00b2", "::", "::1", "1.2.3.4",
    "10/Oct/2026:13:55:36 +0200", "2026-13-40T99:00:00Z", "\\x22", "\\", '"', "\t", " ",
    "\x00", "\udcff", "\U0001f600",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(ODD_VALUES),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lone surrogates give invalid UTF-8


@st.composite
def json_text(draw: st.DrawFn, value: object) -> bytes:
    """``value`` as JSON (NaN as ``NaN``), escaped to ASCII or not, surrogates kept."""
    return encode_text(json.dumps(value, ensure_ascii=draw(st.booleans())))


@st.composite
def json_mutation(draw: st.DrawFn) -> bytes:
    """A valid JSON sample with one field replaced, removed or added."""
    rec = msgspec.json.decode(draw(st.sampled_from(JSON_SAMPLES)))
    key = draw(st.sampled_from(sorted(rec)) | st.text(max_size=8))
    if key in rec and draw(st.booleans()):
        del rec[key]
    else:
        rec[key] = draw(json_values)
    return draw(json_text(rec))


@st.composite
def column_mutation(draw: st.DrawFn) -> bytes:
    """A TSV sample (Zeek or access log) with one column replaced."""
    sample = draw(st.sampled_from(TSV_SAMPLES))
    sep = b"\t" if b"\t" in sample else b" "
    columns = sample.split(sep)
    i = draw(st.integers(0, len(columns) - 1))
    columns[i] = encode_text(draw(st.sampled_from(ODD_VALUES) | st.text(max_size=10)))
    return sep.join(columns)


@st.composite
def byte_mutation(draw: st.DrawFn) -> bytes:
    """A sample with a few bytes deleted, inserted or replaced, or cut short."""
    line = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        if op == "delete":
            del line[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            line[at:at] = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(SPECIAL))
        elif op == "replace":
            line[at : at + 1] = draw(st.binary(min_size=1, max_size=1) | st.sampled_from(SPECIAL))
        else:
            del line[at:]
    return bytes(line)


SPECIAL = [b"\t", b" ", b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"#", b"-", b"\xff", b"\n"]

newline_free_text = st.text(st.characters(exclude_characters="\r\n"), max_size=120)
any_line = st.one_of(
    st.binary(max_size=120),
    newline_free_text.map(encode_text),
    json_values.flatmap(json_text),
    st.sampled_from(SAMPLES),
    byte_mutation(),
    json_mutation(),
    column_mutation(),
)


def is_record(adapter: str, raw: bytes) -> bool:
    """Whether ``raw`` must give one item: blank lines and header lines give none."""
    if len(raw) > MAX_RECORD_BYTES:
        return True
    text = decode_text(raw).strip()
    prefix = HEADER_PREFIX.get(adapter)
    return bool(text) and not (prefix is not None and text.startswith(prefix))


def records_of(adapter: str, lines: list[bytes]) -> list[int]:
    """The line numbers that must give one item each."""
    records = [n for n, raw in enumerate(lines, 1) if is_record(adapter, raw)]
    needs = TABLES.get(adapter)
    if needs and records and csv_header(lines[records[0] - 1], needs) is not None:
        records.pop(0)  # the CSV header
    return records


AUTHOR_MASKED = {"posts-jsonl", "mastodon"}
"""Adapters of posts: a dead letter keeps the record with its author identifiers masked."""


def kept_raw(adapter: str, raw: bytes) -> set[bytes]:
    """What a dead letter may keep of ``raw``: zone counts mask devices, posts their authors."""
    if adapter == "zone-counts":
        return {mask_identifiers(raw[:RAW_LIMIT]), DROPPED}
    if adapter in AUTHOR_MASKED:
        return {mask_authors(raw)[:RAW_LIMIT]}
    return {raw[:RAW_LIMIT]}


DOCUMENT_START = {"mastodon": b"[", "news-feed": b""}
"""Adapters that read the whole input as one document when its first record starts so."""


def check(adapter: str, lines: list[bytes]) -> None:
    items = list(ADAPTERS[adapter]().parse("f", lines))
    start = DOCUMENT_START.get(adapter)
    first = next((raw for raw in lines if raw.strip()), b"")
    if start is not None and first.lstrip().startswith(start):
        for item in items:  # one document: any number of records, each an event or dead letter
            assert isinstance(item, Event | DeadLetter)
            if isinstance(item, DeadLetter):
                assert item.code in {*CODES, "bad-feed"} and item.reason
            else:
                assert item.dataset == ADAPTERS[adapter].dataset
                assert msgspec.json.decode(msgspec.json.encode(item), type=Event) == item
        return
    records = records_of(adapter, lines)
    assert len(items) == len(records)
    for item, lineno in zip(items, records, strict=True):
        if isinstance(item, DeadLetter):
            assert item.position == lineno
            assert item.raw in kept_raw(adapter, lines[lineno - 1])
            assert item.code in CODES
            assert item.reason
            assert (item.source, item.stage, item.format) == ("f", "ingest", adapter)
            msgspec.json.encode(item)
        else:
            assert isinstance(item, Event)
            assert math.isfinite(item.timestamp)
            assert item.id
            assert item.dataset == ADAPTERS[adapter].dataset
            assert msgspec.json.decode(msgspec.json.encode(item), type=Event) == item


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@settings(max_examples=200, deadline=None)
@given(lines=st.lists(any_line, max_size=12))
def test_any_lines_give_one_event_or_dead_letter_per_record(
    adapter: str, lines: list[bytes]
) -> None:
    check(adapter, lines)


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(SAMPLES) | column_mutation() | json_mutation(), max_size=8))
def test_near_valid_lines(adapter: str, lines: list[bytes]) -> None:
    check(adapter, lines)


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_samples_of_its_own_format_are_events(adapter: str) -> None:
    """The valid samples each adapter should accept do give events (so the fuzzing starts valid)."""
    own = {
        "access-log": TSV_SAMPLES[:4] + JSON_SAMPLES[:2],
        "http-jsonl": JSON_SAMPLES[2:4],
        "zeek-conn": TSV_SAMPLES[4:7] + JSON_SAMPLES[4:5],
        "mqtt-jsonl": JSON_SAMPLES[5:7],
        "zeek-dns": TSV_SAMPLES[15:16] + JSON_SAMPLES[7:8],
        "zone-counts": JSON_SAMPLES[8:10],
        "gate-counts": JSON_SAMPLES[10:11],
        "phone-triggers": JSON_SAMPLES[11:12],
        "felt-reports": JSON_SAMPLES[12:14],
        "exposure": JSON_SAMPLES[14:16],
        "posts-jsonl": JSON_SAMPLES[16:17],
        "mastodon": JSON_SAMPLES[17:18],
        "news-feed": FEED_SAMPLES,
    }.get(adapter)
    if own is None:
        pytest.skip(f"no samples for {adapter}")
    items = list(ADAPTERS[adapter]().parse("f", own))
    assert all(isinstance(i, Event) for i in items), items
    assert len(items) == len(own)
