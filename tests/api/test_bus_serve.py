"""``citywatch serve`` on the bus: it publishes what it takes and follows what the workers store.

A real NATS server, a real uvicorn server in a thread, and the workers run in
this process with ``once`` (the input has ended). The store is one SQLite file
shared by ``serve`` and the correlator worker, as PostgreSQL is at scale.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.served import uvicorn_thread

from citywatch.api.server import serving
from citywatch.bus.config import BusConfig
from citywatch.config import Settings, load_settings
from citywatch.detect import DETECTORS
from citywatch.errors import BusError
from citywatch.live import LivePipeline, LiveUpdate, detection_update, incident_update
from citywatch.scaleout import run_worker
from citywatch.scaleout.live import BusInput
from citywatch.store import open_store
from citywatch.web import context_of, create_app

SOCIAL = "social-events"
NATS_SERVER = "/usr/sbin/nats-server"
Frame = dict[str, object]


def report(n: int) -> dict[str, object]:
    """A citizen's report of a fire: five of them make the social detector fire."""
    return {
        "kind": "incident",
        "time": f"2026-03-14T10:13:0{n}+01:00",
        "lat": 45.81,
        "lon": 15.98,
        "category": "fire",
        "text": "Smoke and flames from the market hall, people running",
    }


def settings_for(tmp_path: Path, nats_url: str, bus_config: BusConfig) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        store_url=f"sqlite:///{tmp_path / 'city.db'}",
        bus_url=nats_url,
        bus=bus_config,
        disabled=[name for name in DETECTORS if name != SOCIAL],
    )


@pytest.fixture
def bus_settings(tmp_path: Path, nats_url: str, bus_config: BusConfig) -> Settings:
    return settings_for(tmp_path, nats_url, bus_config)


@pytest.fixture
def served(bus_settings: Settings) -> Iterator[tuple[str, str, FastAPI]]:
    """``serve`` on the bus, by uvicorn in a thread: its URL, the admin's password, the app."""
    with serving(bus_settings) as serve, uvicorn_thread(serve.app) as url:
        assert serve.admin_password is not None
        yield url, serve.admin_password, serve.app


class Watcher(threading.Thread):
    """Reads a live stream until a frame of each wanted kind has come (or time is up)."""

    def __init__(self, base_url: str, password: str, wanted: set[str]) -> None:
        super().__init__(daemon=True)
        self.base_url, self.password, self.wanted = base_url, password, wanted
        self.connected = threading.Event()
        self.frames: list[Frame] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            login = {"name": "admin", "password": self.password}
            assert client.post("/api/v1/auth/login", json=login).status_code == 200
            with client.stream("GET", "/api/v1/stream") as live:
                frame: Frame = {}
                for line in live.iter_lines():
                    if line == ": connected":
                        self.connected.set()
                    elif line.startswith(("event: ", "data: ")):
                        key, _, value = line.partition(": ")
                        frame[key] = json.loads(value) if key == "data" else value
                    elif not line and "event" in frame:
                        self.frames.append(frame)
                        self.wanted.discard(str(frame["event"]))
                        if not self.wanted:
                            return
                        frame = {}


def body(update: LiveUpdate) -> object:
    """The ``data:`` of the frame the broadcaster makes of ``update``, as a client reads it."""
    return json.loads(msgspec.json.encode({"id": update.id, "data": update.data}))


