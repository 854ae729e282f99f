"""Reading the operational picture: detections, dead letters, stats, runs, plug-ins, users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from citywatch.model import DeadLetter
from citywatch.store import RunInfo, Store

Auth = Callable[[str], dict[str, str]]


def test_detections_with_filters_and_wire_names(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    listed = client.get("/api/v1/detections", headers=auth("viewer")).json()
    assert [d["id"] for d in listed] == ["det-1", "det-2"]
    first = listed[0]
    assert first["@timestamp"] == "2026-03-01T10:00:00Z"
    assert first["rule.id"] == "CW-1"
    assert first["rule.name"] == "Scanner user agent"
    assert first["attributes"] == {"portal": {"class": "scan", "snippet": "sqlmap/1.7"}}
    assert "rule_id" not in first
    only = client.get("/api/v1/detections?detector=iot.telnet", headers=auth("viewer")).json()
    assert [d["id"] for d in only] == ["det-2"]
    since = client.get("/api/v1/detections?since=2026-03-02T00:00:00Z", headers=auth("viewer"))
    assert [d["id"] for d in since.json()] == ["det-2"]
    assert [
        d["id"] for d in client.get("/api/v1/detections?limit=1", headers=auth("viewer")).json()
    ] == ["det-1"]
    assert client.get("/api/v1/detections?limit=0", headers=auth("viewer")).status_code == 422
    one = client.get("/api/v1/detections/det-2", headers=auth("viewer")).json()
    assert one["detector"] == "iot.telnet"
    assert one["evidence"] == ["r1", "r2"]
    assert client.get("/api/v1/detections/nope", headers=auth("viewer")).status_code == 404


def test_dead_letters_show_raw_text_safely(client: TestClient, store: Store, auth: Auth) -> None:
    raw = b"\xff\xfebad \x00 line " + b"x" * 5000
    store.add_dead_letters(
        "run-1",
        [
            DeadLetter(
                source="portal.log",
                position=7,
                stage="ingest",
                format="access-log",
                code="bad-line",
                reason="not a log line",
                raw=raw,
                received=1772359200.0,
            )
        ],
    )
    (letter,) = client.get("/api/v1/dead-letters", headers=auth("analyst")).json()
    assert letter["raw_bytes"] == len(raw)
    assert letter["raw"].startswith("\ufffd\ufffdbad \x00 line ")
    assert len(letter["raw"].encode()) < 4200
    assert letter["received"] == "2026-03-01T10:00:00Z"
    assert client.get("/api/v1/dead-letters?source=other", headers=auth("analyst")).json() == []
    counts = client.get("/api/v1/dead-letters/counts", headers=auth("viewer")).json()
    assert counts == [{"source": "portal.log", "stage": "ingest", "code": "bad-line", "count": 1}]


def test_stats_count_per_silo_and_detector(client: TestClient, seeded: Store, auth: Auth) -> None:
    later = datetime.now(tz=UTC) + timedelta(hours=1)  # after the live pipeline's own run
    seeded.begin_run(RunInfo(id="run-1", command="demo", started=later))
    stats = client.get("/api/v1/stats", headers=auth("viewer")).json()
    assert stats["detections_by_silo"] == {"portal": 1, "iot": 1}
    assert stats["detections_by_detector"] == {"portal.sigma": 1, "iot.telnet": 1}
    assert stats["incidents_by_status"] == {"new": 2, "resolved": 1}
    assert stats["dead_letters"] == 0
    assert stats["latest_run"]["id"] == "run-1"
    assert stats["live_clients"] == 0


def test_runs_include_the_live_pipelines(client: TestClient, auth: Auth) -> None:
    runs = client.get("/api/v1/runs", headers=auth("viewer")).json()
    assert [r["command"] for r in runs] == ["serve"]
    assert runs[0]["finished"] is None


def test_plugins_are_listed_with_their_schemas(client: TestClient, auth: Auth) -> None:
    plugins = client.get("/api/v1/plugins", headers=auth("viewer")).json()
    names = {(p["kind"], p["name"]) for p in plugins}
    assert ("adapters", "http-jsonl") in names
    assert any(kind == "detectors" for kind, _ in names)
    assert all(isinstance(p["config_schema"], dict) for p in plugins)


def test_admins_create_and_list_users(client: TestClient, store: Store, auth: Auth) -> None:
    created = client.post(
        "/api/v1/users",
        json={
            "name": "mari",
            "roles": ["alert-officer", "viewer"],
            "password": "a long passphrase",
        },
        headers=auth("admin"),
    )
    assert created.status_code == 201
    assert created.json()["roles"] == ["alert-officer", "viewer"]
    assert "password" not in created.text
    user = store.user("mari")
    assert user is not None
    assert user.password_hash.startswith("scrypt$")
    assert "a long passphrase" not in user.password_hash
    taken = client.post(
        "/api/v1/users", json={"name": "mari", "roles": ["viewer"]}, headers=auth("admin")
    )
    assert taken.status_code == 409
    bad_role = client.post(
        "/api/v1/users", json={"name": "x", "roles": ["god"]}, headers=auth("admin")
    )
    assert bad_role.status_code == 422
    short = client.post(
        "/api/v1/users",
        json={"name": "y", "roles": ["viewer"], "password": "short"},
        headers=auth("admin"),
    )
    assert short.status_code == 422
    names = [u["name"] for u in client.get("/api/v1/users", headers=auth("admin")).json()]
    assert "mari" in names
    assert "x" not in names


def test_metrics_are_the_stats_in_prometheus_text(
    client: TestClient, seeded: Store, auth: Auth
) -> None:
    # A city's operations team scrapes its services with Prometheus; citywatch had nothing
    # for it to read (dead letters piling up were seen only on the dashboard).
    later = datetime.now(tz=UTC) + timedelta(hours=1)
    seeded.begin_run(RunInfo(id="run-1", command="demo", started=later))
    seeded.finish_run("run-1", later + timedelta(minutes=2), {'events.a"b\\c.log': 7})
    seeded.add_dead_letters(
        "run-1",
        [
            DeadLetter(
                source="portal.log", position=1, stage="ingest", format="access-log",
                code="bad-line", reason="not a log line", raw=b"x", received=1772359200.0,
            )
        ],
    )  # fmt: skip
    response = client.get("/api/v1/metrics", headers=auth("viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("citywatch_detections", (("detector", "iot.telnet"), ("silo", "iot")))] == 1
    assert samples[("citywatch_incidents", (("status", "resolved"),))] == 1
    assert samples[("citywatch_dead_letters", (("source", "portal.log"),))] == 1
    assert samples[("citywatch_live_clients", ())] == 0
    assert samples[("citywatch_last_run", (("counter", 'events.a"b\\c.log'),))] == 7
    started = ("citywatch_last_run_timestamp_seconds", (("at", "started"), ("command", "demo")))
    assert samples[started] == later.timestamp()
    assert client.get("/api/v1/metrics").status_code == 401
