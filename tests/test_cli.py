"""The ``citywatch`` command end to end, on the synthetic city, against its ground truth."""

from __future__ import annotations

import json
import shutil
import subprocess
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


_PORTAL = ("web-campaign", "portal-abuse", "portal-tampering")
"""The portal's scenarios: several actors each, each actor an incident of its own."""
_ACTOR_RULES = {
    "recon-host": {"portal.behaviour.scan", "web.scanner.user-agent", "web.sqli.stacked"},
    "proxy-pool": {"portal.login.stuffing"},
    "guesser": {"portal.login.bruteforce", "web.scanner.password-tool"},
    "sprayer": {"portal.behaviour.spraying"},
    "scraper": {"portal.behaviour.enumeration"},
    "flooder": {"portal.behaviour.flood"},
    "mover": {"portal.behaviour.mass-action"},
    "tamperer": {"portal.profile.type"},  # learned from the day before: no signature sees it
}
_TAMPERING = {
    "portal.profile.range",
    "portal.profile.unknown-param",
    "portal.profile.repeated",
    "portal.profile.type",
    "portal.profile.cookie",
}
"""What the tamperer does (an amount, a year and a district out of range, ``is_admin=1``, a
parameter twice, a record number of another shape, a session cookie of its own making)."""


def test_demo_makes_one_incident_per_situation_and_actor_and_exits(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Aldmere" in result.output
    city = tmp_path / "city" / "seed-1"
    situations = {s.id: s for s in load_situations(city)}
    # one incident per situation; on the portal, where unrelated actors meet on one target,
    # one per actor (the addresses a detection shares, or one technique at once, link them)
    actors = {p.actor for sid in _PORTAL for p in situations[sid].phases}
    incidents = len(situations) - len(_PORTAL) + len(actors)
    assert f"incidents ({incidents})" in result.output
    store = open_store(f"sqlite:///{tmp_path / 'citywatch.db'}")
    try:
        live = [i for i in store.incidents() if i.detections]
        detections = {d.id: d for d in store.detections()}
        found = {
            sid: _incident_of(sid, s, live, detections, city)
            for sid, s in situations.items()
            if sid not in _PORTAL
        }
        for sid in _PORTAL:
            found |= _actor_incidents(situations[sid], live, detections)
        assert len({i.id for i in found.values()}) == len(live) == incidents
        (run,) = store.runs()
        assert run.stats["records." + str(city / "portal.http.jsonl")] > 20000
    finally:
        store.close()
    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0, "a second demo into the same store works (upserts)"


def _actor_incidents(
    situation: Situation, live: list[Incident], dets: dict[str, Detection]
) -> dict[str, Incident]:
    """Each actor of a portal scenario: one incident with every address it used and the
    detections its techniques should bring, and no other actor's addresses."""
    out: dict[str, Incident] = {}
    for actor in {p.actor for p in situation.phases}:
        ips = {ip for p in situation.phases if p.actor == actor for ip in p.source_ips}
        (incident,) = [i for i in live if ips & set(i.entities.get("source.ip", []))]
        assert set(incident.entities["source.ip"]) == ips, actor
        assert _ACTOR_RULES[actor] <= {dets[d].rule_id for d in incident.detections}, actor
        assert incident.measures, actor
        out[actor] = incident
    if situation.id == "web-campaign":
        assert len(out["proxy-pool"].entities["source.ip"]) == 12, "one stuffing campaign"
    if situation.id == "portal-tampering":
        (found,) = [dets[d] for d in out["tamperer"].detections]
        assert set(found.attributes["portal"]["rules"]) == _TAMPERING  # type: ignore[call-overload]
    return out


def _incident_of(
    sid: str, situation: Situation, live: list[Incident], dets: dict[str, Detection], city: Path
) -> Incident:
    """The one incident that stands for a ground-truth situation, checked against the truth."""
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
        assert [p.entity["social.category"] for p in posts] == ["natural-hazard"]
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
            situation.entities["social.category"],
        )
        (incident,) = [
            i
            for i in live
            if any(
                dets[d].detector == "social-events"
                and dets[d].entity.get("district") in districts
                and dets[d].entity.get("social.category") == category
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
    actors: dict[str, set[str]] = {}
    for phase in [*situation.phases, *abuse.phases]:
        actors.setdefault(phase.actor, set()).update(phase.source_ips)
    groups = []  # the actors of each incident: each actor in one incident
    for incident in incident_lines:
        ips = set(incident["entities"]["source.ip"])
        group = {actor for actor, used in actors.items() if used & ips}
        assert ips == set().union(*(actors[a] for a in group)), "whole actors, nobody else"
        groups.append(frozenset(group))
    assert sorted(a for g in groups for a in g) == sorted(actors)
    # an access log names no account: the sprayer's failed logins are failed logins from one
    # more source while the proxy pool's run, one technique at once on the portal
    assert set(groups) == {frozenset({a}) for a in actors if a not in ("proxy-pool", "sprayer")} | {
        frozenset({"proxy-pool", "sprayer"})
    }
    (flood,) = [i for i in incident_lines if i["entities"]["source.ip"] == list(actors["flooder"])]
    assert flood["title"].startswith("Request flood from one client")
    assert {d for i in incident_lines for d in i["detections"]} == {d["id"] for d in detections}


def test_incidents_list_the_public_alerts_drafted_for_them(city: Path, tmp_path: Path) -> None:
    incidents, data = tmp_path / "i.jsonl", tmp_path / "data"
    inputs = ("phone-triggers:phone-triggers.jsonl", "felt-reports:felt-reports.jsonl")
    args = [a for spec in inputs for a in ("--in", spec.replace(":", f":{city}/", 1))]
    result = runner.invoke(
        app, ["analyse", *args, "--incidents", str(incidents), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    (quake,) = [json.loads(line) for line in incidents.read_text().splitlines()]
    store = open_store(f"sqlite:///{data / 'citywatch.db'}")
    try:  # the public-safety playbook drafted one CAP alert for it, in several languages
        (saved,) = store.alerts()
    finally:
        store.close()
    assert saved.alert.incidents == [quake["id"]]
    assert quake["alerts"] == [saved.alert.identifier]


def test_the_summary_lists_the_most_severe_incidents_and_says_where_all_are(
    tmp_path: Path,
) -> None:
    # 25 cameras of the inventory each speak MQTT without TLS: 25 incidents
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "device_id,ip,class\n" + "".join(f"cam-{i:02d},10.20.0.{i + 1},camera\n" for i in range(25))
    )
    conn = tmp_path / "conn.log"
    conn.write_text(
        "".join(
            f"{1772000000 + i}.0\tC{i:05d}\t10.20.0.{i + 1}\t40000\t10.30.0.1\t1883\ttcp\t-\t"
            "1.0\t100\t100\tSF\t-\t-\t0\tShADadFf\t5\t300\t5\t300\t-\n"
            for i in range(25)
        )
    )
    config = tmp_path / "citywatch.toml"
    config.write_text(f'[detectors.iot-fleet]\ninventory = "{inventory}"\n')
    args = ["analyse", "--config", str(config), "--in", f"zeek-conn:{conn}"]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "incidents (25)" in text
    assert "the 20 most severe; all 25 are in the store (citywatch serve)" in text
    assert text.count("Unencrypted MQTT from") == 20
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'citywatch.db'}")
    try:
        assert len(store.incidents()) == 25
    finally:
        store.close()
    few = runner.invoke(app, [*args, "--no-store", "--data-dir", str(tmp_path / "other")])
    assert few.exit_code == 0, few.output
    assert "--incidents FILE (not written)" in " ".join(few.output.split())


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
    monkeypatch.setattr(heap, "own", lambda: None)  # main() owns its process; this one is pytest's
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown format 'nope'" in err
    assert "Traceback" not in err


def _exit(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``citywatch ARGV``'s exit code and what it wrote to stderr, through main()."""
    monkeypatch.setattr(sys, "argv", ["citywatch", *argv])
    monkeypatch.setattr(heap, "own", lambda: None)  # main() owns its process; this one is pytest's
    code: int | str | None = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    assert isinstance(code, int)
    err = capsys.readouterr().err.translate(dict.fromkeys(map(ord, "│╭╮╰╯─")))
    return code, " ".join(err.split())  # rich boxes and wraps the message


def test_bad_outputs_and_arguments_are_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, -o onto the input emptied it; a directory or a missing one gave a traceback
    # after the whole analysis had run; simulate --hours nan and --out onto a file crashed.
    log = tmp_path / "a.log"
    log.write_text('10.0.0.1 - - [14/Mar/2026:08:00:00 +0100] "GET / HTTP/1.1" 200 1 "-" "ua"\n')
    before = log.read_bytes()
    analyse = ["analyse", "--in", f"access-log:{log}", "--no-store"]
    cases = {
        ("-o", str(log)): f"{log} is the input {log}",
        ("-o", str(tmp_path)): "is a directory, not a file",
        ("-o", str(tmp_path / "no" / "x.jsonl")): "no such directory",
        ("-o", str(tmp_path / "d.jsonl"), "--incidents", str(tmp_path / "d.jsonl")): (
            "is the output of -o"
        ),
        ("--db", "sqlite:///x.db"): "--no-store keeps none",
    }
    for extra, message in cases.items():
        code, err = _exit([*analyse, *extra], monkeypatch, capsys)
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)
    assert log.read_bytes() == before
    news = tmp_path / "news.xml"
    news.write_text("<rss/>")
    code, err = _exit([*analyse, "--learn", f"news-feed:{news}"], monkeypatch, capsys)
    assert code == 0 and f"no detector learns from news-feed records: {news} was read" in err
    for argv, message in (
        (["simulate", "--out", str(tmp_path / "s"), "--hours", "nan"], "positive and finite"),
        (["simulate", "--out", str(log), "--hours", "0.1"], "not a directory"),
    ):
        code, err = _exit(argv, monkeypatch, capsys)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)


def test_the_summary_counts_a_record_the_pipeline_turned_back_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = '10.0.0.1 - - [14/Mar/{y}:08:00:0{s} +0100] "GET / HTTP/1.1" 200 1 "-" "ua"\n'
    monkeypatch.chdir(tmp_path)  # a short path: the table fits in 80 columns
    log = Path("a.log")
    log.write_text("".join(line.format(y=2099 if s == 1 else 2026, s=s) for s in range(4)))
    result = runner.invoke(app, ["analyse", "--in", f"access-log:{log}", "--no-store"])
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in r.split("│")[1:-1]] for r in result.output.splitlines()]
    assert ["a.log future", "1"] in rows
    assert ["a.log", "4", "3", "1"] in rows, "records, events, dead letters"