def test_a_public_report_to_a_bus_serve_reaches_the_workers_and_its_live_feed(
    served: tuple[str, str, FastAPI], bus_settings: Settings
) -> None:
    base_url, password, app = served
    assert isinstance(context_of(app).pipeline, BusInput)
    watcher = Watcher(base_url, password, {"detection", "incident"})
    watcher.start()
    assert watcher.connected.wait(10), "the live stream did not connect"

    for n in range(5):
        sent = httpx.post(f"{base_url}/api/v1/public/reports", json=report(n), timeout=10)
        assert sent.status_code == 202, sent.text
        assert sent.json()["accepted"] is True

    with open_store(bus_settings.store) as store:  # serve detected nothing, recorded no run
        assert (store.detections(), store.runs()) == ([], [])

    (detect,) = run_worker(bus_settings, "detect", once=True)
    assert (detect.consumer, detect.processed) == (f"detect-{SOCIAL}", 5)
    assert detect.published >= 1
    run_worker(bus_settings, "correlate", once=True)

    watcher.join(timeout=20)
    assert not watcher.is_alive(), f"not every kind came: {watcher.frames}"
    with open_store(bus_settings.store) as store:
        detections = store.detections()
        (incident,) = store.incidents()
        (run,) = store.runs()
        latest = {
            "detection": body(detection_update(detections[-1])),
            "incident": body(incident_update(incident)),
        }
    assert run.command == "worker"
    assert run.stats["notices"] >= 2
    last = {str(f["event"]): f["data"] for f in watcher.frames}
    assert last == latest  # what the correlator stored, as the embedded feed sends it


def test_a_bus_serve_sends_frames_shaped_as_the_embedded_serve_s(
    served: tuple[str, str, FastAPI], bus_settings: Settings, tmp_path: Path
) -> None:
    base_url, password, _ = served
    watcher = Watcher(base_url, password, {"detection", "incident"})
    watcher.start()
    assert watcher.connected.wait(10)
    for n in range(5):
        httpx.post(f"{base_url}/api/v1/public/reports", json=report(n), timeout=10)
    run_worker(bus_settings, "detect", once=True)
    run_worker(bus_settings, "correlate", once=True)
    watcher.join(timeout=20)
    on_bus = {str(f["event"]): f["data"] for f in watcher.frames}

    alone = bus_settings.model_copy(update={"bus_url": "", "data_dir": tmp_path / "alone"})
    updates: list[LiveUpdate] = []
    with open_store("sqlite:///:memory:") as store:
        live = LivePipeline(alone, store)
        live.subscribe(updates.append)
        with TestClient(create_app(alone, store, pipeline=live)) as client:
            for n in range(5):
                client.post("/api/v1/public/reports", json=report(n))
        live.close()
    embedded = {u.kind: body(u) for u in updates}

    assert set(on_bus) == set(embedded) == {"detection", "incident"}
    for kind, frame in on_bus.items():
        expected = embedded[kind]
        assert isinstance(frame, dict)
        assert isinstance(expected, dict)
        assert frame.keys() == expected.keys() == {"id", "data"}
        assert frame["data"].keys() == expected["data"].keys(), kind
    assert on_bus["detection"]["data"]["detector"] == SOCIAL  # type: ignore[index]


def test_a_bus_serve_without_a_bus_server_fails_to_start(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, bus_url="nats://127.0.0.1:9", bus={"connect_timeout_s": 1.0}
    )
    with pytest.raises(BusError, match="cannot reach the NATS server"), serving(settings):
        pass


class PrivateNats:
    """A NATS server with JetStream of this test's own, to stop and start at will."""

    def __init__(self, store_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self.store_dir = store_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)]
        self.process = subprocess.Popen([NATS_SERVER, *args], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            assert time.monotonic() < deadline, "the private NATS server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason=f"no {NATS_SERVER} here")
def test_a_bus_serve_that_lost_nats_tells_its_live_clients_to_resync(tmp_path: Path) -> None:
    # Notices sent while serve's connection was down are gone (core NATS keeps nothing):
    # once it is back, every live client is told to re-read the lists.
    server = PrivateNats(tmp_path / "js")
    server.start()
    try:
        settings = settings_for(tmp_path, server.url, BusConfig())
        with serving(settings) as serve, uvicorn_thread(serve.app) as url:
            assert serve.admin_password is not None
            watcher = Watcher(url, serve.admin_password, {"resync"})
            watcher.start()
            assert watcher.connected.wait(10), "the live stream did not connect"
            server.stop()
            server.start()  # the same server, back
            watcher.join(timeout=30)
            assert not watcher.is_alive(), "no resync came after the bus came back"
            assert watcher.frames == [{"event": "resync", "data": {"lost": None}}]
    finally:
        server.stop()
