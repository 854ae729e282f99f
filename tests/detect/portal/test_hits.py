from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from citywatch.detect import DetectorRunner
from citywatch.detect.portal.hits import Hit, HitDetector, MergeConfig, linked_from
from citywatch.enrich import Enricher
from citywatch.model import Detection, Event, HttpRequest


class _Quotes(HitDetector):
    """Flags quotes (class a) and angle brackets (class b) anywhere in the URI."""

    name: ClassVar[str] = "quotes"
    description: ClassVar[str] = "test"
    config_model: ClassVar[type[BaseModel]] = MergeConfig

    def inspect(self, event: Event) -> list[Hit]:
        assert isinstance(event.payload, HttpRequest)
        uri = event.payload.uri
        hits = []
        for cls, rule, char, sev in (
            ("a", "a", "'", 40),
            ("a", "a2", '"', 40),
            ("b", "b", "<", 60),
        ):
            if char in uri:
                hits.append(
                    Hit(
                        attack_class=cls,
                        rule_id=f"r.{rule}",
                        rule_name=f"Rule {rule}",
                        technique="T1190",
                        location="param:q",
                        snippet=uri[-8:],
                        severity=sev,
                        confidence=0.8,
                    )
                )
        return hits


def _events(enricher: Enricher, n: int, ip: str, uri: str, t0: float = 0.0) -> list[Event]:
    return [
        enricher(
            Event(
                id=f"{ip}-{t0}-{i}",
                timestamp=t0 + i,
                dataset="portal.http",
                source_ip=ip,
                payload=HttpRequest(method="GET", uri=f"{uri}{i}"),
            )
        )
        for i in range(n)
    ]


def _run(events: list[Event]) -> list[Detection]:
    runner = DetectorRunner(_Quotes(), lambda *a: (_ for _ in ()).throw(AssertionError(a)))
    out: list[Detection] = []
    for event in events:
        runner.process(event, out)
    runner.flush(out)
    return list({d.id: d for d in out}.values())


def test_hits_merge_per_client_and_class(enricher: Enricher) -> None:
    events = (
        _events(enricher, 1000, "198.51.100.1", "/q?x='")
        + _events(enricher, 10, "198.51.100.2", "/q?x='<", t0=5)
        + _events(enricher, 5, "10.0.0.1", "/clean")
    )
    events.sort(key=lambda e: e.timestamp)
    dets = _run(events)
    assert sorted((d.entity["source.ip"], d.rule_id) for d in dets) == [
        ("198.51.100.1", "r.a"),
        ("198.51.100.2", "r.a"),
        ("198.51.100.2", "r.b"),
    ]
    big = next(d for d in dets if d.entity["source.ip"] == "198.51.100.1")
    assert len(big.evidence) == 1000
    assert big.attributes["portal"]["requests"] == 1000
    assert len(big.attributes["portal"]["samples"]) == 8
    assert big.severity == 50 and big.entity["target"] == "portal"


def test_more_kinds_of_finding_from_one_client_are_more_severe(enricher: Enricher) -> None:
    one_kind = _run(_events(enricher, 4, "198.51.100.4", "/q?x='"))
    two_kinds = _run(
        _events(enricher, 2, "198.51.100.5", "/q?x='")
        + _events(enricher, 2, "198.51.100.5", '/q?x="', t0=10)
    )
    assert [d.severity for d in one_kind] == [40]
    assert [(d.rule_id, d.severity) for d in two_kinds] == [("r.a", 45)]
    assert two_kinds[0].attributes["portal"]["rules"] == {"r.a": 2, "r.a2": 2}
    # named by its worst rule, it says what it mostly did ("SQL injection: stacked query" was
    # the name of 77 requests of which one was a stacked query)
    assert two_kinds[0].summary.endswith("4 requests; by kind: Rule a 2, Rule a2 2")
    assert "by kind" not in one_kind[0].summary


def test_idle_gap_splits_episodes(enricher: Enricher) -> None:
    events = _events(enricher, 3, "198.51.100.3", "/q?'") + _events(
        enricher, 3, "198.51.100.3", "/q?'", t0=5000
    )
    dets = _run(events)
    assert len(dets) == 2
    assert [len(d.evidence) for d in dets] == [3, 3]


def test_requests_that_name_no_client_are_no_one_client_and_link_nothing() -> None:
    # Records without an address were all "from one client", entity source.pseudonym
    # "unknown-client": the correlator then linked every such detection into one incident.
    from citywatch.correlate import Correlator  # noqa: PLC0415

    events = [
        Event(id=f"n{i}", timestamp=float(i), dataset="portal.http",
              payload=HttpRequest(method="GET", uri=f"/q?x='{i}"))
        for i in range(3)
    ]  # fmt: skip
    (found,) = _run(events)
    assert "source.pseudonym" not in found.entity and "source.ip" not in found.entity
    assert "clients the records do not name" in found.summary
    late = Event(id="n9", timestamp=5000.0, dataset="portal.http",
                 payload=HttpRequest(method="GET", uri="/q?x=<"))  # fmt: skip
    correlator = Correlator()
    for detection in [found, *_run([late])]:
        correlator.add(detection)
    assert len(correlator.incidents()) == 2


def _from(referrer: str) -> str:
    get = HttpRequest(method="GET", uri="/x", referrer=referrer)
    return linked_from(Event(id="1", timestamp=0.0, dataset="portal.http", payload=get))


def test_the_linking_page_is_its_host_alone_and_only_a_host() -> None:
    # the host a browser would name: not the query a path-less Referer carries (a token, an
    # address), nor a port, userinfo, a trailing dot, nor a backslash's tail
    for referrer in (
        "https://forum.example.net?t=9&mail=ana%40example.org",
        "https://forum.example.net#top",
        "https://u:p@Forum.Example.net:443/t/9",
        "https://forum.example.net./t/9",
        "https://forum.example.net?@evil.example/",
        "https://forum.example.net\\@evil.example/",
    ):
        assert _from(referrer) == "forum.example.net", referrer
    assert _from("https://[2001:DB8::1]:8443/x") == "[2001:db8::1]"
    # what is no host names no page (and puts no made-up text in a measure)
    for referrer in ("https://a b/x", "https://a\x00b/", "https://" + "a" * 300, "https:///x", "-"):
        assert _from(referrer) == "", referrer
