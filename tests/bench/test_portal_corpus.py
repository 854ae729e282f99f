"""The labelled portal corpus, its evasion generator and the benchmark's bookkeeping.

The peers themselves (ModSecurity + CRS, libinjection) are installed by
``make bench`` only; here the code around them must import and report a
missing or failing peer instead of crashing.
"""

from __future__ import annotations

import doctest
from collections import Counter
from pathlib import Path
from random import Random

import pytest

import citywatch.plugins
from citywatch.bench import corpus as corpus_package
from citywatch.bench import portal, portal_peers
from citywatch.bench.corpus import (
    ATTACK_LABELS,
    ATTACKS,
    BENIGN,
    CLASSES,
    LOOKALIKE_LABELS,
    LOOKALIKES,
    REDTEAM,
    REDTEAM_LABELS,
    SIGNATURE_CLASSES,
    SIGNATURE_MINIMUM,
    TAMPERING_MINIMUM,
    HttpRecord,
    Label,
    encode_line,
    evasions,
    placing,
    read_labels,
    read_records,
)
from citywatch.bench.corpus.evasions import generate
from citywatch.bench.portal import ToolResult, run_peer, score
from citywatch.bench.portal_abuse import score_abuse
from citywatch.bench.portal_corpus import (
    HAND,
    LOOKALIKE,
    REDTEAM_ORIGIN,
    SIM,
    VARIANT,
    BenchCorpus,
    build,
)
from citywatch.bench.portal_pace import paced
from citywatch.bench.portal_peers import PeerUnavailableError, parameters
from citywatch.detect.portal.hits import Hit, HitDetector, MergeConfig
from citywatch.ingest.httpjsonl import HttpJsonlAdapter
from citywatch.model import Event, HttpRequest
from citywatch.simulate import simulate
from citywatch.simulate.abuse import TECHNIQUES as ABUSE_TECHNIQUES


def _parse(lines: list[bytes]) -> tuple[list[Event], list[object]]:
    events: list[Event] = []
    dead: list[object] = []
    for item in HttpJsonlAdapter().parse("corpus", lines):
        (events if isinstance(item, Event) else dead).append(item)  # type: ignore[arg-type]
    return events, dead


@pytest.fixture(scope="module")
def attacks() -> tuple[list[HttpRecord], list[Label]]:
    return read_records(ATTACKS), read_labels(ATTACK_LABELS)


@pytest.fixture(scope="module")
def variants(
    attacks: tuple[list[HttpRecord], list[Label]],
) -> list[tuple[HttpRecord, Label]]:
    return generate(*attacks)


@pytest.mark.parametrize(
    "path", [ATTACKS, LOOKALIKES, REDTEAM], ids=["attacks", "lookalikes", "red-team"]
)
def test_corpus_files_parse_with_no_dead_letters(path: Path) -> None:
    lines = path.read_bytes().splitlines()
    events, dead = _parse(lines)
    assert dead == []
    assert len(events) == len(lines) > 0
    assert all(isinstance(e.payload, HttpRequest) for e in events)


def test_variants_parse_with_no_dead_letters(variants: list[tuple[HttpRecord, Label]]) -> None:
    events, dead = _parse([encode_line(record) for record, _ in variants])
    assert dead == []
    assert len(events) == len(variants)