def test_a_summary_written_to_a_file_keeps_whole_paths(tmp_path: Path) -> None:
    # Piped, rich took 80 columns: two inputs under one long directory read alike ("…").
    deep = tmp_path / "a" / "very" / "long" / "directory" / "of" / "the" / "city's" / "logs"
    deep.mkdir(parents=True)
    line = '10.0.0.1 - - [14/Mar/2026:08:00:00 +0100] "GET / HTTP/1.1" 200 1 "-" "ua"\n'
    logs = [deep / "portal-north.log", deep / "portal-south.log"]
    for log in logs:
        log.write_text(line)
    args = [a for log in logs for a in ("--in", f"access-log:{log}")]
    report = subprocess.run(
        [sys.executable, "-m", "citywatch", "analyse", *args, "--no-store"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert all(str(log) in report for log in logs), report


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


def test_a_logged_error_shows_no_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    # A server error's log printed every frame's locals (rich's traceback): an officer's
    # password at login, and the store URL with its password, which the banner masks.
    import structlog  # noqa: PLC0415

    from citywatch.cli import _main  # noqa: PLC0415

    _main(verbose=0)

    password = "-".join(("Officer", "Pw", "123"))  # not as one literal: a source line shows

    def login(password: str) -> None:
        store_url = "postgresql://postgres:" + "S3cret" + "PW@127.0.0.1/citywatch"
        raise RuntimeError(f"store unreachable ({len(store_url)})")

    try:
        login(password)
    except RuntimeError:
        structlog.get_logger("test").exception("api_unhandled_error", request_id="r1")
    logged = capsys.readouterr().err
    assert "api_unhandled_error" in logged and "RuntimeError: store unreachable" in logged
    assert "Officer-Pw-123" not in logged and "S3cretPW" not in logged


def test_analyse_says_which_sigma_rules_it_could_not_use(tmp_path: Path) -> None:
    # Broken and duplicate Sigma rules were found and kept in a report nothing showed: analyse
    # ran silently without them, and engineers believed the rules were live.
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = "title: {t}\nid: {i}\nstatus: test\nlogsource:\n    category: webserver\n"
    rule += "detection:\n    sel:\n        cs-uri-query|{m}: 'x'\n    condition: sel\nlevel: high\n"
    same = "7745c2ea-0000-4000-8000-000000000001"
    (rules / "a.yml").write_text(rule.format(t="A", i=same, m="contains"))
    (rules / "b.yml").write_text(rule.format(t="B", i=same, m="contains"))
    (rules / "c.yml").write_text(
        rule.format(t="C", i="7745c2ea-0000-4000-8000-000000000002", m="containz")
    )
    config = tmp_path / "citywatch.toml"
    config.write_text(f'[detectors.sigma]\nrule_dirs = ["{rules}"]\n')
    log = tmp_path / "access.log"
    log.write_text(
        '198.51.100.9 - - [10/Mar/2025:09:00:00 +0100] "GET /?x=1 HTTP/1.1" 200 5 "-" "-"\n'
    )
    args = ["analyse", "--config", str(config), "--no-store", "--in", f"access-log:{log}"]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "b.yml: rule 7745c2ea-0000-4000-8000-000000000001: duplicate rule id (also in" in said
    assert "c.yml: rule 7745c2ea-0000-4000-8000-000000000002:" in said and "containz" in said
