"""The access-log fast path of web-attacks remembers findings per part of a request, exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.detect.portal.request import parse_request
from citywatch.detect.portal.signatures import WebAttackConfig, WebAttackSignatures
from citywatch.model import Event, HttpRequest


def _event(uri: str, agent: str | None = "Mozilla/5.0", **kw: object) -> Event:
    return Event(
        id=uri,
        timestamp=0.0,
        dataset="portal.access",
        payload=HttpRequest(method="GET", uri=uri, version="HTTP/1.1", user_agent=agent, **kw),  # type: ignore[arg-type]
    )


def test_repeated_requests_give_the_same_findings_and_different_ones_do_not_mix() -> None:
    det = WebAttackSignatures()
    attack = _event("/traffic/incidents?district=1%27%20UNION%20SELECT%20password%20FROM%20users--")
    first, again = det.inspect(attack), det.inspect(attack)
    assert first and first == again
    assert first is not again, "callers get their own list"
    assert det.inspect(_event("/traffic/incidents?district=1")) == []
    scanner = det.inspect(_event("/traffic/incidents?district=1", agent="sqlmap/1.8#stable"))
    assert [h.attack_class for h in scanner] == ["scanner"]
    assert det.inspect(_event("/traffic/incidents?district=1", status=500, bytes_out=9)) == []


def test_a_logged_request_is_found_as_its_line_then_its_agent_then_its_referrer() -> None:
    det = WebAttackSignatures()
    line = "/traffic/incidents?district=1%27%20UNION%20SELECT%20password%20FROM%20users--"
    both = _event(
        line, agent="sqlmap/1.8", referrer="https://x.example/?q=<script>alert(1)</script>"
    )
    assert [h.attack_class for h in det.inspect(both)] == ["sqli", "scanner", "xss"]
    assert [h.location for h in det.inspect(both)] == [
        "param:district",
        "header:User-Agent",
        "header:Referer",
    ]
    again = _event("/a?x=<script>alert(2)</script>", agent="sqlmap/1.8")
    assert [h.attack_class for h in det.inspect(again)] == ["xss", "scanner"]


_PIECES = st.sampled_from(
    [
        "/a",
        "/documents/../../etc/passwd",
        "?",
        "&",
        "=",
        "q=1",
        "%27%20OR%201=1--",
        "%",
        "%zz",
        "%00",
        "%E2%80%AE",
        "<script>",
        "${jndi:ldap://x/a}",
        "() { :; };",
        "sqlmap/1.7",
        "Nikto",
        "http://169.254.169.254/",
        "İ",
        "ß",
        " ",
        "-",
        "x" * 9000,
        "?" + "p=1&" * 255,
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=6).map("".join)
_DETECTOR = WebAttackSignatures(WebAttackConfig(sensitivity=4))


@settings(max_examples=400, deadline=None)
@given(
    uri=_TEXT,
    agent=st.one_of(st.none(), _TEXT),
    referrer=st.one_of(st.none(), _TEXT),
    method=st.sampled_from(["GET", "POST", "TRACE", "G3T"]),
)
def test_logged_requests_find_what_the_whole_request_shows(
    uri: str, agent: str | None, referrer: str | None, method: str
) -> None:
    req = HttpRequest(
        method=method, uri=uri, version="HTTP/1.1", user_agent=agent, referrer=referrer
    )
    event = Event(id="e", timestamp=0.0, dataset="portal.access", payload=req)
    assert _DETECTOR.inspect(event) == _DETECTOR.findings(parse_request(req))
