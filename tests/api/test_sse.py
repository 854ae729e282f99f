"""Live updates by Server-Sent Events, over a real server, fed by real ingest and by people.

What the pipeline finds arrives as it is stored; so does what a person changes
through the API (an alert drafted and approved by a second officer, an
incident moved, a suppression, a playbook step), with who did it, and
nothing for a change the API refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator

import httpx
import msgspec
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.served import uvicorn_thread

from citywatch.api.alertschemas import AlertOut
from citywatch.api.sse import Broadcaster, stream
from citywatch.app import playbook_runner
from citywatch.config import Settings
from citywatch.live import LiveUpdate
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread."""
    with uvicorn_thread(app, lifespan="off") as url:
        yield url


def events(lines: Iterator[str], wanted: int) -> list[dict[str, object]]:
    """Parse SSE frames until ``wanted`` events have arrived."""
    found: list[dict[str, object]] = []
    frame: dict[str, object] = {}
    for line in lines:
        if not line:
            if "event" in frame:
                found.append(frame)
                if len(found) == wanted:
                    return found
            frame = {}
        elif line.startswith("event: "):
            frame["event"] = line[7:]
        elif line.startswith("data: "):
            frame["data"] = json.loads(line[6:])
        elif line.startswith("id: "):
            frame["id"] = int(line[4:])
    return found


def sqlmap(n: int) -> bytes:
    record = {
        "id": f"r-{n}",
        "method": "GET",
        "uri": "/search?q=1",
        "headers": [["User-Agent", "sqlmap/1.7"]],
        "@timestamp": f"2026-03-01T10:00:{n:02d}Z",
        "source.ip": "203.0.113.9",
    }
    return json.dumps(record).encode()


def test_ingested_records_arrive_as_live_events(base_url: str, store: Store, auth: Auth) -> None:
    with (
        httpx.Client(base_url=base_url, timeout=10) as watcher,
        watcher.stream("GET", "/api/v1/stream?max_events=3", headers=auth("analyst")) as live,
    ):
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert live.headers["x-content-type-options"] == "nosniff"
        lines = live.iter_lines()
        assert next(lines) == "retry: 3000"
        assert next(lines) == ": connected"
        sent = httpx.post(
            f"{base_url}/api/v1/ingest/http-jsonl",
            content=sqlmap(1) + b"\n{broken\n",
            headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
            timeout=10,
        )
        assert sent.status_code == 202
        got = events(lines, 3)
    kinds = [e["event"] for e in got]
    assert sorted(kinds) == ["dead_letter", "detection", "incident"]
    by_kind = {e["event"]: e["data"] for e in got}
    (detection,) = store.detections()
    assert by_kind["detection"]["id"] == detection.id  # type: ignore[index]
    assert by_kind["detection"]["data"]["detector"] == detection.detector  # type: ignore[index]
    assert by_kind["dead_letter"]["data"]["reason"]  # type: ignore[index]
    assert "raw" not in by_kind["dead_letter"]["data"]  # type: ignore[index,operator]
    ids = [e["id"] for e in got]
    assert ids == sorted(ids)


def test_a_stream_can_ask_for_one_kind(base_url: str, auth: Auth) -> None:
    with (
        httpx.Client(base_url=base_url, timeout=10) as watcher,
        watcher.stream(
            "GET", "/api/v1/stream?kind=dead_letter&max_events=1", headers=auth("analyst")
        ) as live,
    ):
        lines = live.iter_lines()
        assert next(lines) == "retry: 3000"
        httpx.post(
            f"{base_url}/api/v1/ingest/http-jsonl",
            content=sqlmap(2) + b"\nnot json\n",
            headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
            timeout=10,
        )
        got = events(lines, 1)
    assert [e["event"] for e in got] == ["dead_letter"]


def test_the_stream_needs_credentials(base_url: str, auth: Auth) -> None:
    assert httpx.get(f"{base_url}/api/v1/stream", timeout=10).status_code == 401
    assert (
        httpx.get(f"{base_url}/api/v1/stream", headers=auth("ingest"), timeout=10).status_code
        == 403
    )


