"""The files a simulation writes: formats, consistency between them, determinism."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from citywatch.errors import ConfigError
from citywatch.simulate import Manifest, load_situations, read_truth, simulate
from citywatch.simulate.abuse import TECHNIQUES as ABUSE

from .conftest import Run

# IP - - [time] "request" status bytes "referer" "user-agent"
CLF = re.compile(
    r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "((?:[^"\\]|\\.)*)" '
    r'(\d{3}) (\d+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$'
)
TECHNIQUES = {
    "web-campaign": ("scanner", "sqli", "credential-stuffing"),
    "portal-abuse": ABUSE,
    "portal-tampering": ("parameter-tampering",),
}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
FILES = (
    "city.geojson",
    "portal.http.jsonl",
    "portal-learn.http.jsonl",
    "portal-access.log",
    "truth.jsonl",
    "situations.json",
    "manifest.json",
)


def unescape(text: str) -> str:
    r"""Undo nginx's ``\xHH`` escaping (bytes, so UTF-8 sequences come back whole)."""
    raw = re.sub(rb"\\x([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode())
    return raw.decode()


def test_every_jsonl_record_has_the_http_jsonl_fields(run: Run) -> None:
    assert len(run.records) > 3000
    for n, rec in enumerate(run.records, 1):
        assert rec["id"] == f"req-{n:06d}"
        assert ISO_MS.match(rec["@timestamp"]), rec["@timestamp"]
        assert rec["method"] in {"GET", "POST", "HEAD", "OPTIONS", "TRACE", "PROPFIND"}
        assert rec["uri"].startswith("/")
        assert rec["version"] in {"HTTP/1.1", "HTTP/2.0"}
        assert isinstance(rec["body"], str)
        assert isinstance(rec["source.ip"], str)
        headers = {name.lower(): value for name, value in rec["headers"]}
        assert headers["host"] == "portal.aldmere.city"
        if rec["body"]:
            assert int(headers["content-length"]) == len(rec["body"].encode())
            kinds = ("application/x-www-form-urlencoded", "application/json")
            assert headers["content-type"].startswith(kinds)


def test_records_are_time_ordered_within_the_span(run: Run) -> None:
    times = [datetime.fromisoformat(r["@timestamp"]) for r in run.records]
    assert times == sorted(times)
    assert run.manifest.start <= times[0]
    assert times[-1] < run.manifest.end
    assert run.manifest.end - run.manifest.start == timedelta(hours=3)


def test_access_log_line_n_is_request_n(run: Run) -> None:
    assert len(run.log) == len(run.records) == len(run.truth)
    for line, rec in zip(run.log, run.records, strict=True):
        m = CLF.match(line)
        assert m is not None, line
        ip, when, request, status, size, referer, agent = m.groups()
        assert ip == rec["source.ip"]
        assert unescape(request) == f"{rec['method']} {rec['uri']} {rec['version']}"
        assert int(status) == rec["http.response.status_code"]
        assert int(size) == rec["http.response.body.bytes"]
        stamp = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z")
        assert stamp == datetime.fromisoformat(rec["@timestamp"]).replace(microsecond=0)
        headers = {name.lower(): value for name, value in rec["headers"]}
        assert unescape(agent) == headers.get("user-agent", "-")
        assert unescape(referer) == headers.get("referer", "-")


def test_access_log_escapes_quotes_as_nginx_does(run: Run) -> None:
    quoted = [line for line in run.log if "\\x22" in line]
    assert quoted, "the scanner's Shellshock and XSS probes carry double quotes"
    for line in quoted:
        assert CLF.match(line)


def test_truth_sits_beside_the_records_never_inside(run: Run) -> None:
    for rec, truth, n in zip(run.records, run.truth, range(1, len(run.log) + 1), strict=True):
        assert not {"label", "scenario", "technique", "actor", "truth"} & rec.keys()
        assert truth["id"] == rec["id"]
        assert truth["file"] == "portal-access.log"
        assert truth["line"] == n
        if truth["label"] == "benign":
            assert truth["scenario"] is truth["technique"] is truth["actor"] is None
        else:
            assert truth["label"] == "malicious"
            assert truth["technique"] in TECHNIQUES[truth["scenario"]]
            assert truth["actor"]
    text = (run.out / "portal.http.jsonl").read_text(encoding="utf-8")
    assert "malicious" not in text
    assert "web-campaign" not in text
    assert "portal-abuse" not in text


def test_read_truth_gives_the_truth_file_back(run: Run) -> None:
    records = list(read_truth(run.out / "truth.jsonl"))
    assert [r.id for r in records] == [t["id"] for t in run.truth]
    assert sum(r.label == "malicious" for r in records) == len(run.malicious())


@pytest.mark.parametrize("scenario", sorted(TECHNIQUES))
def test_situation_matches_the_truth(run: Run, scenario: str) -> None:
    (situation,) = [s for s in run.situations if s["id"] == scenario]
    assert situation["silo"] == "portal"
    assert situation["techniques"] == list(TECHNIQUES[scenario])
    bad = run.malicious(scenario=scenario)
    assert situation["records"] == len(bad)
    assert set(situation["entities"]["source.ip"]) == {r["source.ip"] for r in bad}
    assert situation["start"] == bad[0]["@timestamp"]
    assert situation["end"] == bad[-1]["@timestamp"]
    assert sum(p["records"] for p in situation["phases"]) == len(bad)
    if scenario == "web-campaign":
        assert len(situation["entities"]["user.name"]) >= 1  # accounts taken over
    loaded = {s.id: s for s in load_situations(run.out)}
    assert loaded[scenario].records == len(bad)
    others = [r for s in TECHNIQUES if s != scenario for r in run.malicious(scenario=s)]
    assert len(run.malicious()) == len(bad) + len(others), "no other scenario is malicious"


def test_manifest_round_trips(run: Run) -> None:
    manifest = Manifest.load(run.out)
    assert manifest == run.manifest
    assert manifest.seed == 7
    first = manifest.inputs[0]
    assert (first.format, first.path) == ("http-jsonl", "portal.http.jsonl")
    assert [(f.format, f.path) for f in manifest.also] == [("access-log", "portal-access.log")]
    assert [(f.format, f.path) for f in manifest.learn] == [
        ("http-jsonl", "portal-learn.http.jsonl")
    ]
    assert manifest.start == datetime(2026, 3, 14, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    for name in (manifest.city, manifest.truth, manifest.situations):
        assert (run.out / name).is_file()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(seed, tmp_path / name, hours=1.0, residents=300)
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    for file in (
        "portal.http.jsonl",
        "portal-learn.http.jsonl",
        "portal-access.log",
        "city.geojson",
    ):
        assert (tmp_path / "a" / file).read_bytes() != (tmp_path / "c" / file).read_bytes(), file


def test_the_day_before_is_the_same_residents_on_other_errands_and_all_benign(run: Run) -> None:
    text = (run.out / "portal-learn.http.jsonl").read_text(encoding="utf-8")
    learn = [json.loads(line) for line in text.splitlines()]
    times = [datetime.fromisoformat(r["@timestamp"]) for r in learn]
    day = timedelta(days=1)
    assert run.manifest.start - day <= min(times) and max(times) < run.manifest.end - day
    assert len(learn) > 0.8 * len(run.benign())
    assert all(r["id"].startswith("learn-") for r in learn)
    assert not {r["source.ip"] for r in learn} & {r["source.ip"] for r in run.malicious()}
    today = {(r["source.ip"], r["uri"]) for r in run.benign()}
    assert len(today & {(r["source.ip"], r["uri"]) for r in learn}) < 0.2 * len(today)


def test_start_in_another_offset_is_kept(tmp_path: Path) -> None:
    start = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    manifest = simulate(1, tmp_path, start=start, hours=0.5, residents=200)
    assert manifest.start == start
    first = (tmp_path / "portal.http.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert '"@timestamp":"2026-06-01T07:3' in first
    assert "+00:00" in first


@pytest.mark.parametrize(("hours", "residents"), [(0.0, 100), (-1.0, 100), (1.0, 3)])
def test_bad_settings_fail_fast(tmp_path: Path, hours: float, residents: int) -> None:
    with pytest.raises(ConfigError, match="simulate"):
        simulate(1, tmp_path, hours=hours, residents=residents)
