"""The ``citywatch`` command end to end, on the synthetic city, against its ground truth."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywatch.cli import app, main
from citywatch.simulate import Manifest, load_situations, read_truth, simulate
from citywatch.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    simulate(3, out, hours=6.0, residents=1500)
    return out


def test_demo_finds_the_campaign_and_exits(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Aldmere" in result.output
    # the IoT botnet floods the portal from its devices, so the portal's detectors join it to
    # the portal's incident; the unmanaged device on the fleet network is an incident of its own
    assert "incidents (2)" in result.output
    store = open_store(f"sqlite:///{tmp_path / 'citywatch.db'}")
    try:
        situations = {s.id: s for s in load_situations(tmp_path / "city" / "seed-1")}
        situation = situations["web-campaign"]
        campaign_ips = {ip for phase in situation.phases for ip in phase.source_ips}
        assert len(campaign_ips) == 13
        found = store.incidents()
        (incident,) = [i for i in found if campaign_ips <= set(i.entities.get("source.ip", []))]
        botnet = set(situations["iot-botnet"].entities["device.id"])
        assert len(botnet) == 8
        assert botnet <= set(incident.entities["device.id"]), "every infected device, one incident"
        unmanaged = [i for i in found if "unmanaged-10.20.9.99" in i.entities.get("device.id", [])]
        assert len(unmanaged) == 1 and unmanaged[0] is not incident
        assert incident.title.startswith("Attack on portal from")
        assert incident.measures and incident.severity >= 65
        (run,) = store.runs()
        assert run.stats["records." + str(tmp_path / "city/seed-1/portal.http.jsonl")] > 20000
    finally:
        store.close()
    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0, "a second demo into the same store works (upserts)"


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

    situation = {s.id: s for s in load_situations(city)}["web-campaign"]
    stuffers = {
        ip for p in situation.phases if p.technique == "credential-stuffing" for ip in p.source_ips
    }
    flagged = {d["entity"].get("source.ip") for d in detections}
    assert stuffers <= flagged, "every stuffing client is found in both formats"
    incident_lines = [json.loads(line) for line in incidents.read_text().splitlines()]
    assert len(incident_lines) == 1
    assert set(incident_lines[0]["detections"]) == {d["id"] for d in detections}


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
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown format 'nope'" in err
    assert "Traceback" not in err