def test_a_slow_client_loses_updates_and_is_told_to_resync() -> None:
    async def scenario() -> list[bytes]:
        broadcaster = Broadcaster(queue_size=2)
        client = broadcaster.connect()
        for n in range(5):
            broadcaster.publish(LiveUpdate(kind="incident", id=f"inc-{n}", data={}))
        await asyncio.sleep(0)  # let the loop run the queued puts
        frames = stream(client, heartbeat_s=0.05)
        got = [await anext(frames) for _ in range(5)]
        broadcaster.disconnect(client)
        assert broadcaster.clients == 0
        return got

    got = asyncio.run(scenario())
    assert got[0].startswith(b"retry:")
    assert got[1].startswith(b"id: 0\nevent: resync\n")
    assert b'"lost":3' in got[1]
    assert b'"inc-0"' in got[2]
    assert b'"inc-1"' in got[3]
    assert got[4] == b": keep-alive\n\n"


@contextlib.contextmanager
def watch(client: httpx.Client, query: str, headers: dict[str, str]) -> Iterator[Iterator[str]]:
    """The lines of a stream, once it is connected (so nothing sent after is missed)."""
    with client.stream("GET", f"/api/v1/stream?{query}", headers=headers) as live:
        assert live.status_code == 200
        lines = live.iter_lines()
        assert next(lines) == "retry: 3000"
        assert next(lines) == ": connected"
        yield lines


def bearer(make_token: Callable[..., str], name: str, roles: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(name, roles)}"}


def test_an_alert_approved_by_a_second_officer_reaches_a_viewer(
    base_url: str, seeded: Store, make_token: Callable[..., str], auth: Auth
) -> None:
    ana = bearer(make_token, "ana", ["alert-officer"])
    ben = bearer(make_token, "ben", ["alert-officer"])
    with (
        httpx.Client(base_url=base_url, timeout=10) as http,
        watch(http, "kind=alert&max_events=2", auth("viewer")) as lines,
    ):
        made = http.post("/api/v1/alerts", json={"incident_id": "inc-2"}, headers=ana).json()
        ident = made["identifier"]
        refused = http.post(f"/api/v1/alerts/{ident}/approve", headers=ana)
        assert refused.status_code == 409  # the drafter: refused, so not announced
        approved = http.post(f"/api/v1/alerts/{ident}/approve", headers=ben)
        assert approved.status_code == 200
        got = events(lines, 2)
    assert [e["event"] for e in got] == ["alert", "alert"]
    drafted, second = (e["data"] for e in got)
    assert drafted["change"] == {"action": "drafted", "by": "ana", "target": ""}  # type: ignore[index]
    assert drafted["data"]["state"] == "draft"  # type: ignore[index]
    assert second["id"] == ident  # type: ignore[index]
    assert second["change"] == {"action": "approved", "by": "ben", "target": ""}  # type: ignore[index]
    assert second["data"] == approved.json()  # type: ignore[index]
    assert second["data"]["headline"]  # type: ignore[index]
    assert set(second["data"]) == set(AlertOut.model_fields)  # type: ignore[arg-type]
    assert "<alert" not in json.dumps(got)  # the CAP document stays out of the stream


def test_an_incident_moved_assigned_and_commented_on_reaches_a_viewer(
    base_url: str, seeded: Store, auth: Auth
) -> None:
    analyst = auth("analyst")
    with (
        httpx.Client(base_url=base_url, timeout=10) as http,
        watch(http, "kind=incident&max_events=3", auth("viewer")) as lines,
    ):
        url = "/api/v1/incidents/inc-1"
        wrong = http.post(f"{url}/transition", json={"to": "contained"}, headers=analyst)
        assert wrong.status_code == 409  # new cannot become contained: nothing announced
        moved = http.post(f"{url}/transition", json={"to": "acknowledged"}, headers=analyst)
        assert moved.status_code == 200
        assigned = http.post(f"{url}/assign", json={"assignee": "role-responder"}, headers=analyst)
        assert assigned.status_code == 200
        comment = http.post(f"{url}/comments", json={"text": "on it"}, headers=auth("responder"))
        assert comment.status_code == 201
        got = events(lines, 3)
    assert [e["event"] for e in got] == ["incident"] * 3
    changes = [e["data"]["change"] for e in got]  # type: ignore[index]
    assert changes == [
        {"action": "moved", "by": "role-analyst", "target": "acknowledged"},
        {"action": "assigned", "by": "role-analyst", "target": "role-responder"},
        {"action": "commented", "by": "role-responder", "target": ""},
    ]
    now = msgspec.to_builtins(seeded.incident("inc-1"), builtin_types=None)
    assert [e["data"]["data"] for e in got] == [now] * 3  # type: ignore[index]
    assert now["status"] == "acknowledged"
    assert now["history"][-1]["by"] == "role-analyst"


