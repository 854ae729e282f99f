"""The ``citywatch`` command end to end, on the synthetic city, against its ground truth."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywatch.cli import app, main
from citywatch.model import Detection, Incident
from citywatch.pipeline import heap
from citywatch.simulate import Manifest, Situation, load_situations, read_truth, simulate
from citywatch.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    simulate(3, out, hours=6.0, residents=1500)
    return out


def test_demo_makes_one_incident_per_situation_and_exits(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Aldmere" in result.output
    city = tmp_path / "city" / "seed-1"
    situations = {s.id: s for s in load_situations(city)}
    # one incident per situation, but the two portal scenarios overlap in time on one target:
    # one intrusion campaign on the portal, and the abuse's request flood an incident of its own
    incidents = len(situations)
    assert f"incidents ({incidents})" in result.output
    store = open_store(f"sqlite:///{tmp_path / 'citywatch.db'}")
    try:
        live = [i for i in store.incidents() if i.detections]
        detections = {d.id: d for d in store.detections()}
        found = {sid: _incident_of(sid, s, live, detections, city) for sid, s in situations.items()}
        assert found["portal-abuse"] == found["web-campaign"]
        flood = _flood_incident(situations["portal-abuse"], live, detections)
        assert len({i.id for i in [*found.values(), flood]}) == len(live) == incidents
        (run,) = store.runs()
        assert run.stats["records." + str(city / "portal.http.jsonl")] > 20000
    finally:
        store.close()
    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0, "a second demo into the same store works (upserts)"


def _flood_incident(
    situation: Situation, live: list[Incident], dets: dict[str, Detection]
) -> Incident:
    """The abuse's one-client flood: an incident of its own, not the botnet's flood an hour on."""
    (phase,) = [p for p in situation.phases if p.technique == "request-flood"]
    (incident,) = [i for i in live if set(phase.source_ips) & set(i.entities.get("source.ip", []))]
    assert [dets[d].rule_id for d in incident.detections] == ["portal.behaviour.flood"]
    return incident


def _incident_of(
    sid: str, situation: Situation, live: list[Incident], dets: dict[str, Detection], city: Path
) -> Incident:
    """The one incident that stands for a ground-truth situation, checked against the truth."""
    if sid == "web-campaign":
        ips = {ip for phase in situation.phases for ip in phase.source_ips}
        assert len(ips) == 13
        (incident,) = [i for i in live if ips & set(i.entities.get("source.ip", []))]
        assert ips <= set(incident.entities["source.ip"]), "one incident, every actor"
        assert incident.measures and incident.severity >= 65
        return incident
    if sid == "portal-abuse":  # every actor but the flooder: in the portal's one campaign
        phases = [p for p in situation.phases if p.technique != "request-flood"]
        ips = {ip for phase in phases for ip in phase.source_ips}
        assert len(ips) == 4
        (incident,) = [i for i in live if ips & set(i.entities.get("source.ip", []))]
        assert ips <= set(incident.entities["source.ip"])
        rules = {dets[d].rule_id for d in incident.detections}
        assert {
            "portal.login.bruteforce",
            "portal.behaviour.spraying",
            "portal.behaviour.enumeration",
            "portal.behaviour.mass-action",
        } <= rules
        return incident
    if sid == "stadium-emergency":
        (incident,) = [i for i in live if "arena" in i.entities.get("venue.id", [])]
        (exodus,) = [dets[d] for d in incident.detections if dets[d].rule_id == "crowd.exodus"]
        alarm = datetime.fromisoformat(situation.start)
        assert timedelta(0) < exodus.timestamp - alarm <= timedelta(minutes=2)
        assert any(m.startswith("Evacuation order 1:") for m in incident.measures)
        posts = [dets[d] for d in incident.detections if dets[d].detector == "social-events"]
        assert posts and all(p.entity["place"] == "Aldmere Arena" for p in posts)
        assert incident.story == "stadium-emergency", "crowd sensors and citizens, one story"
        return incident
    if sid == "earthquake":
        (incident,) = [i for i in live if i.entities.get("quake.id")]
        (detection,) = [dets[d] for d in incident.detections if dets[d].detector == "quake"]
        truth = json.loads((city / "quake-truth.json").read_text())["quake"]
        q = detection.attributes["quake"]
        assert abs(q["magnitude"] - truth["magnitude"]) <= 0.3
        assert detection.timestamp.timestamp() - truth["origin"] <= 10.0
        assert q["priorities"] and any(c["predicted"] for c in q["cells"])
        posts = [dets[d] for d in incident.detections if dets[d].detector == "social-events"]
        assert [p.entity["event.category"] for p in posts] == ["natural-hazard"]
        assert incident.story == "earthquake-with-damage"
        return incident
    if sid == "iot-botnet":
        bots = set(situation.entities["device.id"])
        assert len(bots) == 8
        (incident,) = [i for i in live if bots & set(i.entities.get("device.id", []))]
        assert bots <= set(incident.entities["device.id"]), "every infected device, one incident"
        flood = {d for d in incident.detections if dets[d].detector != "iot-fleet"}
        assert flood, "the flood on the portal from the bots is in the botnet's incident"
        return incident
    if sid == "iot-unmanaged-device":
        (device,) = situation.entities["device.id"]
        (incident,) = [i for i in live if device in i.entities.get("device.id", [])]
        return incident
    if situation.silo == "social":
        districts, (category,) = (
            situation.entities["district"],
            situation.entities["event.category"],
        )
        (incident,) = [
            i
            for i in live
            if any(
                dets[d].detector == "social-events"
                and dets[d].entity.get("district") in districts
                and dets[d].entity.get("event.category") == category
                for d in i.detections
            )
        ]
        return incident
    raise AssertionError(f"no check for situation {sid}")


def test_analyse_output_contract_and_truth(city: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    shutil.copy(city / "portal-access.log", log)
    with log.open("ab") as fh:
        fh.write(b"\x00\x01 not a log line\n")
    out, incidents = tmp_path / "d.jsonl", tmp_path / "i.jsonl"
    result = runner.invoke(
        app,
        [
            "analyse",
            "--in", f"http-jsonl:{city / 'portal.http.jsonl'}",
            "--in", f"access-log:{log}",
            "-o", str(out),
            "--incidents", str(incidents),
            "--data-dir", str(tmp_path / "data"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bad-line" in result.output

    truth = list(read_truth(city / "truth.jsonl"))
    label = {t.id: t.label for t in truth}
    label.update({f"{log}:{t.line}": t.label for t in truth if t.file == "portal-access.log"})
    detections = [json.loads(line) for line in out.read_text().splitlines()]
    assert detections
    for det in detections:
        for key in ("id", "@timestamp", "detector", "rule.id", "rule.name", "category", "summary"):
            assert isinstance(det[key], str) and det[key], key
        assert 1 <= det["severity"] <= 100
        assert isinstance(det["entity"], dict) and det["entity"]
        assert det["@timestamp"].endswith("Z")
        assert det["evidence"] and all(label[e] == "malicious" for e in det["evidence"])

    (situation,) = [s for s in load_situations(city) if s.id == "web-campaign"]
    stuffers = {
        ip for p in situation.phases if p.technique == "credential-stuffing" for ip in p.source_ips
    }
    flagged = {d["entity"].get("source.ip") for d in detections}
    assert stuffers <= flagged, "every stuffing client is found in both formats"
    (abuse,) = [s for s in load_situations(city) if s.id == "portal-abuse"]
    assert {ip for p in abuse.phases for ip in p.source_ips} <= flagged, "and every abuser"
    incident_lines = [json.loads(line) for line in incidents.read_text().splitlines()]
    assert len(incident_lines) == 2, "the campaign on the portal, and a flood of its own"
    (flood,) = [i for i in incident_lines if len(i["detections"]) == 1]
    assert flood["title"].startswith("Request flood from one client")
    assert {d for i in incident_lines for d in i["detections"]} == {d["id"] for d in detections}


def test_simulate_and_plugins_commands(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--seed", "5", "--hours", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert Manifest.load(tmp_path).seed == 5
    listing = runner.invoke(app, ["plugins", "--json"])
    assert listing.exit_code == 0
    names = {(p["kind"], p["name"]) for p in json.loads(listing.output)}
    assert ("detectors", "login-abuse") in names and ("adapters", "zeek-conn") in names


def test_errors_are_messages_not_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["citywatch", "analyse", "--in", f"nope:{tmp_path}", "--no-store"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(heap, "_owned", False)  # main() owns its process; this one is pytest's
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown format 'nope'" in err
    assert "Traceback" not in err


def test_analyse_annotates_every_post(city: Path, tmp_path: Path) -> None:
    notes = tmp_path / "annotated.jsonl"
    result = runner.invoke(
        app,
        [
            "analyse", "--in", f"posts-jsonl:{city / 'posts.jsonl'}", "--no-store",
            "--annotate", str(notes), "--data-dir", str(tmp_path / "data"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "by language: en" in " ".join(result.output.split()), "rich wraps at any space"
    rows = [json.loads(line) for line in notes.read_text().splitlines()]
    posts = (city / "posts.jsonl").read_text().splitlines()
    assert len(rows) == len(posts), "every post, whatever its language"
    assert {"id", "high_risk", "category", "score"} <= set(rows[0])
    clustered = [r for r in rows if r.get("event")]
    assert clustered and all(r["high_risk"] for r in clustered)
    assert sum(bool(r.get("place")) for r in clustered) * 2 > len(clustered), "mostly placed"
    assert {r["lang"] for r in rows} > {"en", "de"}, "other languages are counted too"
