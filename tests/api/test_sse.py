"""Live updates by Server-Sent Events, over a real server, fed by real ingest."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from citywatch.api.sse import Broadcaster, stream
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


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
        watcher.stream("GET", "/api/v1/stream?max_events=3", headers=auth("viewer")) as live,
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
            broadcaster.publish(SimpleNamespace(kind="incident", id=f"inc-{n}", data={}))
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