def test_suppressions_and_playbook_decisions_reach_a_viewer(
    base_url: str, seeded: Store, settings: Settings, auth: Auth
) -> None:
    incident = seeded.incident("inc-1")
    assert incident is not None
    hot = msgspec.structs.replace(incident, severity=70)  # severe enough for the playbook
    (run,) = playbook_runner(settings, seeded).runs_for([hot])
    step = run.steps[1].id
    body = {"reason": "the weekly scan", "detector": ["portal.sigma"], "days": 3}
    kinds = "kind=suppression&kind=playbook_run&max_events=3"
    with (
        httpx.Client(base_url=base_url, timeout=10) as http,
        watch(http, kinds, auth("viewer")) as lines,
    ):
        made = http.post("/api/v1/suppressions", json=body, headers=auth("analyst")).json()
        ended = http.post(f"/api/v1/suppressions/{made['id']}/end", headers=auth("analyst"))
        assert ended.status_code == 200
        url = f"/api/v1/playbook-runs/{run.id}/steps/{step}/approve"
        assert http.post(url, headers=auth("alert-officer")).status_code == 409  # not its role
        approved = http.post(url, headers=auth("responder"))
        assert approved.status_code == 200
        got = events(lines, 3)
    assert [(e["event"], e["data"]["change"]["action"]) for e in got] == [  # type: ignore[index]
        ("suppression", "created"),
        ("suppression", "ended"),
        ("playbook_run", "approved"),
    ]
    assert got[0]["data"]["data"] == made  # type: ignore[index]
    assert got[1]["data"]["data"] == ended.json()  # type: ignore[index]
    assert got[2]["data"]["change"] == {  # type: ignore[index]
        "action": "approved",
        "by": "role-responder",
        "target": step,
    }
    assert got[2]["data"]["data"] == approved.json()  # type: ignore[index]


def test_a_stream_refuses_an_unknown_kind_as_a_problem(client: TestClient, auth: Auth) -> None:
    answer = client.get("/api/v1/stream?kind=alert&kind=secrets", headers=auth("viewer"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422
    assert problem["type"].endswith(":validation")
    # only "secrets" is refused: "alert" is a kind
    assert [e["loc"] for e in problem["errors"]] == [["query", "kind", "1"]]


def test_dead_letters_stream_only_to_those_who_may_read_them(
    base_url: str, client: TestClient, auth: Auth
) -> None:
    answer = client.get("/api/v1/stream?kind=dead_letter", headers=auth("viewer"))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    url = "/api/v1/stream?kind=dead_letter&kind=incident&max_events=1"
    with (
        httpx.Client(base_url=base_url, timeout=10) as watcher,
        watcher.stream("GET", url, headers=auth("viewer")) as live,
    ):
        lines = live.iter_lines()
        assert next(lines) == "retry: 3000"
        assert next(lines) == ": connected"
        for batch in (b"{broken\n", sqlmap(1) + b"\n"):  # a dead letter first, then an incident
            sent = httpx.post(
                f"{base_url}/api/v1/ingest/http-jsonl",
                content=batch,
                headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
                timeout=10,
            )
            assert sent.status_code == 202
        got = events(lines, 1)
    assert [e["event"] for e in got] == ["incident"]


def test_a_user_disabled_while_watching_stops_seeing_updates(
    base_url: str,
    seeded: Store,
    make_token: Callable[..., str],
    auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stream checked the user once, at connect: someone who had left kept watching
    # incidents, alerts and addresses until they closed the tab.
    from citywatch.api.routes import stream as stream_route  # noqa: PLC0415

    monkeypatch.setattr(stream_route, "RECHECK_S", 0.0, raising=False)
    leaver = bearer(make_token, "leaver", ["viewer"])
    admin, analyst = auth("admin"), auth("analyst")
    with (
        httpx.Client(base_url=base_url, timeout=10) as http,
        watch(http, "kind=incident", leaver) as lines,
    ):
        moved = {"to": "acknowledged", "note": "looking"}
        assert http.post(
            "/api/v1/incidents/inc-1/transition", json=moved, headers=analyst
        ).is_success
        (first,) = events(lines, 1)
        assert first["event"] == "incident"
        disabled = http.patch("/api/v1/users/leaver", json={"disabled": True}, headers=admin)
        assert disabled.status_code == 200
        comment = {"text": "still there?"}
        http.post("/api/v1/incidents/inc-1/comments", json=comment, headers=analyst)
        (last,) = events(lines, 1)
    assert last["event"] == "ended"
    assert last["data"] == {"reason": "credentials no longer valid"}