@pytest.mark.parametrize(
    ("records", "labels"),
    [(ATTACKS, ATTACK_LABELS), (LOOKALIKES, LOOKALIKE_LABELS), (REDTEAM, REDTEAM_LABELS)],
)
def test_labels_cover_every_id_exactly(records: Path, labels: Path) -> None:
    ids = [r.id for r in read_records(records)]
    labelled = [label.id for label in read_labels(labels)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(labelled)


def test_ids_are_unique_across_the_whole_corpus(
    variants: list[tuple[HttpRecord, Label]],
) -> None:
    ids = [r.id for path in (ATTACKS, LOOKALIKES, REDTEAM) for r in read_records(path)]
    ids += [record.id for record, _ in variants]
    assert len(ids) == len(set(ids))


def test_every_class_has_its_minimum_of_hand_written_requests() -> None:
    counts = Counter(label.cls for label in read_labels(ATTACK_LABELS))
    assert set(counts) == set(CLASSES)
    for cls in SIGNATURE_CLASSES:
        assert counts[cls] >= SIGNATURE_MINIMUM, cls
    assert counts["tampering"] >= TAMPERING_MINIMUM


@pytest.mark.parametrize(
    ("records", "labels"), [(ATTACKS, ATTACK_LABELS), (LOOKALIKES, LOOKALIKE_LABELS)]
)
def test_bodies_carry_their_true_length(records: Path, labels: Path) -> None:
    protocol = {label.id for label in read_labels(labels) if label.cls == "protocol"}
    for record in read_records(records):
        lengths = [v for k, v in record.headers if k.lower() == "content-length"]
        if record.id in protocol:  # lying about the length is the attack
            continue
        if record.body:
            assert lengths == [str(len(record.body.encode()))], record.id
        assert any(k.lower() == "host" for k, _ in record.headers), record.id


def test_the_red_team_covers_every_signature_class_and_some_look_alikes() -> None:
    counts = Counter(label.cls for label in read_labels(REDTEAM_LABELS))
    assert set(SIGNATURE_CLASSES) <= set(counts)
    assert all(counts[cls] >= 25 for cls in SIGNATURE_CLASSES)
    assert counts[BENIGN] >= 20
    addresses = [r.source_ip for r in read_records(REDTEAM)]
    assert len(addresses) == len(set(addresses)), "each request judged on its own"


def test_lookalikes_are_all_benign_and_cover_the_hard_cases() -> None:
    assert {label.cls for label in read_labels(LOOKALIKE_LABELS)} == {BENIGN}
    events, _ = _parse(LOOKALIKES.read_bytes().splitlines())
    text = "\n".join(
        value
        for e in events
        if isinstance(e.payload, HttpRequest)
        for value in parameters(e.payload)
    )
    for needle in ("O'Brien", "Õun", "Müller", "Ñúñez", "1=1", "<3", "select", "../", "union"):
        assert needle in text, needle


def test_each_placeable_label_points_at_its_payload(
    attacks: tuple[list[HttpRecord], list[Label]],
) -> None:
    records, labels = attacks
    by_id = {label.id: label for label in labels}
    placeable = 0
    for record in records:
        where = by_id[record.id].where
        assert where, record.id
        if placing.kind(where) in placing.PLACEABLE and placing.kind(where) != "json":
            assert placing.payload(record, where) is not None, (record.id, where)
            placeable += 1
    assert placeable > 250


def test_the_evasion_generator_is_deterministic(
    attacks: tuple[list[HttpRecord], list[Label]],
    variants: list[tuple[HttpRecord, Label]],
) -> None:
    again = generate(*attacks)
    assert [encode_line(r) for r, _ in again] == [encode_line(r) for r, _ in variants]
    assert [label for _, label in again] == [label for _, label in variants]
    other = generate(*attacks, seed=1)
    assert [encode_line(r) for r, _ in other] != [encode_line(r) for r, _ in variants]


def test_variants_differ_from_their_originals_and_keep_their_class(
    attacks: tuple[list[HttpRecord], list[Label]],
    variants: list[tuple[HttpRecord, Label]],
) -> None:
    originals = {r.id: r for r in attacks[0]}
    classes = {label.id: label.cls for label in attacks[1]}
    used = Counter(label.evasion for _, label in variants)
    assert set(used) == {e.name for e in evasions.EVASIONS}
    for record, label in variants:
        source = originals[label.of]
        assert label.cls == classes[label.of]
        assert label.id == record.id == f"{label.of}~{label.evasion}"
        assert (record.uri, record.body, record.headers) != (
            source.uri,
            source.body,
            source.headers,
        )
        length = dict((k.lower(), v) for k, v in record.headers).get("content-length")
        if length is not None and record.body:
            assert int(length) == len(record.body.encode())
    assert len({r.source_ip for r, _ in variants}) == len(variants)


def test_evasion_transforms() -> None:
    rng = Random(3)
    assert evasions.wire_double("query", "1' OR 1=1") == "1%2527%2520OR%25201%253D1"
    assert evasions.wire_double("json", "x") is None
    assert evasions.fullwidth("<svg>", rng) == "＜svg＞"
    assert evasions.fullwidth("plain", rng) is None
    assert evasions.jndi_nested("${jndi:ldap://e/a}", rng) is not None
    assert "${jndi:" not in (evasions.jndi_nested("${jndi:ldap://e/a}", rng) or "${jndi:")
    obfuscated = evasions.ip_obfuscation("http://127.0.0.1/x", Random(0))
    assert obfuscated in {"http://2130706433/x", "http://0x7f000001/x", "http://0177.00.00.01/x"}
    entity = evasions.html_entities('<a href="javascript:alert(1)">', rng) or ""
    assert "javascript" not in entity and "&#" in entity
    mixed = evasions.mixed_case("sqli")("1 union select 2", Random(5)) or ""
    assert mixed.lower() == "1 union select 2" and mixed != "1 union select 2"
    assert evasions.whitespace("cmdi")(";cat /etc/passwd", rng) == ";cat${IFS}/etc/passwd"
    assert evasions.json_string("a'b", escape_all=True) == '"a\\u0027b"'


def test_placing_into_json_and_cookies_keeps_the_rest() -> None:
    record = HttpRecord(
        id="r",
        timestamp="2026-03-14T08:00:00Z",
        source_ip="192.0.2.1",
        method="POST",
        uri="/api",
        headers=[("Cookie", "a=1; sid=x"), ("Content-Length", "26")],
        body='{"text":"hi","district":3}',
    )
    assert placing.payload(record, "json:text") == "hi"
    moved = placing.place(record, "json:text", '"h\\u0069"')
    assert moved.body == '{"text":"h\\u0069","district":3}'
    assert dict(moved.headers)["Content-Length"] == str(len(moved.body))
    assert placing.payload(record, "cookie:sid") == "x"
    assert dict(placing.place(record, "cookie:sid", "y").headers)["Cookie"] == "a=1; sid=y"
    assert placing.payload(record, "path") is None


def test_the_bench_corpus_splits_learning_from_testing(tmp_path: Path) -> None:
    corpus = build(tmp_path, seed=3, hours=0.5, residents=300)
    learn_ids = {r.id for r in _parse(corpus.learn.read_bytes().splitlines())[0]}
    events, dead = _parse(corpus.test.read_bytes().splitlines())
    assert dead == []
    assert {e.id for e in events} == set(corpus.labels)
    assert not learn_ids & set(corpus.labels)
    times = [e.timestamp for e in events]
    assert times == sorted(times)
    assert corpus.count(HAND) == len(read_records(ATTACKS))
    assert corpus.count(LOOKALIKE) == len(read_records(LOOKALIKES))
    assert corpus.count(VARIANT) > 500
    assert corpus.count(REDTEAM_ORIGIN) == len(read_records(REDTEAM))
    assert corpus.count(SIM) > 0
    assert corpus.address_clashes == 0


def _tiny_corpus() -> BenchCorpus:
    corpus = BenchCorpus(learn=Path("l"), test=Path("t"))
    for rid, cls, origin in (
        ("a1", "sqli", HAND),
        ("a2", "sqli", VARIANT),
        ("a3", "xss", HAND),
        ("b1", BENIGN, SIM),
        ("b2", BENIGN, LOOKALIKE),
    ):
        corpus.labels[rid] = cls
        corpus.origin[rid] = origin
    return corpus


def test_score_counts_detections_and_false_positives() -> None:
    result = ToolResult(name="t")
    score(result, _tiny_corpus(), {"a1", "b2", "not-labelled"})
    assert result.classes["sqli"].all.rate == 0.5
    assert result.classes["sqli"].hand_written.rate == 1.0
    assert result.classes["sqli"].variants.rate == 0.0
    assert result.classes["xss"].all.rate == 0.0
    assert result.classes["ssrf"].all.rate is None
    assert (result.detection.flagged, result.detection.total) == (1, 3)
    assert result.false_positives.rate == 0.5
    assert result.false_positives_sim.rate == 0.0
    assert result.false_positives_lookalikes.rate == 1.0
    assert result.missed == {"sqli": ["a2"], "xss": ["a3"]}
    assert result.false_positive_ids == ["b2"]


class _Broken:
    version = "broken 1.0"

    def flags(self, ip: str, request: HttpRequest) -> bool:
        raise RuntimeError("engine crashed")

    def close(self) -> None:
        pass


def _unavailable() -> _Broken:
    raise PeerUnavailableError("python package 'nope' is not installed")


def test_a_missing_or_failing_peer_is_reported_not_dropped() -> None:
    events = [
        Event(
            id="a1",
            timestamp=0.0,
            dataset="portal.http",
            observer="t",
            payload=HttpRequest(method="GET", uri="/"),
        )
    ]
    missing = run_peer(_unavailable, "nope", events, _tiny_corpus())
    assert missing.status == "unavailable"
    assert "not installed" in (missing.error or "")
    failed = run_peer(_Broken, "broken", events, _tiny_corpus())
    assert failed.status == "failed"
    assert "engine crashed" in (failed.error or "")


def test_peers_import_lazily() -> None:
    with pytest.raises(PeerUnavailableError, match="make bench"):
        portal_peers._import("citywatch_no_such_module", "no-such-package")


def test_parameters_reach_every_name_and_value() -> None:
    request = HttpRequest(
        method="POST",
        uri="/tax/file?year=2025",
        headers=(
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", "sid=abc; lang=hr"),
        ),
        body="full_name=Se%C3%A1n+O%27Brien&amount=10.00",
    )
    assert list(parameters(request)) == [
        "year",
        "2025",
        "full_name",
        "Seán O'Brien",
        "amount",
        "10.00",
        "sid",
        "abc",
        "lang",
        "hr",
    ]


class _UnionDetector(HitDetector):
    """A stand-in signature detector: flags ``union`` anywhere in the URI or body."""

    name = "bench-test-union"
    description = "test only"
    config_model = MergeConfig
    datasets = frozenset({"portal.http"})

    def inspect(self, event: Event) -> list[Hit]:
        request = event.payload
        assert isinstance(request, HttpRequest)
        if "union" not in (request.uri + request.body).lower():
            return []
        hit = Hit(
            attack_class="sqli",
            rule_id="t",
            rule_name="t",
            technique="T1190",
            location="uri",
            snippet="union",
            severity=50,
            confidence=0.5,
        )
        return [hit]


def test_citywatch_flags_the_requests_in_its_detections_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the stand-in: what the registered detectors catch is the benchmark's business
    monkeypatch.setattr(citywatch.plugins, "DETECTORS", {_UnionDetector.name: _UnionDetector})
    corpus = build(tmp_path, seed=3, hours=0.5, residents=300)
    events, _ = portal.parse(corpus.test)
    result = portal.run_citywatch(corpus, tmp_path, events)
    assert result.status == "ok"
    assert result.requests == len(corpus.labels)
    assert result.details["detectors"] == [_UnionDetector.name]
    assert result.details["dead_letters"] == {}
    assert result.details["plugin_errors"] == {}
    sqli = result.classes["sqli"].all
    assert 0 < sqli.flagged < sqli.total  # each request judged on its own: not all sqli say union
    assert result.classes["scanner"].all.flagged == 0
    assert result.requests_per_cpu_s is not None and result.requests_per_cpu_s > 0
    assert result.file_requests_per_cpu_s is not None and result.file_requests_per_cpu_s > 0
    assert result.details["same_requests_flagged_both_ways"] is True


class _Counting:
    """A peer that flags nothing, counts what it saw and raises on one request."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def flags(self, ip: str, request: HttpRequest) -> bool:
        self.seen.append(request.uri)
        if len(self.seen) == 3:
            raise RuntimeError("a peer's bad request")
        return False


def test_tools_take_turns_over_the_same_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citywatch.plugins, "DETECTORS", {_UnionDetector.name: _UnionDetector})
    corpus = build(tmp_path, seed=3, hours=0.5, residents=300)
    events, _ = portal.parse(corpus.test)
    job = portal.learned_job(corpus, tmp_path, [], "paced")
    peer = _Counting()
    cpu = paced(job, "citywatch", {"counting": peer}, events)
    assert set(cpu) == {"citywatch", "counting"}
    assert all(seconds > 0 for seconds in cpu.values())
    assert peer.seen == [e.payload.uri for e in events if isinstance(e.payload, HttpRequest)]
    flagged = {i for d in job.detections() for i in d.evidence}
    assert flagged and flagged <= set(corpus.labels), "citywatch inspected them all, in turns"


def test_speeds_are_also_taken_over_the_benign_part_and_the_attacks(tmp_path: Path) -> None:
    corpus = build(tmp_path, seed=3, hours=0.5, residents=300)
    events, _ = portal.parse(corpus.test)
    benign, attacks = (portal._part(corpus, events, p) for p in portal.PARTS)
    assert {e.id for e in benign} == {i for i, c in corpus.labels.items() if c == BENIGN}
    assert {e.id for e in attacks} == {i for i, c in corpus.labels.items() if c != BENIGN}
    assert [e.id for e in benign] == [e.id for e in events if e in benign], "in file order"
    tools = [
        ToolResult(
            name="citywatch", requests_per_cpu_s=100, part_requests_per_cpu_s={"benign": 300}
        ),
        ToolResult(name="crs-pl1", requests_per_cpu_s=8, part_requests_per_cpu_s={"benign": 20}),
        ToolResult(name="libinjection", status="unavailable"),
    ]
    assert portal._ratios(tools, None) == {
        "citywatch/crs-pl1": 12.5,
        "citywatch/libinjection": None,
    }
    assert portal._ratios(tools, "benign")["citywatch/crs-pl1"] == 15.0
    assert portal._ratios(tools, "attacks") == dict.fromkeys(portal._ratios(tools, None))


def test_portal_detectors_are_chosen_by_dataset() -> None:
    mine, others = portal.portal_detectors()
    assert "login-abuse" in mine
    assert not set(mine) & set(others)


@pytest.mark.parametrize("module", [corpus_package, placing, evasions, portal_peers])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_the_city_portal_scenarios_are_scored_per_technique(tmp_path: Path) -> None:
    city = tmp_path / "city"
    simulate(3, city, hours=1.0, residents=1000)
    abuse = score_abuse(city, tmp_path, portal.portal_detectors()[1])
    techniques = {(t.scenario, t.technique): t for t in abuse.techniques}
    assert set(techniques) == {
        ("web-campaign", "scanner"),
        ("web-campaign", "sqli"),
        ("web-campaign", "credential-stuffing"),
        *(("portal-abuse", t) for t in ABUSE_TECHNIQUES),
        ("portal-tampering", "parameter-tampering"),
    }
    for t in abuse.techniques:
        assert t.found, t
        assert t.first_after_s is not None and 0 <= t.first_after_s < 3600
        assert t.rules and t.detectors
    assert "portal-behaviour" in techniques["portal-abuse", "request-flood"].detectors
    assert techniques["portal-abuse", "request-flood"].evidence_share < 1, "a flood's is capped"
    # learned from the day before: the only detector that sees tampering
    assert techniques["portal-tampering", "parameter-tampering"].detectors == ["portal-profile"]
    assert abuse.benign_flagged <= 0.01 * abuse.benign_requests
